/**
 * Builds the Workflow of a checked flow: the same Nodes, Commands and Funcs a TypeScript script
 * would build, with flow executables only where an expression is evaluated when a step starts.
 */
import { Command, Func, Node, Workflow, type Executable, type NodeOptions } from '@wtflow/core'
import type { CompiledFlow, CompiledStep } from './compile.js'
import { durationMs } from './duration.js'
import { FlowCommand, FlowFunc, whenPredicate } from './executables.js'
import { StepScope, type FlowScope, type LocatedTemplate } from './runtime.js'
import type { Flow, Step, StepOptionDefaults } from './schema.js'

/** A string without expressions, as a template. */
function plainTemplate(text: string): LocatedTemplate {
  return { template: { source: text, literals: [text], expressions: [] }, at: [] }
}

export function buildWorkflow(flow: Flow, compiled: CompiledFlow, scope: FlowScope): Workflow {
  const defaults = flow.defaults ?? {}
  const root = compiled.root
  const children = flow.steps.map((step, i) => buildStep(step, root.children[i]!, defaults, scope))
  const options: NodeOptions<unknown> = { name: flow.name, children }
  if (root.staticEnv !== undefined) options.env = root.staticEnv
  const node = new Node(options)
  root.info.node = node
  return new Workflow({ name: flow.name, root: node, description: flow.description })
}

function buildStep(step: Step, compiled: CompiledStep, defaults: StepOptionDefaults, scope: FlowScope): Node<unknown> {
  const children = (step.steps ?? []).map((child, i) => buildStep(child, compiled.children[i]!, defaults, scope))
  const executable = executableOf(compiled, scope)
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
  const node = new Node(options)
  compiled.info.node = node
  return node
}

function executableOf(compiled: CompiledStep, scope: FlowScope): Executable<unknown> | undefined {
  const { run, func } = compiled
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
  return undefined
}
