/** zod's issues with a flow document, as problems a person can act on (with suggestions for unknown keys). */
import type { z } from 'zod'
import { didYouMean, type KeyPath, type Problem } from './diagnostics.js'
import { CacheSchema, DefaultsSchema, FLOW_KEYS, FuncSchema, HttpSchema, InputSchema, STEP_KEYS } from './schema.js'

type Issue = z.core.$ZodIssue

const FUNC_KEYS = Object.keys(FuncSchema.shape)
const HTTP_KEYS = Object.keys(HttpSchema.shape)
const DEFAULTS_KEYS = Object.keys(DefaultsSchema.shape)
const CACHE_KEYS = objectKeys(CacheSchema)
const INPUT_KEYS = objectKeys(InputSchema)

/** The keys of the object branch of a union schema. */
function objectKeys(schema: z.ZodType): string[] {
  const options = (schema as unknown as { options?: Array<{ shape?: Record<string, unknown> }> }).options ?? []
  return options.flatMap(option => Object.keys(option.shape ?? {}))
}

export function issueProblems(issues: readonly Issue[], base: KeyPath = []): Problem[] {
  const problems: Problem[] = []
  for (const issue of issues) {
    const path: KeyPath = [...base, ...issue.path.filter((key): key is string | number => typeof key !== 'symbol')]
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) problems.push({ path: [...path, key], target: { kind: 'key' }, message: unknownKey(key, path) })
        break
      case 'invalid_union': {
        // The branch for the kind of value written (a map where a map or a list is allowed) says most.
        const fitting = issue.errors.filter(branch => !branch.every(inner => inner.code === 'invalid_type' && inner.path.length === 0))
        if (fitting.length === 1) problems.push(...issueProblems(fitting[0]!, path))
        else problems.push({ path, message: issue.message })
        break
      }
      case 'invalid_key':
        problems.push({ path, target: { kind: 'key' }, message: issue.issues[0]?.message ?? issue.message })
        break
      case 'invalid_type':
        problems.push({ path, message: typeMessage(issue, path) })
        break
      default:
        problems.push({ path, message: issue.message })
    }
  }
  return problems
}

function typeMessage(issue: Issue & { code: 'invalid_type' }, path: KeyPath): string {
  const input = (issue as { input?: unknown }).input
  if (path.length === 0) {
    return input === undefined || input === null
      ? 'the file is empty; a flow has at least a name and steps'
      : 'a flow file holds a mapping of keys (name, steps, …), not a list or a single value'
  }
  if (!issue.message.startsWith('Invalid input')) return issue.message
  if (input === undefined) return 'is required'
  return `expected ${article(issue.expected)}, got ${describeValue(input)}`
}

function article(expected: string): string {
  const words: Record<string, string> = { string: 'text', number: 'a number', boolean: 'true or false', array: 'a list', object: 'a mapping (key: value)', int: 'a whole number' }
  return words[expected] ?? expected
}

function describeValue(value: unknown): string {
  if (value === null) return 'nothing (null)'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  const text = JSON.stringify(value)
  return text.length > 40 ? `${text.slice(0, 37)}…` : text
}

function unknownKey(key: string, at: KeyPath): string {
  const known = knownKeysAt(at)
  const hint = known === null ? '' : didYouMean(key, known)
  return `unknown key "${key}"${hint}`
}

/** The keys the schema allows at a path of the document, or null when it is not an object of known keys. */
function knownKeysAt(path: KeyPath): readonly string[] | null {
  if (path.length === 0) return FLOW_KEYS
  const last = path[path.length - 1]
  const before = path[path.length - 2]
  if (typeof last === 'number' && before === 'steps') return STEP_KEYS
  if (path.length === 1 && last === 'defaults') return DEFAULTS_KEYS
  if (path.length === 2 && before === 'inputs') return INPUT_KEYS
  if (last === 'func') return FUNC_KEYS
  if (last === 'http') return HTTP_KEYS
  if (last === 'cache') return CACHE_KEYS
  return null
}
