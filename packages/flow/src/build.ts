/**
 * Builds the Workflow of a checked flow: the same Nodes, Commands and Funcs a TypeScript script
 * would build, with flow executables only where an expression is evaluated when a step starts.
 */
import path from 'node:path'
import { Command, Env, Func, Http, Node, Workflow, type CacheOptions, type Executable, type HttpOptions, type InputSpec, type NodeOptions } from '@wtflow/core'
import { assembleNode } from '@wtflow/core/internal'
import type { CompiledFlow, CompiledStep } from './compile.js'
import { durationMs } from './duration.js'
import { cacheKeyFunction, FlowCommand, FlowFunc, FlowHttp, FlowPlugin, whenPredicate } from './executables.js'
import { StepScope, type FlowScope, type LocatedTemplate } from './runtime.js'
import type { Flow, Step, StepOptionDefaults } from './schema.js'

/** A string without expressions, as a template. */
function plainTemplate(text: string): LocatedTemplate {
  return { template: { source: text, literals: [text], expressions: [] }, at: [] }
}

export function buildWorkflow(flow: Flow, compiled: CompiledFlow, scope: FlowScope, file: string): Workflow {
  const defaults = flow.defaults ?? {}
  const root = compiled.root
  const children = flow.steps.map((step, i) => buildStep(step, root.children[i]!, defaults, scope, file))
  const options: NodeOptions<unknown> = { name: flow.name, children }
  if (root.staticEnv !== undefined) options.env = root.staticEnv
  const node = new Node(options)
  root.info.node = node
  // `after` names steps anywhere in the flow: given once every step has its node.
  flow.steps.forEach((step, i) => linkAfter(step, root.children[i]!, root))
  return new Workflow({ name: flow.name, root: node, description: flow.description, inputs: declaredInputs(flow, compiled.inputs) })
}

/**
 * The flow's inputs as a script declares them (what `wtflow list` shows). The flow was built for
 * the values it was given: those are the defaults, so a run without inputs runs (and records) them.
 */
function declaredInputs(flow: Flow, values: Readonly<Record<string, string>>): Record<string, InputSpec> {
  const inputs: Record<string, InputSpec> = {}
  for (const [name, input] of Object.entries(flow.inputs ?? {})) {
    // An input without a value (and no default) compiles as '': no default then.
    const given = values[name] === '' && input?.default === undefined ? undefined : values[name]
    const value = given ?? (input?.default === undefined ? undefined : String(input.default))
    const spec: InputSpec = { required: input?.required ?? input?.default === undefined }
    if (value !== undefined) spec.default = value
    if (input?.description !== undefined) spec.description = input.description
    inputs[name] = spec
  }
  return inputs
}

function linkAfter(step: Step, compiled: CompiledStep, root: CompiledStep): void {
  ;(step.steps ?? []).forEach((child, i) => linkAfter(child, compiled.children[i]!, root))
  if (step.after === undefined || step.after.length === 0) return
  const after = step.after.map(entry => {
    let target = root
    for (const name of entry.split('/')) target = target.children.find(child => child.info.name === name)!
    return target.info.node!
  })
  const node = compiled.info.node!
  assembleNode(node, { children: node.children, executable: node.executable, after })
}

