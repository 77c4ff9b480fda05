import { describe, expect, it } from 'vitest'
import { toResultJson } from '../src/executables/func/result-json.js'
import { ResultNotSerializableError } from '../src/index.js'

function problem(value: unknown): string {
  try {
    toResultJson(value)
  } catch (error) {
    expect(error).toBeInstanceOf(ResultNotSerializableError)
    return (error as Error).message.replace(/\. A Func's return value is stored as JSON: .*$/, '')
  }
  throw new Error('expected toResultJson to throw')
}

describe('toResultJson', () => {
  it('stores nothing for undefined', () => {
    expect(toResultJson(undefined)).toBeUndefined()
  })

  it('encodes JSON values as JSON.stringify does', () => {
    const values: unknown[] = [null, true, 0, -1.5, 'text', '', [], {}, [1, 'a', null, [true]], { a: { b: [{ c: 'd' }] } }, Object.create(null)]
    for (const value of values) expect(toResultJson(value)).toBe(JSON.stringify(value))
  })

  it('leaves out object properties that are undefined, like JSON.stringify', () => {
    expect(toResultJson({ a: 1, b: undefined })).toBe('{"a":1}')
  })

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { x: 1 }
    expect(toResultJson({ a: shared, b: [shared, shared] })).toBe('{"a":{"x":1},"b":[{"x":1},{"x":1}]}')
  })

  it('names the first place JSON cannot carry faithfully', () => {
    class Point {
      x = 1
    }
    const cycle: unknown[] = []
    cycle.push({ back: cycle })
    expect({
      bigint: problem(1n),
      nestedBigint: problem({ stats: { total: 2n } }),
      nan: problem({ ratio: NaN }),
      infinity: problem([Infinity]),
      fn: problem({ callback: () => {} }),
      symbol: problem({ s: Symbol('s') }),
      undefinedItem: problem([1, undefined]),
      // eslint-disable-next-line no-sparse-arrays -- a hole is the point
      hole: problem([1, , 3]),
      map: problem(new Map()),
      set: problem({ tags: new Set(['a']) }),
      date: problem({ when: new Date(0) }),
      bytes: problem(new Uint8Array(2)),
      error: problem(new TypeError('x')),
      instance: problem({ point: new Point() }),
      symbolKey: problem({ [Symbol('k')]: 1 }),
      toJSON: problem({ toJSON: () => 1 }),
      cycle: problem(cycle),
      oddKey: problem({ 'a b': [1n] }),
    }).toEqual({
      bigint: 'result is a BigInt; return it as a string (value.toString())',
      nestedBigint: 'result.stats.total is a BigInt; return it as a string (value.toString())',
      nan: 'result.ratio is NaN, which JSON cannot represent',
      infinity: 'result[0] is Infinity, which JSON cannot represent',
      fn: 'result.callback is a function',
      symbol: 'result.s is a symbol',
      undefinedItem: 'result[1] is undefined, which JSON turns into null inside an array',
      hole: 'result[1] is a hole in a sparse array',
      map: 'result is a Map, not a plain object; return Object.fromEntries(map)',
      set: 'result.tags is a Set, not a plain object; return [...set]',
      date: 'result.when is a Date, not a plain object; return date.toISOString()',
      bytes: 'result is a Uint8Array, not a plain object; return Array.from(bytes) or a base64 string',
      error: 'result is a TypeError, not a plain object; throw it to fail the node, or return { message: error.message }',
      instance: 'result.point is a Point, not a plain object',
      symbolKey: 'result has symbol keys, which JSON drops',
      toJSON: 'result has a toJSON() method; return what it returns instead',
      cycle: 'result[0].back refers back to one of its own parents (a cycle)',
      oddKey: 'result["a b"][0] is a BigInt; return it as a string (value.toString())',
    })
  })

  it('has a stable code and the value path', () => {
    const error = (() => {
      try {
        toResultJson({ a: [1n] })
      } catch (caught) {
        return caught as ResultNotSerializableError
      }
      throw new Error('no error')
    })()
    expect(error.code).toBe('WTFLOW_FUNC_RESULT')
    expect(error.valuePath).toBe('result.a[0]')
    expect(error.message).toBe(
      "result.a[0] is a BigInt; return it as a string (value.toString()). A Func's return value is stored as JSON: return plain objects, arrays, strings, finite numbers, booleans or null (or nothing).",
    )
  })
})
