import type { WtflowConfig } from '../../config/config.js'
import { ValidationError } from '../../errors/errors.js'
import {
  Executable,
  type ExecutableCapabilities,
  type ExecutableSpec,
  type ExecutionContext,
  type ExecutionOutcome,
  type RunResources,
  type RunWarmUp,
} from '../../model/executable.js'
import { isInputRef } from '../../model/inputs.js'
import { isRef, type ArgsFor, type Ref } from '../../model/refs.js'
import { inputValue } from '../command.js'
import { callerModuleUrl, displayModule, findExport, importModule, toModuleUrl } from './location.js'
import { FUNC_POOL_RESOURCE, FuncPool } from './pool.js'
import { FUNC_PROCESS_POOL_RESOURCE, FuncProcessPool } from './process-pool.js'
import type { ArtifactArg } from './protocol.js'

const NO_ARGS: readonly unknown[] = Object.freeze([])
const FUNC_CAPABILITIES: ExecutableCapabilities = Object.freeze({ result: true, cwd: false, startsLater: true })
/** A process of its own has its own working directory: the node's `cwd` applies. */
const ISOLATED_CAPABILITIES: ExecutableCapabilities = Object.freeze({ result: true, cwd: true, startsLater: true })
/** Stands for the function of a Func built from a module and export name until `prepare()` imports it. */
const NOT_LOADED: AnyFunction = function notLoaded(): never {
  throw new Error('this Func was built from a module and export name, and prepare() has not loaded the function yet')
}
/** What `prepare()` returns once located: one promise for every Func, not one each. */
const LOCATED: Promise<void> = Promise.resolve()

/** Any function a Func can run. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (...args: any[]) => unknown

/** Where the worker finds the function. */
export interface FuncLocation {
  /**
   * The module that exports the function: `import.meta.url`, a `file:` URL or an absolute path.
   * Default: the module whose code calls `new Func(...)`.
   */
  module?: string | URL | undefined
  /** The name it is exported under. Default: the export whose value is the function. */
  exportName?: string | undefined
}

/** Where a Func runs: a worker thread of the run's pool (default), or a child process of its own. */
export type FuncIsolation = 'thread' | 'process'

/** How a Func runs. */
export interface FuncRunOptions {
  /**
   * `'thread'` (default): a worker thread of the run's pool, cheap to start. `'process'`: a child
   * process of its own per attempt, for what must not share the engine's process: native modules
   * that are not thread-safe, `process.chdir` (the node's `cwd` applies), a crash or
   * `process.exit`, code left running. Output, results, references and timeouts work the same;
   * a timeout kills the process (and its process group); `run.worker_memory_mb` bounds its RSS.
   */
  isolation?: FuncIsolation | undefined
}

/** `args` is required exactly when the function has required parameters. */
export type FuncArgsOption<P extends readonly unknown[]> = [] extends P
  ? { args?: ArgsFor<P> | undefined }
  : { args: ArgsFor<P> }

export type FuncOptions<F extends AnyFunction> = FuncLocation & FuncRunOptions & FuncArgsOption<Parameters<F>>

