/**
 * What expressions read, checked before anything runs: declared inputs and secrets, variables
 * that the flow sets, `run.id`, and steps that exist, have the field read, and surely end
 * before the reader starts.
 */
import path from 'node:path'
import { didYouMean, type KeyPath, type Problem, type Target } from './diagnostics.js'
import type { ContextRead, Expression } from './expressions.js'
import type { StepRead } from './runtime.js'
import { childNamed, childNames, showPath, STEP_FIELDS, whyNotBefore, type StepField, type StepInfo } from './steps.js'

/** Where an expression is evaluated: in a step's executable, in its `when`, in an `env` value. */
export type ReadMode = 'execute' | 'when' | 'env'

export class ReadChecker {
  readonly #root: StepInfo
  readonly #inputNames: ReadonlyMap<string, string>
  readonly #secretNames: ReadonlyMap<string, string>
  readonly #report: (path: KeyPath, message: string, target: Target) => void

  constructor(root: StepInfo, inputNames: readonly string[], secretNames: readonly string[], problems: Problem[]) {
    this.#root = root
    this.#inputNames = lowerNames(inputNames)
    this.#secretNames = lowerNames(secretNames)
    this.#report = (path, message, target) => problems.push({ path, message, target })
  }

  /** Checks what an expression of `consumer` reads, in `mode`; adds the steps it reads to `out`. */
  check(expression: Expression, at: KeyPath, index: number, consumer: StepInfo | null, mode: ReadMode, envNames: ReadonlySet<string>, out: StepRead[]): void {
    for (const read of expression.reads) {
      const target: Target = { kind: 'expression', expression: index, offset: read.offset }
      const problem = (message: string) => this.#report(at, message, target)
      const first = read.keys[0]
      switch (read.context) {
        case 'inputs':
          if (first !== undefined && !this.#inputNames.has(String(first).toLowerCase())) {
            const names = [...this.#inputNames.values()]
            problem(`inputs.${String(first)} is not an input of this flow${didYouMean(String(first), names)}; ${names.length === 0 ? 'declare it under inputs' : `its inputs are ${names.join(', ')}`}`)
          }
          break
        case 'secrets':
          if (first !== undefined && !this.#secretNames.has(String(first).toLowerCase())) {
            problem(`secrets.${String(first)} is not declared: add ${String(first)} to the flow's secrets list`)
          }
          break
        case 'env':
          if (first !== undefined && !envNames.has(String(first).toLowerCase())) {
            problem(`env.${String(first)} is not set by this flow (the env context holds the env of the flow and of this step's ancestors); in a run command, use $${String(first)}`)
          }
          break
        case 'run':
          if (first !== undefined && String(first).toLowerCase() !== 'id') problem(`run.${String(first)} does not exist; run has id`)
          break
        case 'steps':
          if (mode === 'env' || consumer === null) problem('env values cannot read steps; read them in the command (run, func args) instead')
          else this.#stepRead(read, consumer, mode, problem, out)
          break
      }
    }
  }

  #stepRead(read: ContextRead, consumer: StepInfo, mode: ReadMode, problem: (message: string) => void, out: StepRead[]): void {
    const keys = read.keys
    let producer: StepInfo = this.#root
    let i = 0
    for (; i < keys.length; i++) {
      const key = keys[i]!
      if (producer !== this.#root && typeof key === 'string' && (STEP_FIELDS as readonly string[]).includes(key)) break
      const child = typeof key === 'string' ? childNamed(producer, key) : undefined
      if (child === undefined) {
        const under = producer === this.#root ? 'the flow has no step' : `"${showPath(producer)}" has no step`
        const names = childNames(producer)
        const fields = producer === this.#root ? '' : ` and no field "${String(key)}" (fields: ${STEP_FIELDS.join(', ')})`
        problem(`steps.${[...producer.names, String(key)].join('.')}: ${under} named "${String(key)}"${fields}${didYouMean(String(key), names)}`)
        return
      }
      producer = child
    }
    const path = `steps.${producer.names.join('.')}`
    if (producer === this.#root || (read.computed && i >= keys.length)) {
      problem(producer === this.#root ? 'steps must be followed by a step path written out (steps.build.stdout, steps[\'my step\'].result)' : `${path}: the field after a step path must be written out (.result, .stdout, .stderr, .artifacts.NAME, .status)`)
      return
    }
    if (i >= keys.length) {
      problem(`${path} is a step; read one of its fields: ${path}.result, .stdout, .stderr, .artifacts.NAME or .status`)
      return
    }
    const field = keys[i] as StepField
    const artifact = keys[i + 1]
    const shown = `${path}.${field}`
    if (field === 'artifacts' && typeof artifact !== 'string') {
      problem(`${shown} needs the artifact's name: ${shown}.NAME (a file listed in its artifacts)`)
      return
    }
    const unavailable = this.#unavailable(producer, field, typeof artifact === 'string' ? artifact : undefined, mode)
    if (unavailable !== null) {
      problem(`${shown}${field === 'artifacts' ? `.${String(artifact)}` : ''}: ${unavailable}`)
      return
    }
    const order = whyNotBefore(producer, consumer, mode === 'execute')
    if (order !== null) {
      const readable = mode === 'execute' ? 'earlier in a sequential group, beside it in a parallel group, or its ancestors' : 'earlier in a sequential group, or its ancestors'
      problem(`${path} does not run before this step: ${order}. A step can read the steps that run before it (${readable})`)
      return
    }
    if (!out.some(existing => existing.producer === producer && existing.field === field && existing.artifact === artifact)) {
      out.push({ producer, field, artifact: field === 'artifacts' ? (artifact as string) : undefined })
    }
  }

  /** Why a field of a step cannot be read where it is read, or null. */
  #unavailable(producer: StepInfo, field: StepField, artifact: string | undefined, mode: ReadMode): string | null {
    if (field === 'status') return mode === 'when' ? null : 'status can be read in when only (a step that reads another step\'s output runs only after it succeeded)'
    if (mode === 'when' && field !== 'result') return `${field} is a file path, for commands; in when, read steps.X.result or steps.X.status`
    if (producer.kind === 'group') return 'the step runs nothing (it is a group of steps), so it has no output'
    if (field === 'result' && producer.kind === 'run') return 'a run step has no result; read its stdout (the path of its output file)'
    if (field === 'artifacts') {
      const declared = Array.isArray(producer.raw.artifacts) ? producer.raw.artifacts.filter((f): f is string => typeof f === 'string').map(f => path.basename(f)) : []
      if (!declared.includes(artifact!)) {
        const dotted = declared.find(name => name.includes('.'))
        const hint = dotted === undefined ? '' : ` (names with a dot are written steps.${producer.names.join('.')}.artifacts['${dotted}'])`
        return `the step declares ${declared.length === 0 ? 'no artifacts' : `artifacts ${declared.join(', ')}`}${didYouMean(artifact!, declared)}${hint}`
      }
    }
    return null
  }
}

function lowerNames(names: readonly string[]): Map<string, string> {
  return new Map(names.map(name => [name.toLowerCase(), name]))
}
