/**
 * Types flow through the tree: `new Func(fn, { args })` checks `args` against `fn`'s parameters,
 * and `node.result` carries `fn`'s awaited return type. The `@ts-expect-error` lines are checked
 * by the TypeScript compiler (`vitest --typecheck`, and `tsc` in npm run lint); a line that stops
 * being an error fails the type check.
 */
import { describe, expectTypeOf, it } from 'vitest'
import { Command, Func, Node, type Artifact, type ArtifactRef, type Executable, type FuncIsolation, type FuncOptions, type ResultRef } from '../src/index.js'

function emit(): void {}
function count(_log: Artifact): number {
  return 0
}
async function fetchUser(_id: number): Promise<{ id: number; name: string }> {
  return { id: 1, name: 'a' }
}
function greet(_name: string, _punctuation?: string): string {
  return ''
}
function pair(_a: number, _b: string): [number, string] {
  return [1, 'b']
}
function takesUser(_user: { id: number; name: string }): boolean {
  return true
}
function optionalOnly(_verbose?: boolean): 'done' {
  return 'done'
}
function anyArtifactOrText(_input: Artifact | string): void {}

const producer = new Node({ name: 'producer', executable: new Command('echo hi') })
const counted = new Node({ name: 'count', executable: new Func(count, { args: [producer.stdout] }) })
const user = new Node({ name: 'user', executable: new Func(fetchUser, { args: [7] }) })
const greeted = new Node({ name: 'greet', executable: new Func(greet, { args: ['x'] }) })

describe('Func types', () => {
  it('gives node.result the awaited return type of the function', () => {
    expectTypeOf(new Func(count, { args: [producer.stdout] })).toEqualTypeOf<Func<typeof count>>()
    expectTypeOf(new Func(count, { args: [producer.stdout] })).toMatchTypeOf<Executable<number>>()
    expectTypeOf(counted).toEqualTypeOf<Node<number>>()
    expectTypeOf(counted.result).toEqualTypeOf<ResultRef<number>>()
    expectTypeOf(user.result).toEqualTypeOf<ResultRef<{ id: number; name: string }>>()
    expectTypeOf(greeted.result).toEqualTypeOf<ResultRef<string>>()
    expectTypeOf(new Node({ name: 'e', executable: new Func(emit) }).result).toEqualTypeOf<ResultRef<void>>()
    expectTypeOf(new Node({ name: 'p', executable: new Func(pair, { args: [1, 'b'] }) }).result).toEqualTypeOf<ResultRef<[number, string]>>()
    expectTypeOf(producer.stdout).toEqualTypeOf<ArtifactRef>()
  })

  it('accepts values, results of the right type, and artifacts where an Artifact is expected', () => {
    new Func(count, { args: [producer.stderr] })
    new Func(count, { args: [producer.artifact('report.xml')] })
    new Func(count, { args: [counted.artifact('result')] })
    new Func(takesUser, { args: [user.result] })
    new Func(takesUser, { args: [{ id: 1, name: 'literal' }] })
    new Func(greet, { args: [greeted.result] })
    new Func(greet, { args: ['x', '!'] })
    new Func(greet, { args: ['x', greeted.result] })
    new Func(anyArtifactOrText, { args: [producer.stdout] })
    new Func(anyArtifactOrText, { args: ['text'] })
    new Func(fetchUser, { args: [counted.result] })
  })

  it('makes args required exactly when the function has required parameters', () => {
    new Func(emit)
    new Func(emit, {})
    new Func(emit, { args: [] })
    new Func(optionalOnly)
    new Func(optionalOnly, { args: [true] })
    new Func(emit, { module: import.meta.url })
    new Func(emit, { module: new URL(import.meta.url), exportName: 'emit' })
    expectTypeOf<FuncOptions<typeof count>>().toHaveProperty('args')
    expectTypeOf<FuncOptions<typeof emit>['args']>().toEqualTypeOf<[] | undefined>()

    // @ts-expect-error count needs an argument
    new Func(count)
    // @ts-expect-error count needs an argument
    new Func(count, {})
    // @ts-expect-error count needs an argument
    new Func(count, { module: import.meta.url })
    // @ts-expect-error too few arguments
    new Func(count, { args: [] })
    // @ts-expect-error too few arguments
    new Func(pair, { args: [1] })
  })

  it('rejects arguments of the wrong type', () => {
    // @ts-expect-error a string where an Artifact is expected
    new Func(count, { args: ['not an artifact'] })
    // @ts-expect-error a ResultRef<number> where an Artifact is expected
    new Func(count, { args: [counted.result] })
    // @ts-expect-error an artifact where a number is expected
    new Func(fetchUser, { args: [producer.stdout] })
    // @ts-expect-error a result of the wrong type (string where number is expected)
    new Func(fetchUser, { args: [greeted.result] })
    // @ts-expect-error a result of the wrong type (number where a user is expected)
    new Func(takesUser, { args: [counted.result] })
    // @ts-expect-error a value of the wrong type
    new Func(fetchUser, { args: ['7'] })
    // @ts-expect-error too many arguments
    new Func(emit, { args: [1] })
    // @ts-expect-error too many arguments
    new Func(greet, { args: ['a', 'b', 'c'] })
    // @ts-expect-error wrong order
    new Func(pair, { args: ['b', 1] })
    // @ts-expect-error module must be a string or URL (at run time: a TypeError, see validation.test.ts)
    void (() => new Func(emit, { module: 42 }))
  })

  it('types the result of a node built from a Func with a generic function', () => {
    function identity<T>(value: T): T {
      return value
    }
    const node = new Node({ name: 'id', executable: new Func(identity, { args: [1] }) })
    expectTypeOf(node.result).toEqualTypeOf<ResultRef<unknown>>()
  })

  it("takes isolation: 'thread' or 'process', with args checked the same", () => {
    const isolated = new Node({ name: 'isolated', executable: new Func(fetchUser, { args: [7], isolation: 'process' }) })
    expectTypeOf(isolated).toEqualTypeOf<Node<{ id: number; name: string }>>()
    new Func(emit, { isolation: 'thread' })
    new Func(count, { args: [producer.stdout], isolation: 'process' })
    expectTypeOf<FuncOptions<typeof emit>['isolation']>().toEqualTypeOf<FuncIsolation | undefined>()
    // @ts-expect-error: only 'thread' and 'process'
    new Func(emit, { isolation: 'fork' })
    // @ts-expect-error: args are still checked under process isolation
    new Func(fetchUser, { args: ['7'], isolation: 'process' })
  })
})
