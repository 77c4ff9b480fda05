import { NodeFailure, serializeError } from '../errors/errors.js'
import { Executable, type ExecutableCapabilities, type ExecutableSpec, type ExecutionContext, type ExecutionOutcome } from '../model/executable.js'
import type { Ref } from '../model/refs.js'

export interface EnvOptions<N extends string = string> {
  /** The variables to read. */
  names: readonly N[]
  /** `true`: every name must be set; a list: those must be. A missing one fails the node, naming it. Default: none. */
  required?: boolean | readonly NoInfer<N>[]
}

/** The result of an `Env` node: each name's value, or null when it is not set. */
export type EnvResult<N extends string = string> = { [K in N]: string | null }

const ENV_CAPABILITIES: ExecutableCapabilities = Object.freeze({ result: true, cwd: false })

/** A variable name a shell would accept, and that `process.env` can hold. */
const NAME = /^[^=\0]+$/

/**
 * Reads environment variables into a result (`{ NAME: value }`, null for one that is not set):
 * the node's `env` (with its ancestors') over the process's environment. Values of configured
 * secrets are masked in the stored result like everywhere else.
 *
 * @example
 * const config = new Node({ name: 'config', executable: new Env({ names: ['API_URL', 'REGION'], required: ['API_URL'] }) })
 * // config.result: { API_URL: string | null; REGION: string | null }
 */
export class Env<N extends string = string> extends Executable<EnvResult<N>> {
  readonly kind = 'env'
  override readonly capabilities: ExecutableCapabilities = ENV_CAPABILITIES
  readonly options: Readonly<EnvOptions<N>>

  constructor(options: EnvOptions<N>) {
    super()
    this.options = Object.freeze({ ...options })
  }

  describe(): string {
    const names = Array.isArray(this.options.names) ? this.options.names : []
    return `env ${names.join(', ')}`
  }

  references(): Ref[] {
    return []
  }

  override toSpec(): ExecutableSpec {
    return { uses: 'env', with: this.options.required === undefined ? { names: this.options.names } : { names: this.options.names, required: this.options.required } }
  }

  /** Builds an Env from its spec (`{ names, required? }`). */
  static fromSpec(spec: unknown): Env {
    if (typeof spec !== 'object' || spec === null) throw new TypeError('an env spec needs `names`')
    return new Env(spec as EnvOptions)
  }

  override async prepare(): Promise<void> {
    const { names, required } = this.options as { names?: unknown; required?: unknown }
    if (!Array.isArray(names) || names.length === 0 || names.some(name => typeof name !== 'string' || !NAME.test(name))) {
      throw new Error(`Env: names must be a non-empty array of variable names, got ${JSON.stringify(names)}`)
    }
    if (required === undefined || typeof required === 'boolean') return
    if (!Array.isArray(required)) throw new Error(`Env: required must be true, false or a list of names, got ${JSON.stringify(required)}`)
    const unknown = required.filter(name => !names.includes(name))
    if (unknown.length > 0) throw new Error(`Env: required names ${unknown.map(name => JSON.stringify(name)).join(', ')}, which names does not list; add them to names`)
  }

  execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const { names, required } = this.options
    const values: Record<string, string | null> = {}
    const missing: string[] = []
    for (const name of names) {
      const value = Object.hasOwn(ctx.env, name) ? ctx.env[name] : process.env[name]
      values[name] = value ?? null
      if (value === undefined && (required === true || (Array.isArray(required) && required.includes(name)))) missing.push(name)
    }
    if (missing.length > 0) {
      const list = missing.join(', ')
      const failure = new NodeFailure(`required environment variable${missing.length > 1 ? 's' : ''} ${list} ${missing.length > 1 ? 'are' : 'is'} not set; set ${missing.length > 1 ? 'them' : 'it'} in the environment or in the node's env`, { code: 'WTFLOW_ENV_MISSING' })
      return Promise.resolve({ exitCode: null, signal: null, error: serializeError(failure) })
    }
    return Promise.resolve({ exitCode: 0, signal: null, error: null, resultJson: JSON.stringify(values) })
  }
}