/**
 * Runs an exported function in a worker thread of the run's pool. Its console output and
 * `process.stdout`/`process.stderr` writes become the node's stdout/stderr; its return value
 * (awaited) becomes the node's `result`, stored as JSON (nothing is stored for `undefined`).
 *
 * `args` are checked against the function's parameters: pass values, `node.result` of a Func
 * returning the parameter's type, or `node.stdout` / `node.stderr` / `node.artifact(name)` where
 * it takes an `Artifact`.
 *
 * **Where the function is found.** A worker thread imports the module that exports it: by
 * default the module whose code calls `new Func()` (read from the call stack when the Func is
 * built: the `file:` URL of the script, `.ts` included), or the one given as `module`
 * (`import.meta.url`, a `file:` URL or an absolute path) when a helper builds Funcs for functions
 * that live elsewhere. Validation imports that module (already loaded: it built the workflow) and
 * looks for the export that *is* the function (else one with the same name and source text);
 * a function that is not exported fails validation, saying what to export. TypeScript modules
 * load through tsx in the workers.
 *
 * **What the node gets.** Success is the function returning (a promise is awaited). A thrown
 * error fails the node (exit code 1) with its name, message, code and stack, also written to
 * its stderr; so does a return value JSON cannot hold faithfully (BigInt, Map, Date, cycles…,
 * `ResultNotSerializableError`). `process.exit(n)` fails the node with exit code `n`; a timeout
 * or cancellation terminates the worker; running out of `run.worker_memory_mb` (JS heap plus
 * Buffers) fails the node. In each case the worker is replaced and the run goes on. Its timeout
 * and duration count from when a worker takes it (`run.max_funcs` workers at most). What it
 * leaves behind (a timer, a promise) never reaches another Func: an error it throws later is a
 * `WTFLOW_FUNC_LEFTOVER` warning, and the worker is replaced. The node's `env` is applied to
 * `process.env` while the function runs; its `cwd` is not (worker threads share the process's
 * working directory): resolve paths yourself, or use `isolation: 'process'` (see `FuncRunOptions`).
 *
 * @example
 * export async function count(log: Artifact): Promise<number> {
 *   let n = 0
 *   for await (const _ of log.lines()) n++
 *   return n
 * }
 * const build = new Node({ name: 'build', executable: new Command('npm run build') })
 * const lines = new Node({ name: 'lines', executable: new Func(count, { args: [build.stdout] }) })
 * // lines.result: ResultRef<number>
 */
export class Func<F extends AnyFunction = AnyFunction> extends Executable<Awaited<ReturnType<F>>> {
  readonly kind = 'func'
  override readonly capabilities: ExecutableCapabilities
  /** Where it runs: a worker thread, or a child process of its own. */
  readonly isolation: FuncIsolation
  #fn: F
  readonly args: readonly unknown[]
  /** URL of the module the worker imports, or null if it could not be told (validation fails). */
  readonly moduleUrl: string | null
  #exportName: string | null
  readonly #explicitExport: boolean
  #located: Promise<void> | null = null
  #isLocated = false
  readonly #hasRefs: boolean

  constructor(fn: F, ...[options]: [] extends Parameters<F> ? [options?: FuncOptions<F>] : [options: FuncOptions<F>]) {
    super()
    if (typeof fn !== 'function') throw new TypeError(`new Func() takes a function, got ${fn === null ? 'null' : typeof fn}`)
    this.#fn = fn
    const isolation = options?.isolation ?? 'thread'
    if (isolation !== 'thread' && isolation !== 'process') {
      throw new TypeError(`new Func(${fn.name || 'fn'}): isolation must be 'thread' or 'process', got ${JSON.stringify(String(isolation))}`)
    }
    this.isolation = isolation
    this.capabilities = isolation === 'process' ? ISOLATED_CAPABILITIES : FUNC_CAPABILITIES
    const args = options?.args as readonly unknown[] | undefined
    this.args = args === undefined || args.length === 0 ? NO_ARGS : Object.freeze([...args])
    this.#hasRefs = this.args.some(arg => isRef(arg) || isInputRef(arg))
    const module = options?.module
    this.moduleUrl = module === undefined ? callerModuleUrl(new.target) : toModuleUrl(module)
    if (module !== undefined && this.moduleUrl === null) {
      throw new TypeError(`new Func(${fn.name || 'fn'}): module must be a URL or an absolute path (use import.meta.url), got ${JSON.stringify(String(module))}`)
    }
    this.#explicitExport = options?.exportName !== undefined
    this.#exportName = options?.exportName ?? null
  }

  /**
   * A Func of the function a module exports under `exportName`, loaded by `prepare()`: how a
   * plan read back from JSON, or a declarative flow, names a function.
   */
  static fromExport(module: string | URL, exportName: string, options: { args?: readonly unknown[]; isolation?: FuncIsolation } = {}): Func<AnyFunction> {
    return new Func(NOT_LOADED as AnyFunction, { module, exportName, args: [...(options.args ?? [])], isolation: options.isolation })
  }

