/**
 * Evaluating a step's expressions when it starts: the contexts they read (inputs, env, secrets,
 * run, the steps they name) and the values they give.
 */
import { data } from '@actions/expressions'
import { NodeFailure } from '@wtflow/core'
import type { KeyPath, Target } from './diagnostics.js'
import { asText, evaluate, fromData, toData, type Expression, type Template } from './expressions.js'
import type { StepField, StepInfo } from './steps.js'

/** A template and where it is in the document. */
export interface LocatedTemplate {
  readonly template: Template
  readonly at: KeyPath
}

/**
 * A value of the document that may hold templates anywhere (func args, http bodies, plugin
 * options): a string that is exactly one `${{ }}` gives the expression's value, any other
 * string with `${{` gives text.
 */
export type CompiledValue =
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'template'; readonly template: LocatedTemplate; readonly whole: boolean }
  | { readonly kind: 'array'; readonly items: readonly CompiledValue[] }
  | { readonly kind: 'object'; readonly entries: ReadonlyArray<readonly [string, CompiledValue]> }

/** One environment variable a step's `env` (or the flow's) sets: a value, or a template. */
export type EnvEntry = { readonly name: string; readonly value: string } | { readonly name: string; readonly template: LocatedTemplate }

/** What an expression of a step reads of another step. */
export interface StepRead {
  readonly producer: StepInfo
  readonly field: StepField
  /** For `artifacts`: the artifact's name. */
  readonly artifact?: string | undefined
}

/** Turns a document position into `file:line:column` (the document is parsed again only then). */
export type Locate = (at: KeyPath, target?: Target) => string

/** What every expression of a flow can read besides steps, and how to say where one is. */
export class FlowScope {
  readonly inputs: data.Dictionary
  readonly secrets: data.Dictionary

  constructor(
    inputs: Readonly<Record<string, string>>,
    secrets: Readonly<Record<string, string>>,
    readonly locate: Locate,
  ) {
    this.inputs = toData(inputs) as data.Dictionary
    this.secrets = toData(secrets) as data.Dictionary
  }
}

/** Reads what a `StepRead` names: a result value, an artifact's path, a status. */
export type ReadStep = (read: StepRead) => Promise<unknown> | unknown

/** The expressions of one step: its environment (the flow's and every ancestor's, in order) and the steps it reads. */
export class StepScope {
  readonly #flow: FlowScope
  readonly #env: readonly EnvEntry[]
  readonly #reads: readonly StepRead[]
  /** True if some variable of its environment is a template (evaluated when the step starts). */
  readonly templatedEnv: boolean

  constructor(flow: FlowScope, env: readonly EnvEntry[], reads: readonly StepRead[]) {
    this.#flow = flow
    this.#env = env
    this.#reads = reads
    this.templatedEnv = env.some(entry => 'template' in entry)
  }

  get flow(): FlowScope {
    return this.#flow
  }

  get reads(): readonly StepRead[] {
    return this.#reads
  }

  /**
   * The contexts of the step's expressions, and its environment with templates evaluated (null
   * when none of it is a template: the engine applies the rest).
   */
  async contexts(runId: string, read: ReadStep): Promise<{ contexts: data.Dictionary; env: Record<string, string> | null }> {
    const run = new data.Dictionary({ key: 'id', value: new data.StringData(runId) })
    const contexts = new data.Dictionary(
      { key: 'inputs', value: this.#flow.inputs },
      { key: 'secrets', value: this.#flow.secrets },
      { key: 'run', value: run },
    )
    const env = this.#environment(contexts)
    contexts.add('env', toData(env))
    if (this.#reads.length > 0) contexts.add('steps', await this.#steps(read))
    return { contexts, env: this.templatedEnv ? env : null }
  }

  /** Variables in order, each template seeing those set before it (`env.X`). */
  #environment(contexts: data.Dictionary): Record<string, string> {
    const env: Record<string, string> = {}
    for (const entry of this.#env) {
      if ('value' in entry) {
        env[entry.name] = entry.value
        continue
      }
      const scope = new data.Dictionary(
        { key: 'inputs', value: contexts.get('inputs')! },
        { key: 'secrets', value: contexts.get('secrets')! },
        { key: 'run', value: contexts.get('run')! },
        { key: 'env', value: toData(env) },
      )
      env[entry.name] = renderText(this.#flow, entry.template, scope)
    }
    return env
  }

  /** The `steps` context: only what the step reads, nested by path. */
  async #steps(read: ReadStep): Promise<data.Dictionary> {
    const values = await Promise.all(this.#reads.map(read))
    const root: Record<string, unknown> = {}
    this.#reads.forEach((stepRead, i) => {
      let holder = root
      for (const name of stepRead.producer.names) holder = (holder[name] ??= {}) as Record<string, unknown>
      if (stepRead.field === 'artifacts') ((holder.artifacts ??= {}) as Record<string, unknown>)[stepRead.artifact!] = values[i]
      else holder[stepRead.field] = values[i]
    })
    return toData(root) as data.Dictionary
  }
}

/** Evaluates one expression; an error names where it is in the flow file. */
export function evaluateAt(flow: FlowScope, expression: Expression, at: KeyPath, index: number, contexts: data.Dictionary): data.ExpressionData {
  try {
    return evaluate(expression, contexts)
  } catch (error) {
    const where = flow.locate(at, { kind: 'expression', expression: index, offset: 0 })
    throw new NodeFailure(`${where}: expression "${expression.text.trim()}" failed: ${(error as Error).message}`, { code: 'WTFLOW_FLOW_EXPRESSION' }, { cause: error })
  }
}

/** The values of a template's expressions, in order. */
export function evaluateAll(flow: FlowScope, located: LocatedTemplate, contexts: data.Dictionary): data.ExpressionData[] {
  return located.template.expressions.map((expression, i) => evaluateAt(flow, expression, located.at, i, contexts))
}

/** A template as text: its literals with the text of each value between them. */
export function renderText(flow: FlowScope, located: LocatedTemplate, contexts: data.Dictionary): string {
  const { literals } = located.template
  const values = evaluateAll(flow, located, contexts)
  let text = literals[0]!
  for (let i = 0; i < values.length; i++) text += asText(values[i]!) + literals[i + 1]!
  return text
}

/** A compiled value with its templates evaluated. */
export function renderValue(flow: FlowScope, value: CompiledValue, contexts: data.Dictionary): unknown {
  switch (value.kind) {
    case 'literal':
      return value.value
    case 'template':
      return value.whole ? fromData(evaluateAt(flow, value.template.template.expressions[0]!, value.template.at, 0, contexts)) : renderText(flow, value.template, contexts)
    case 'array':
      return value.items.map(item => renderValue(flow, item, contexts))
    case 'object':
      return Object.fromEntries(value.entries.map(([key, item]) => [key, renderValue(flow, item, contexts)]))
  }
}