function buildStep(step: Step, compiled: CompiledStep, defaults: StepOptionDefaults, scope: FlowScope, file: string): Node<unknown> {
  const children = (step.steps ?? []).map((child, i) => buildStep(child, compiled.children[i]!, defaults, scope, file))
  const executable = executableOf(step, compiled, scope, file)
  // Only the options the step has: a tree equal to what a script builds, option for option.
  const options: NodeOptions<unknown> = { name: step.name }
  if (executable !== undefined) options.executable = executable
  if (children.length > 0) options.children = children
  if (step.parallel !== undefined) options.parallel = step.parallel
  const runs = executable !== undefined
  const timeout = step.timeout ?? (runs ? defaults.timeout : undefined)
  if (timeout !== undefined) options.timeout = durationMs(timeout)
  const retries = step.retries ?? (runs ? defaults.retries : undefined)
  if (retries !== undefined) options.retries = retries
  const retryDelay = step.retryDelay ?? (runs ? defaults.retryDelay : undefined)
  if (retryDelay !== undefined) options.retryDelay = durationMs(retryDelay)
  const backoff = step.backoff ?? (runs ? defaults.backoff : undefined)
  if (backoff !== undefined) options.backoff = backoff
  const jitter = step.jitter ?? (runs ? defaults.jitter : undefined)
  if (jitter !== undefined) options.jitter = jitter
  const continueOnFailure = step.continueOnFailure ?? (runs ? defaults.continueOnFailure : undefined)
  if (continueOnFailure !== undefined) options.continueOnFailure = continueOnFailure
  if (step.runIf !== undefined) options.runIf = step.runIf
  const when = compiled.when
  if (when === false) options.when = () => false
  else if (when !== undefined && when !== true) options.when = whenPredicate(when.expression, when.at, new StepScope(scope, compiled.env, compiled.whenReads))
  if (compiled.staticEnv !== undefined) options.env = compiled.staticEnv
  if (step.cwd !== undefined) options.cwd = step.cwd
  if (step.artifacts !== undefined) options.artifacts = step.artifacts
  if (step.cache === true) options.cache = true
  else if (typeof step.cache === 'object') {
    const cache: CacheOptions = {}
    if (step.cache.files !== undefined) cache.files = step.cache.files
    if (step.cache.env !== undefined) cache.env = step.cache.env
    if (step.cache.ttl !== undefined) cache.ttl = durationMs(step.cache.ttl)
    if (compiled.cacheKey !== undefined) cache.key = cacheKeyFunction(compiled.cacheKey.template, new StepScope(scope, compiled.env, compiled.cacheKey.reads))
    else if (step.cache.key !== undefined) cache.key = step.cache.key
    options.cache = cache
  }
  const node = new Node(options)
  compiled.info.node = node
  return node
}

function executableOf(step: Step, compiled: CompiledStep, scope: FlowScope, file: string): Executable<unknown> | undefined {
  const { run, func, http, plugin } = compiled
  if (run !== undefined) {
    if ('plain' in run) {
      if (!compiled.templated) return new Command(run.plain)
      // Expressions only in the environment: the command as written, the environment evaluated.
      return new FlowCommand(typeof run.plain === 'string' ? { shell: plainTemplate(run.plain) } : { argv: run.plain.map(plainTemplate) }, new StepScope(scope, compiled.env, compiled.reads))
    }
    return new FlowCommand(run, new StepScope(scope, compiled.env, compiled.reads))
  }
  if (func !== undefined) {
    const fn = func.fn!
    if (compiled.templated) return new FlowFunc({ fn, module: func.module, exportName: func.exportName, args: func.args }, new StepScope(scope, compiled.env, compiled.reads))
    const args = func.args.map(arg => (arg.kind === 'literal' ? arg.value : undefined))
    return new Func(fn, args.length === 0 ? { module: func.module, exportName: func.exportName } : { module: func.module, exportName: func.exportName, args })
  }
  if (http !== undefined && step.http !== undefined) {
    const options: Omit<HttpOptions, 'url' | 'headers' | 'body'> = {}
    if (step.http.method !== undefined) options.method = step.http.method
    if (step.http.expect !== undefined) options.expect = step.http.expect
    if (step.http.timeout !== undefined) options.timeout = durationMs(step.http.timeout)
    if (compiled.templated) return new FlowHttp(http, options, new StepScope(scope, compiled.env, compiled.reads))
    const request: HttpOptions = { ...options, url: step.http.url }
    if (step.http.headers !== undefined) request.headers = step.http.headers
    if (step.http.body !== undefined) request.body = step.http.body as HttpOptions['body']
    return new Http(request)
  }
  if (Array.isArray(step.env)) {
    const names = step.env.map(entry => (typeof entry === 'string' ? entry : entry.name))
    const required = step.env.flatMap(entry => (typeof entry !== 'string' && entry.required === true ? [entry.name] : []))
    return new Env(required.length === 0 ? { names } : { names, required })
  }
  if (plugin !== undefined) {
    if (plugin.executable !== null && !compiled.templated) return plugin.executable
    return new FlowPlugin(plugin.plugin!, plugin.with, new StepScope(scope, compiled.env, compiled.reads), path.dirname(file))
  }
  return undefined
}
