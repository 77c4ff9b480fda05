/**
 * Executables of flow steps whose expressions are evaluated when the step starts. They wrap
 * core's Command and Func: the evaluated command (or arguments) is handed to a fresh one for the
 * attempt. Steps without expressions use Command and Func themselves.
 */
import {
  Command,
  createExecutable,
  Executable,
  Func,
  Http,
  type HttpOptions,
  type Plugin,
  type AnyFunction,
  type ExecutableCapabilities,
  type ExecutableSpec,
  type ExecutionContext,
  type ExecutionOutcome,
  type Ref,
  type RunWarmUp,
  type WhenContext,
} from '@wtflow/core'
import { asText, isTruthy, type Expression } from './expressions.js'
import { evaluateAll, evaluateAt, renderText, renderValue, type CompiledValue, type LocatedTemplate, type StepRead, type StepScope } from './runtime.js'
import { expressionVariable, shellText } from './shell.js'
import { renderUrl } from './url.js'
import type { HttpTemplates } from './compile.js'
import type { KeyPath } from './diagnostics.js'

/** The references of what a step reads: the engine checks their order and hands their values. */
function referencesOf(reads: readonly StepRead[]): Ref[] {
  const refs: Ref[] = []
  for (const read of reads) {
    const node = read.producer.node!
    if (read.field === 'result') refs.push(node.result)
    else if (read.field === 'artifacts') refs.push(node.artifact(read.artifact!))
    else if (read.field === 'stdout') refs.push(node.stdout)
    else if (read.field === 'stderr') refs.push(node.stderr)
  }
  return refs
}

/** Reads another step's output through the attempt's context (an artifact as its path). */
async function readForAttempt(ctx: ExecutionContext, read: StepRead): Promise<unknown> {
  const [ref] = referencesOf([read])
  if (ref === undefined) throw new Error(`steps.${read.producer.names.join('.')}.${read.field} cannot be read while a step runs`)
  const resolved = await ctx.resolve(ref)
  return resolved.kind === 'artifact' ? resolved.path : resolved.value
}

