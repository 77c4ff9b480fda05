import { WtflowError } from '../../errors/errors.js'
/**
 * Encodes a Func's return value as JSON, refusing anything JSON cannot carry faithfully: a
 * downstream `ResultRef<T>` must receive a `T`, not what `JSON.stringify` silently turned it into.
 */

/** The return value of a Func cannot be stored as its `result.json`. Code `WTFLOW_FUNC_RESULT`. */
export class ResultNotSerializableError extends WtflowError {
  /** Where in the value the problem is: `result`, `result.items[2]`, `result["a b"]`. */
  readonly valuePath: string

  constructor(valuePath: string, problem: string) {
    super(
      'WTFLOW_FUNC_RESULT',
      `${valuePath} ${problem}. A Func's return value is stored as JSON: return plain objects, arrays, ` +
        'strings, finite numbers, booleans or null (or nothing).',
    )
    this.valuePath = valuePath
  }
}

/**
 * `undefined` (the function returned nothing) gives `undefined`: the node has no `result.json`.
 * Otherwise the JSON text, or a `ResultNotSerializableError` naming the first offending place.
 *
 * Accepted: null, booleans, strings, finite numbers, arrays (dense, no `undefined` items) and
 * plain objects (prototype `Object.prototype` or null, string keys). Object properties whose
 * value is `undefined` are left out, as `JSON.stringify` does: reading them back still gives
 * `undefined`. Everything else (BigInt, functions, symbols, NaN/Infinity, Map/Set, Date, class
 * instances, typed arrays, symbol keys, cycles) is refused.
 */
export function toResultJson(value: unknown): string | undefined {
  if (value === undefined) return undefined
  checkValue(value, 'result', [])
  return JSON.stringify(value)
}

function checkValue(value: unknown, where: string, ancestors: object[]): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(value)) throw new ResultNotSerializableError(where, `is ${value}, which JSON cannot represent`)
      return
    case 'undefined':
      throw new ResultNotSerializableError(where, 'is undefined, which JSON turns into null inside an array')
    case 'bigint':
      throw new ResultNotSerializableError(where, 'is a BigInt; return it as a string (value.toString())')
    case 'symbol':
      throw new ResultNotSerializableError(where, 'is a symbol')
    case 'function':
      throw new ResultNotSerializableError(where, 'is a function')
  }
  if (value === null) return
  const object = value as object
  if (ancestors.includes(object)) throw new ResultNotSerializableError(where, 'refers back to one of its own parents (a cycle)')
  ancestors.push(object)
  if (Array.isArray(object)) {
    for (let index = 0; index < object.length; index++) {
      if (!(index in object)) throw new ResultNotSerializableError(`${where}[${index}]`, 'is a hole in a sparse array')
      checkValue(object[index], `${where}[${index}]`, ancestors)
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(object)
    if (proto !== Object.prototype && proto !== null) {
      throw new ResultNotSerializableError(where, `is a ${describeKind(object)}, not a plain object${hintFor(object)}`)
    }
    if (Object.getOwnPropertySymbols(object).length > 0) {
      throw new ResultNotSerializableError(where, 'has symbol keys, which JSON drops')
    }
    if ('toJSON' in object && typeof object.toJSON === 'function') {
      throw new ResultNotSerializableError(where, 'has a toJSON() method; return what it returns instead')
    }
    for (const key of Object.keys(object)) {
      const item = (object as Record<string, unknown>)[key]
      if (item !== undefined) checkValue(item, `${where}${propertyAccess(key)}`, ancestors)
    }
  }
  ancestors.pop()
}

function propertyAccess(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

function describeKind(object: object): string {
  const name = (object.constructor as { name?: unknown } | undefined)?.name
  return typeof name === 'string' && name !== '' ? name : Object.prototype.toString.call(object).slice(8, -1)
}

function hintFor(object: object): string {
  if (object instanceof Date) return '; return date.toISOString()'
  if (object instanceof Map) return '; return Object.fromEntries(map)'
  if (object instanceof Set) return '; return [...set]'
  if (ArrayBuffer.isView(object)) return '; return Array.from(bytes) or a base64 string'
  if (object instanceof Error) return '; throw it to fail the node, or return { message: error.message }'
  return ''
}
