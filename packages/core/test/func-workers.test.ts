/**
 * The life of Func workers under a real engine: waiting for a free worker, what a finished
 * function leaves behind, output volume, memory, process isolation.
 */
import { existsSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Engine, loadConfig, type ConfigOverrides, type NodeResult, type RunResult } from '../src/index.js'
import * as steps from './fixtures/func/worker-steps.js'

let dir: string
let artifactsDir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'wtflow-func-workers-'))
  artifactsDir = path.join(dir, 'artifacts')
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

function engine(overrides: ConfigOverrides = {}): Engine {
  const config = loadConfig({ cwd: dir, env: {}, overrides: { artifactsDir, ...overrides } })
  return new Engine({ config, handleSignals: false })
}

function node(result: RunResult, nodePath: string): NodeResult {
  const found = result.nodes.find(n => n.path === nodePath)
  if (found === undefined) throw new Error(`no node ${nodePath} in ${result.nodes.map(n => n.path).join(', ')}`)
  return found
}

describe('waiting for a worker', () => {
  it('reads [run] max_funcs (WTFLOW_MAX_FUNCS), default the number of CPUs', async () => {
    const { availableParallelism } = await import('node:os')
    expect(loadConfig({ cwd: dir, env: {} }).maxFuncs).toBe(availableParallelism())
    expect(loadConfig({ cwd: dir, env: { WTFLOW_MAX_FUNCS: '3' } }).maxFuncs).toBe(3)
    expect(() => loadConfig({ cwd: dir, env: { WTFLOW_MAX_FUNCS: '0' } })).toThrow('run.max_funcs')
  })

  it("does not count the wait for a worker in a Func's timeout or duration", async () => {
    const started = path.join(dir, 'started')
    const release = path.join(dir, 'release')
    const e = engine({ maxFuncs: 1 })
    let quickEnded = false
    e.on('node:end', ({ node: ended }) => {
      if (ended.path === 'root/quick') quickEnded = true
    })
    const running = e.run(steps.behindLongFunc(started, release, { timeout: 2000 }))
    // `long` holds the only worker past quick's timeout (or until quick has wrongly timed out).
    await vi.waitFor(() => expect(existsSync(started)).toBe(true), { timeout: 20_000, interval: 10 })
    const heldSince = Date.now()
    await vi.waitFor(() => expect(quickEnded || Date.now() - heldSince > 2500).toBe(true), { timeout: 20_000, interval: 20 })
    const releasedAt = Date.now()
    writeFileSync(release, '')
    const result = await running
    expect(node(result, 'root/long').status).toBe('succeeded')
    const quick = node(result, 'root/quick')
    expect(quick).toMatchObject({ status: 'succeeded', error: null })
    expect(quick.startedAt!.getTime()).toBeGreaterThanOrEqual(releasedAt)
    expect(quick.attempts[0]!.startedAt.getTime()).toBeGreaterThanOrEqual(releasedAt)
  })
})
