/** The values of a flow's inputs (given, else defaults) and of the secrets it declares. */
import { didYouMean, type KeyPath, type Problem, type Target } from './diagnostics.js'
import { isRecord } from './steps.js'

export interface ValueOptions {
  /** Values given for the flow's inputs. */
  inputs: Readonly<Record<string, string>>
  /** Configured secrets (`[secrets]` of the INI file). */
  secrets: Readonly<Record<string, string>>
  /** Where secrets that are not configured are looked for. */
  env: Readonly<Record<string, string | undefined>>
  /** Inputs and secrets need no values. */
  structureOnly: boolean
}

function problem(problems: Problem[], path: KeyPath, message: string, target?: Target): void {
  problems.push({ path, message, target })
}

export function inputValues(document: Record<string, unknown>, options: ValueOptions, problems: Problem[]): Record<string, string> {
  const declared = isRecord(document.inputs) ? document.inputs : {}
  const given = options.inputs
  const values: Record<string, string> = {}
  for (const [name, declaration] of Object.entries(declared)) {
    const input = isRecord(declaration) ? declaration : {}
    const value = Object.hasOwn(given, name) ? given[name] : input.default === undefined ? undefined : String(input.default)
    const required = typeof input.required === 'boolean' ? input.required : input.default === undefined
    if (value !== undefined) values[name] = value
    else if (required && !options.structureOnly) problem(problems, ['inputs', name], `input "${name}" is required and has no value: pass --input ${name}=VALUE`, { kind: 'key' })
    else values[name] = ''
  }
  for (const name of Object.keys(given)) {
    if (Object.hasOwn(declared, name)) continue
    const names = Object.keys(declared)
    const has = names.length === 0 ? 'it declares no inputs' : `its inputs are ${names.join(', ')}`
    problem(problems, names.length === 0 ? [] : ['inputs'], `--input ${name}: the flow has no input "${name}"${didYouMean(name, names)}; ${has}`, { kind: 'key' })
  }
  return values
}

export function secretValues(document: Record<string, unknown>, options: ValueOptions, problems: Problem[]): Record<string, string> {
  const values: Record<string, string> = {}
  const names = Array.isArray(document.secrets) ? document.secrets : []
  names.forEach((name: unknown, index) => {
    if (typeof name !== 'string') return
    const value = options.secrets[name] ?? options.env[name]
    if ((value === undefined || value === '') && !options.structureOnly) {
      problem(problems, ['secrets', index], `secret ${name} is not configured: add it under [secrets] in wtflow.ini (${name} = …) or set the environment variable ${name}`)
    } else if (value !== undefined) {
      values[name] = value
    }
  })
  return values
}
