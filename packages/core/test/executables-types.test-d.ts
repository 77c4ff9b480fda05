/** Compile-time checks: Http, Env and plugin results and options are typed. */
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { Command, Env, Func, Http, Node, definePlugin, type HttpResult, type ResultRef } from '../src/index.js'

describe('types', () => {
  it('an Http node’s result carries the body type given', () => {
    const node = new Node({ name: 'get', executable: new Http<{ items: string[] }>({ url: 'http://127.0.0.1/' }) })
    expectTypeOf(node.result).toEqualTypeOf<ResultRef<HttpResult<{ items: string[] }>>>()
    const count = (response: HttpResult<{ items: string[] }>) => response.status
    new Func(count, { args: [node.result] })
    // @ts-expect-error a result of another type
    new Func((n: number) => n, { args: [node.result] })
  })

  it('an Env node’s result has the names given', () => {
    const node = new Node({ name: 'env', executable: new Env({ names: ['A', 'B'], required: ['A'] }) })
    expectTypeOf(node.result).toEqualTypeOf<ResultRef<{ A: string | null; B: string | null }>>()
    // @ts-expect-error required names must be among names
    new Env({ names: ['A'], required: ['C'] })
  })

  it('a plugin’s create gets what its schema outputs', () => {
    definePlugin({
      name: 'p',
      schema: z.object({ n: z.number().default(1) }),
      create: options => {
        expectTypeOf(options).toEqualTypeOf<{ n: number }>()
        return new Command(['echo', String(options.n)])
      },
    })
  })
})