  /** Builds a Func from its spec (`{ module, export, args, isolation }`, as `toSpec()` gives it). */
  static fromSpec(spec: unknown): Func<AnyFunction> {
    const { module, export: exportName, args, isolation } = (spec ?? {}) as { module?: unknown; export?: unknown; args?: unknown; isolation?: unknown }
    if (
      typeof module !== 'string' ||
      typeof exportName !== 'string' ||
      (args !== undefined && !Array.isArray(args)) ||
      (isolation !== undefined && isolation !== 'thread' && isolation !== 'process')
    ) {
      throw new TypeError("a func spec needs `module` (a URL), `export` (a name) and optionally `args` (an array) and `isolation` ('thread' or 'process')")
    }
    return Func.fromExport(module, exportName, { args: (args as unknown[] | undefined) ?? [], isolation: isolation as FuncIsolation | undefined })
  }

  /** The function (for a Func built by `fromExport`, once `prepare()` has loaded it). */
  get fn(): F {
    return this.#fn
  }

  /** The export the worker calls (known after `prepare()`, or when given). */
  get exportName(): string | null {
    return this.#exportName
  }

  /** The function's name (stable from construction on), else its export name. */
  describe(): string {
    return ((this.#fn as AnyFunction) !== NOT_LOADED && this.#fn.name) || this.#exportName || 'anonymous function'
  }

  override toSpec(): ExecutableSpec {
    const spec = { module: this.moduleUrl, export: this.#exportName, args: [...this.args] }
    return { uses: 'func', with: this.isolation === 'process' ? { ...spec, isolation: this.isolation } : spec }
  }

  /** The function's source text (and where it runs): a changed body changes the node's digest. */
  override digestExtra(): string {
    const source = (this.#fn as AnyFunction) === NOT_LOADED ? `${this.moduleUrl}#${this.#exportName}` : this.#fn.toString()
    return this.isolation === 'process' ? `${source}\0isolation=process` : source
  }

  references(): Ref[] {
    return this.args.filter(isRef)
  }

  /** Checks that a worker can import the function; throws `ValidationError` saying how to fix it otherwise. */
  override prepare(): Promise<void> {
    if (this.#isLocated) return LOCATED
    if (this.#located !== null) return this.#located
    const located = (this.#fn as AnyFunction) === NOT_LOADED ? load(this.moduleUrl, this.#exportName!) : locate(this.#fn, this.moduleUrl, this.#explicitExport ? this.#exportName : null)
    this.#located = located.then(
      ({ exportName, fn }) => {
        this.#exportName = exportName
        this.#fn = fn as F
        const problem = firstUncloneableArg(this.args)
        if (problem !== null) throw new ValidationError(null, problem)
        this.#isLocated = true
        this.#located = null
      },
    )
    return this.#located
  }

  /** Starts the run's worker pool: its threads boot while the rest of the tree is validated. */
  override warmUp(run: RunWarmUp): void {
    if (this.isolation === 'thread') poolOf(run)
  }

  execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    // No `async`: a no-op Func is dominated by per-task overhead, so the common path stays flat.
    if (!this.#isLocated || this.#hasRefs || this.isolation === 'process') return this.#executeSlowly(ctx)
    return poolOf(ctx).run({ moduleUrl: this.moduleUrl!, exportName: this.#exportName!, args: this.args as unknown[], artifacts: undefined }, ctx)
  }

  async #executeSlowly(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    await this.prepare()
    const args: unknown[] = []
    let artifacts: ArtifactArg[] | undefined
    for (const [index, arg] of this.args.entries()) {
      if (isInputRef(arg)) {
        args.push(inputValue(ctx, arg))
        continue
      }
      if (!isRef(arg)) {
        args.push(arg)
        continue
      }
      const resolved = await ctx.resolve(arg)
      if (resolved.kind === 'value') {
        args.push(resolved.value)
      } else {
        args.push(null)
        ;(artifacts ??= []).push({ index, name: resolved.name, path: resolved.path, size: resolved.size })
      }
    }
    const task = { moduleUrl: this.moduleUrl!, exportName: this.#exportName!, args, artifacts }
    if (this.isolation === 'process') return ctx.resources.get(FUNC_PROCESS_POOL_RESOURCE, () => FuncProcessPool.forConfig(ctx.config)).run(task, ctx)
    return poolOf(ctx).run(task, ctx)
  }
}

/** The run's worker pool, created by the first Func that asks. */
function poolOf(run: { readonly config: WtflowConfig; readonly resources: RunResources }): FuncPool {
  return run.resources.get(FUNC_POOL_RESOURCE, () => FuncPool.forConfig(run.config))
}

/**
 * Lookups by function and module (and explicit export name): the Funcs of one function share
 * one, so a workflow of 1,000 of them searches the module once. A failed lookup is forgotten.
 */
const lookups = new WeakMap<AnyFunction, Map<string, Promise<string>>>()

/** The name under which a worker finds `fn`; rejects with a `ValidationError` saying what to export. */
function locate(fn: AnyFunction, moduleUrl: string | null, exportName: string | null): Promise<{ exportName: string; fn: AnyFunction }> {
  let byModule = lookups.get(fn)
  if (byModule === undefined) lookups.set(fn, (byModule = new Map()))
  const key = `${exportName ?? ''}\0${moduleUrl ?? ''}`
  let lookup = byModule.get(key)
  if (lookup === undefined) {
    lookup = lookUp(fn, moduleUrl, exportName)
    byModule.set(key, lookup)
    lookup.catch(() => byModule.delete(key))
  }
  return lookup.then(name => ({ exportName: name, fn }))
}

/** Imports a module and takes the function it exports under `exportName` (a Func built by `fromExport`). */
async function load(moduleUrl: string | null, exportName: string): Promise<{ exportName: string; fn: AnyFunction }> {
  if (moduleUrl === null) throw new ValidationError(null, `cannot load "${exportName}": the module is not a URL or an absolute path`)
  const where = displayModule(moduleUrl)
  let namespace: Record<string, unknown>
  try {
    namespace = await importModule(moduleUrl)
  } catch (error) {
    throw new ValidationError(null, `cannot import ${where} to find the function "${exportName}": ${(error as Error).message ?? String(error)}`, { cause: error })
  }
  const fn = namespace[exportName]
  if (typeof fn !== 'function') {
    const functions = Object.keys(namespace).filter(name => typeof namespace[name] === 'function')
    throw new ValidationError(null, `${where} exports no function "${exportName}"${functions.length > 0 ? `; its exported functions are ${functions.join(', ')}` : ''}`)
  }
  return { exportName, fn: fn as AnyFunction }
}

async function lookUp(fn: AnyFunction, moduleUrl: string | null, explicitName: string | null): Promise<string> {
  const name = fn.name
  const label = name === '' ? 'anonymous function' : `function ${name}`
  if (moduleUrl === null) {
    throw new ValidationError(
      null,
      `cannot tell which module defines the ${label} given to new Func(); export it and pass { module: import.meta.url }`,
    )
  }
  const where = displayModule(moduleUrl)
  let namespace: Record<string, unknown>
  try {
    namespace = await importModule(moduleUrl)
  } catch (error) {
    throw new ValidationError(null, `cannot import ${where} to find the ${label} given to new Func(): ${(error as Error).message ?? String(error)}`, { cause: error })
  }
  const exportName = findExport(namespace, fn, explicitName)
  if (exportName === null) throw new ValidationError(null, notExportedMessage(label, name, where, explicitName))
  return exportName
}

function notExportedMessage(label: string, name: string, where: string, exportName: string | null): string {
  if (exportName !== null) {
    return `${where} has no export "${exportName}" that is the ${label} given to new Func(); export it under that name or fix exportName`
  }
  const how = name === '' ? 'give it a name and export it (`export function myStep() {…}`)' : `export it (\`export function ${name}\` or \`export { ${name} }\`)`
  return (
    `the ${label} given to new Func() is not exported by ${where}, so a worker thread cannot load it: ${how}, ` +
    'or pass { module, exportName } to new Func() to name the module that exports it'
  )
}

function firstUncloneableArg(args: readonly unknown[]): string | null {
  for (const [index, arg] of args.entries()) {
    if (isRef(arg) || isInputRef(arg)) continue
    try {
      structuredClone(arg)
    } catch (error) {
      return `args[${index}] cannot be sent to a worker thread (${(error as Error).message}); pass plain data or a node reference`
    }
  }
  return null
}
