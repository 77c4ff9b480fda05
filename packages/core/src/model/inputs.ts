/**
 * Workflow inputs: parameters of a run (`wtflow run f.ts --input region=south`). A `Workflow`
 * declares them; nodes read them through `ctx.inputs` in `when` and `inputRef(name)` as a
 * Command or Func argument. Values are strings.
 */
import { WtflowError } from '../errors/errors.js'

/** One declared input. */
export interface InputSpec {
  /** Its value when the run is given none. */
  default?: string | undefined
  /** Shown by `wtflow list` and `--help`-like listings. */
  description?: string | undefined
  /** A run without a value (and no default) is refused before it starts. */
  required?: boolean | undefined
}

const INPUT_BRAND: unique symbol = Symbol.for('wtflow.input') as never

/** An input's value, passed as an argument: the string in a Command argv, the string in a Func. */
export class InputRef {
  readonly kind = 'input' as const
  constructor(readonly name: string) {}

  get [INPUT_BRAND](): true {
    return true
  }
}

/**
 * The value of the workflow's input `name` as an argument of a Command or a Func.
 *
 * @example
 * new Command(['deploy', '--region', inputRef('region')])
 */
export function inputRef(name: string): InputRef {
  if (typeof name !== 'string' || name === '') throw new TypeError('inputRef(name) takes the name of an input the workflow declares')
  return new InputRef(name)
}

/** True for an input reference, even one made by another copy of @wtflow/core. */
export function isInputRef(value: unknown): value is InputRef {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[INPUT_BRAND] === true
}

/**
 * The inputs of a run: each declared input's given value, else its default. A required input
 * without either, or a value for an input the workflow does not declare, is a `WTFLOW_INPUT`
 * error that names them.
 */
export function resolveInputs(workflow: string, declared: Readonly<Record<string, InputSpec>>, given: Readonly<Record<string, string>> = {}): Record<string, string> {
  const names = Object.keys(declared)
  const unknown = Object.keys(given).filter(name => !Object.hasOwn(declared, name))
  if (unknown.length > 0) {
    const known = names.length === 0 ? 'it declares none' : `it declares ${names.map(n => `"${n}"`).join(', ')}`
    throw new WtflowError('WTFLOW_INPUT', `workflow "${workflow}" has no input ${unknown.map(n => `"${n}"`).join(', ')}; ${known}`)
  }
  const inputs: Record<string, string> = {}
  const missing: string[] = []
  for (const name of names) {
    const value = given[name] ?? declared[name]!.default
    if (value !== undefined) inputs[name] = value
    else if (declared[name]!.required === true) missing.push(name)
  }
  if (missing.length > 0) {
    const described = missing.map(name => `"${name}"${declared[name]!.description === undefined ? '' : ` (${declared[name]!.description})`}`)
    throw new WtflowError('WTFLOW_INPUT', `workflow "${workflow}" needs ${missing.length === 1 ? 'input' : 'inputs'} ${described.join(', ')}; give ${missing.map(n => `--input ${n}=VALUE`).join(' ')}`)
  }
  return inputs
}
