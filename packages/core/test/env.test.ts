/** The Env executable: variables of the node's environment into a result. */
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { Command, Engine, Env, Node, ValidationError, Workflow, type NodeResult } from '../src/index.js'
import { testConfig } from './helpers.js'

const VARS = ['WTFLOW_TEST_ENV_A', 'WTFLOW_TEST_ENV_B', 'WTFLOW_TEST_ENV_SECRET']
afterEach(() => {
  for (const name of VARS) delete process.env[name]
})

function resultOf(node: NodeResult): unknown {
  return JSON.parse(readFileSync(node.artifacts.find(a => a.name === 'result')!.path, 'utf8'))
}

describe('Env', () => {
  it("reads the node's env over the process's into a result; one not set is null", async () => {
    process.env.WTFLOW_TEST_ENV_A = 'from-process'
    process.env.WTFLOW_TEST_ENV_B = 'b-process'
    const read = new Node({ name: 'read', env: { WTFLOW_TEST_ENV_A: 'from-node' }, executable: new Env({ names: ['WTFLOW_TEST_ENV_A', 'WTFLOW_TEST_ENV_B', 'WTFLOW_TEST_ENV_UNSET'] }) })
    const use = new Node({ name: 'use', executable: new Command(['echo', read.result]) })
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    const result = await engine.run(new Workflow({ name: 'env', root: new Node({ name: 'root', children: [read, use] }) }))
    expect(result.status).toBe('succeeded')
    expect(result.nodes[1]).toMatchObject({ kind: 'env', display: 'env WTFLOW_TEST_ENV_A, WTFLOW_TEST_ENV_B, WTFLOW_TEST_ENV_UNSET' })
    expect(resultOf(result.nodes[1]!)).toEqual({ WTFLOW_TEST_ENV_A: 'from-node', WTFLOW_TEST_ENV_B: 'b-process', WTFLOW_TEST_ENV_UNSET: null })
    const echoed = readFileSync(result.nodes[2]!.artifacts.find(a => a.name === 'stdout')!.path, 'utf8')
    expect(JSON.parse(echoed)).toEqual({ WTFLOW_TEST_ENV_A: 'from-node', WTFLOW_TEST_ENV_B: 'b-process', WTFLOW_TEST_ENV_UNSET: null })
  })

  it('a missing required variable fails the node, naming it', async () => {
    process.env.WTFLOW_TEST_ENV_A = 'set'
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    const one = await engine.run(new Workflow({ name: 'env', root: new Node({ name: 'read', executable: new Env({ names: ['WTFLOW_TEST_ENV_A', 'WTFLOW_TEST_ENV_B'], required: true }) }) }))
    expect(one.nodes[0]).toMatchObject({
      status: 'failed',
      error: { code: 'WTFLOW_ENV_MISSING', message: "required environment variable WTFLOW_TEST_ENV_B is not set; set it in the environment or in the node's env" },
    })
    const listed = await engine.run(new Workflow({ name: 'env', root: new Node({ name: 'read', executable: new Env({ names: ['WTFLOW_TEST_ENV_B', 'WTFLOW_TEST_ENV_UNSET', 'WTFLOW_TEST_ENV_A'], required: ['WTFLOW_TEST_ENV_B', 'WTFLOW_TEST_ENV_UNSET'] }) }) }))
    expect(listed.nodes[0]!.error!.message).toBe("required environment variables WTFLOW_TEST_ENV_B, WTFLOW_TEST_ENV_UNSET are not set; set them in the environment or in the node's env")
  })

  it('masks the values of configured secrets in its result', async () => {
    process.env.WTFLOW_TEST_ENV_SECRET = 'the-password-123'
    const engine = new Engine({ config: testConfig({ secrets: { PW: 'the-password-123' } }), handleSignals: false })
    const result = await engine.run(new Workflow({ name: 'env', root: new Node({ name: 'read', executable: new Env({ names: ['WTFLOW_TEST_ENV_SECRET'] }) }) }))
    expect(resultOf(result.nodes[0]!)).toEqual({ WTFLOW_TEST_ENV_SECRET: '***' })
  })

  it.each([
    [{ names: [] }, 'read: Env: names must be a non-empty array of variable names, got []'],
    [{ names: ['A=B'] }, 'read: Env: names must be a non-empty array of variable names, got ["A=B"]'],
    [{ names: ['A'], required: ['B'] }, 'read: Env: required names "B", which names does not list; add them to names'],
  ])('rejects %j before anything runs', async (options, message) => {
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    const error = await engine.run(new Workflow({ name: 'env', root: new Node({ name: 'read', executable: new Env(options as never) }) })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as Error).message).toBe(message)
  })
})