/** The attempt's context with a different environment (templated `env` values). */
function withEnv(ctx: ExecutionContext, env: Readonly<Record<string, string>>): ExecutionContext {
  const merged = { ...ctx.env, ...env }
  return new Proxy(ctx, {
    get(target, property) {
      if (property === 'env') return merged
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

/** What a `run:` step runs: shell text, or argv elements. */
export type RunSpec = { readonly shell: LocatedTemplate } | { readonly argv: readonly LocatedTemplate[] }

/**
 * A `run:` step with expressions. In shell text each `${{ }}` was replaced by a reference to
 * `WTFLOW_EXPR_<n>`, which the command's environment holds; in argv each element becomes one
 * argument, whatever its value.
 */
export class FlowCommand extends Executable<void> {
  readonly kind = 'command' as const
  override readonly capabilities: ExecutableCapabilities = { result: false, cwd: true }
  readonly #spec: RunSpec
  readonly #scope: StepScope
  readonly #shellText: string | null
  #refs: Ref[] | null = null

  constructor(spec: RunSpec, scope: StepScope) {
    super()
    this.#spec = spec
    this.#scope = scope
    this.#shellText = 'shell' in spec ? shellText(spec.shell.template.literals) : null
  }

  /** The command as written in the flow (expressions shown, not their values). */
  describe(): string {
    if ('shell' in this.#spec) return this.#spec.shell.template.source
    return new Command(this.#spec.argv.map(element => element.template.source)).describe()
  }

  references(): Ref[] {
    return (this.#refs ??= referencesOf(this.#scope.reads))
  }

  /** A flow's steps are rebuilt from the flow document, not from a plan. */
  override toSpec(): ExecutableSpec {
    return { uses: 'flow-command', with: { command: this.describe() } }
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const { contexts, env } = await this.#scope.contexts(ctx.runId, read => readForAttempt(ctx, read))
    const flow = this.#scope.flow
    if ('shell' in this.#spec) {
      const commandEnv: Record<string, string> = { ...env }
      evaluateAll(flow, this.#spec.shell, contexts).forEach((value, i) => (commandEnv[expressionVariable(i)] = asText(value)))
      return new Command(this.#shellText!, { env: commandEnv }).execute(ctx)
    }
    const argv = this.#spec.argv.map(element => renderText(flow, element, contexts))
    return new Command(argv, env === null ? {} : { env }).execute(ctx)
  }
}

/** Where a `func:` step's function is. */
export interface FuncSpec {
  readonly fn: AnyFunction
  /** Absolute path of the module. */
  readonly module: string
  readonly exportName: string
  readonly args: readonly CompiledValue[]
}

/** A `func:` step whose arguments (or environment) hold expressions. */
export class FlowFunc extends Executable<unknown> {
  readonly kind = 'func' as const
  override readonly capabilities: ExecutableCapabilities = { result: true, cwd: false }
  readonly #spec: FuncSpec
  readonly #scope: StepScope
  /** The function without arguments: locates it before the run, starts the worker pool. */
  readonly #located: Func
  #refs: Ref[] | null = null

  constructor(spec: FuncSpec, scope: StepScope) {
    super()
    this.#spec = spec
    this.#scope = scope
    this.#located = new Func(spec.fn, { module: spec.module, exportName: spec.exportName })
  }

  describe(): string {
    return this.#located.describe()
  }

  /** A flow's steps are rebuilt from the flow document, not from a plan. */
  override toSpec(): ExecutableSpec {
    return { uses: 'flow-func', with: { module: this.#spec.module, export: this.#spec.exportName, args: this.#spec.args.map(arg => JSON.stringify(arg)) } }
  }

  override digestExtra(): string {
    return this.#located.digestExtra()
  }

  references(): Ref[] {
    return (this.#refs ??= referencesOf(this.#scope.reads))
  }

  override prepare(): Promise<void> {
    return this.#located.prepare()
  }

  override warmUp(run: RunWarmUp): void {
    this.#located.warmUp(run)
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const { contexts, env } = await this.#scope.contexts(ctx.runId, read => readForAttempt(ctx, read))
    const args = this.#spec.args.map(arg => renderValue(this.#scope.flow, arg, contexts))
    const func = new Func(this.#spec.fn, { module: this.#spec.module, exportName: this.#spec.exportName, args })
    return func.execute(env === null ? ctx : withEnv(ctx, env))
  }
}

/**
 * An `http:` step with expressions: the URL (each value percent-encoded, see url.ts), headers
 * and body are evaluated when the step starts and handed to a fresh Http for the attempt.
 */
export class FlowHttp extends Executable<unknown> {
  readonly kind = 'http' as const
  override readonly capabilities: ExecutableCapabilities = { result: true, cwd: false }
  readonly #templates: HttpTemplates
  readonly #options: Omit<HttpOptions, 'url' | 'headers' | 'body'>
  readonly #scope: StepScope
  #refs: Ref[] | null = null

  constructor(templates: HttpTemplates, options: Omit<HttpOptions, 'url' | 'headers' | 'body'>, scope: StepScope) {
    super()
    this.#templates = templates
    this.#options = options
    this.#scope = scope
  }

  /** The request as written in the flow (expressions shown, not their values). */
  describe(): string {
    return `${this.#options.method ?? (this.#templates.body === undefined ? 'GET' : 'POST')} ${this.#templates.url.template.source}`
  }

  references(): Ref[] {
    return (this.#refs ??= referencesOf(this.#scope.reads))
  }

  /** A flow's steps are rebuilt from the flow document, not from a plan. */
  override toSpec(): ExecutableSpec {
    return { uses: 'flow-http', with: { request: this.describe() } }
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const { contexts, env } = await this.#scope.contexts(ctx.runId, read => readForAttempt(ctx, read))
    const flow = this.#scope.flow
    const url = renderUrl(this.#templates.url.template, evaluateAll(flow, this.#templates.url, contexts))
    const headers = Object.fromEntries(this.#templates.headers.map(([name, value]) => [name, renderText(flow, value, contexts)]))
    const options: HttpOptions = { ...this.#options, url }
    if (this.#templates.headers.length > 0) options.headers = headers
    if (this.#templates.body !== undefined) options.body = renderValue(flow, this.#templates.body, contexts) as HttpOptions['body']
    return new Http(options).execute(env === null ? ctx : withEnv(ctx, env))
  }
}

/**
 * A `uses:` step whose `with` holds expressions: the options are evaluated when the step
 * starts, checked by the plugin's schema, and its executable made for the attempt.
 */
export class FlowPlugin extends Executable<unknown> {
  /** What the plugin makes is known only once it has made it: anything is allowed. */
  override readonly capabilities: ExecutableCapabilities = { result: true, cwd: true }
  readonly #plugin: Plugin
  readonly #with: CompiledValue
  readonly #scope: StepScope
  readonly #baseDir: string
  #refs: Ref[] | null = null

  constructor(plugin: Plugin, withValue: CompiledValue, scope: StepScope, baseDir: string) {
    super()
    this.#plugin = plugin
    this.#with = withValue
    this.#scope = scope
    this.#baseDir = baseDir
  }

  get kind(): string {
    return this.#plugin.name
  }

  describe(): string {
    return `uses ${this.#plugin.name}`
  }

  references(): Ref[] {
    return (this.#refs ??= referencesOf(this.#scope.reads))
  }

  /** A flow's steps are rebuilt from the flow document, not from a plan. */
  override toSpec(): ExecutableSpec {
    return { uses: 'flow-plugin', with: { plugin: this.#plugin.name } }
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const { contexts, env } = await this.#scope.contexts(ctx.runId, read => readForAttempt(ctx, read))
    const options = renderValue(this.#scope.flow, this.#with, contexts)
    const executable = await createExecutable(this.#plugin, options, { nodePath: ctx.nodePath, baseDir: this.#baseDir })
    await executable.prepare()
    return executable.execute(env === null ? ctx : withEnv(ctx, env))
  }
}

/** Reads another step for a `when`: its result or its status. */
function readForWhen(ctx: WhenContext, read: StepRead): Promise<unknown> | unknown {
  const node = read.producer.node!
  if (read.field === 'status') return ctx.status(node)
  if (read.field === 'result') return ctx.result(node.result)
  throw new Error(`steps.${read.producer.names.join('.')}.${read.field} cannot be read in when`)
}

/** A `cache.key` with expressions, as the function core calls just before the step would run. */
export function cacheKeyFunction(template: LocatedTemplate, scope: StepScope): (ctx: WhenContext) => Promise<string> {
  const key = async (ctx: WhenContext): Promise<string> => {
    const { contexts } = await scope.contexts(ctx.runId, read => readForWhen(ctx, read))
    return renderText(scope.flow, template, contexts)
  }
  Object.defineProperty(key, 'toString', { value: () => `cache.key: ${template.template.source}` })
  return key
}

/**
 * A step's `when` as the predicate core calls. Its text is what the run's digest records of it
 * (core reads a `when` by its source, which would be this closure's for every flow).
 */
export function whenPredicate(expression: Expression, at: KeyPath, scope: StepScope): (ctx: WhenContext) => Promise<boolean> {
  const predicate = async (ctx: WhenContext): Promise<boolean> => {
    const { contexts } = await scope.contexts(ctx.runId, read => readForWhen(ctx, read))
    return isTruthy(evaluateAt(scope.flow, expression, at, -1, contexts))
  }
  Object.defineProperty(predicate, 'toString', { value: () => `when: ${expression.text.trim()}` })
  return predicate
}
