import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { Executable, type ExecutableCapabilities, type ExecutableSpec, type ExecutionContext, type ExecutionOutcome, type RunWarmUp } from '../model/executable.js'
import { isRef, type Ref } from '../model/refs.js'
import { loadPlugin } from './load.js'
import { createExecutable, isPlugin, type Plugin } from './plugin.js'

/** Until the plugin is loaded, anything is allowed; validation checks again what it can. */
const UNKNOWN_CAPABILITIES: ExecutableCapabilities = Object.freeze({ result: true, cwd: true })

export interface UsePluginOptions {
  /** Where a package name or relative path is resolved from: pass `import.meta.url`. Default: the working directory. */
  from?: string | URL
}

/**
 * An executable made by a plugin, named by its package or module path: the plugin is loaded and
 * its executable made when the workflow is validated, so a plugin that cannot be found, exports
 * no plugin, throws in `create` or rejects the options is a `ValidationError` naming the node
 * and the plugin, before anything runs. References in the options are dependencies, as usual.
 *
 * @example
 * new Node({ name: 'count', executable: usePlugin('@wtflow/plugin-sql', { url: 'sqlite:app.db', query: 'select count(*) as n from users' }, { from: import.meta.url }) })
 */
export function usePlugin(plugin: string | Plugin, options: unknown, use: UsePluginOptions = {}): Executable<unknown> {
  return new PluginExecutable(plugin, options, use.from)
}

class PluginExecutable extends Executable<unknown> {
  override capabilities: ExecutableCapabilities = UNKNOWN_CAPABILITIES
  readonly #plugin: string | Plugin
  readonly #options: unknown
  readonly #from: string | URL | undefined
  #delegate: Executable<unknown> | undefined
  #preparing: Promise<void> | undefined

  constructor(plugin: string | Plugin, options: unknown, from: string | URL | undefined) {
    super()
    this.#plugin = plugin
    this.#options = options
    this.#from = from
  }

  get #label(): string {
    return typeof this.#plugin === 'string' ? this.#plugin : this.#plugin.name
  }

  get kind(): string {
    return this.#delegate?.kind ?? (isPlugin(this.#plugin) ? this.#plugin.name : 'plugin')
  }

  describe(): string {
    return this.#delegate?.describe() ?? `uses ${this.#label}`
  }

  references(): Ref[] {
    if (this.#delegate !== undefined) return this.#delegate.references()
    const found = new Set<Ref>()
    const walk = (value: unknown): void => {
      if (isRef(value)) found.add(value)
      else if (Array.isArray(value)) value.forEach(walk)
      else if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) Object.values(value).forEach(walk)
    }
    walk(this.#options)
    return [...found]
  }

  override prepare(): Promise<void> {
    return (this.#preparing ??= this.#load())
  }

  async #load(): Promise<void> {
    const plugin = typeof this.#plugin === 'string' ? await loadPlugin(this.#plugin, { from: this.#from }) : this.#plugin
    const delegate = await createExecutable(plugin, this.#options, { baseDir: baseDirOf(this.#from) })
    await delegate.prepare()
    this.#delegate = delegate
    this.capabilities = delegate.capabilities
  }

  override warmUp(run: RunWarmUp): void {
    this.#delegate?.warmUp(run)
  }

  execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    if (this.#delegate === undefined) return Promise.reject(new Error(`plugin "${this.#label}" was not loaded: validate the workflow before running it`))
    return this.#delegate.execute(ctx)
  }

  override secrets(): readonly string[] {
    return this.#delegate?.secrets() ?? []
  }

  override toSpec(): ExecutableSpec {
    return this.#delegate?.toSpec() ?? { uses: this.#label, with: this.#options }
  }

  override digestExtra(): string | null {
    return this.#delegate?.digestExtra() ?? null
  }
}

function baseDirOf(from: string | URL | undefined): string {
  if (from === undefined) return process.cwd()
  const text = String(from)
  const file = text.startsWith('file:') ? fileURLToPath(text) : path.resolve(text)
  return text.endsWith('/') ? file : path.dirname(file)
}
