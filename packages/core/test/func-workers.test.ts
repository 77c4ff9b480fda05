/**
 * The life of Func workers under a real engine: waiting for a free worker, what a finished
 * function leaves behind, output volume, memory, process isolation.
 */
import { createHash } from 'node:crypto'
import { existsSync, statSync, writeFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
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

/** Process warnings emitted while `during` runs. */
async function warningsDuring<T>(during: (warnings: Error[]) => Promise<T>): Promise<{ value: T; warnings: Error[] }> {
  const warnings: Error[] = []
  const listener = (warning: Error): void => void warnings.push(warning)
  process.on('warning', listener)
  try {
    return { value: await during(warnings), warnings }
  } finally {
    process.off('warning', listener)
  }
}

async function result(run: RunResult, nodePath: string): Promise<unknown> {
  const info = node(run, nodePath).artifacts.find(a => a.name === 'result')
  if (info === undefined) throw new Error(`no result on ${nodePath}`)
  return JSON.parse(await readFile(info.path, 'utf8'))
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

describe('what a finished Func leaves behind', () => {
  it.each([
    ['a plain function', false],
    ['an async function', true],
  ])('reports an error thrown by a timer %s left behind, never fails the next Func with it, and replaces the worker', async (_, async) => {
    const { value: run, warnings } = await warningsDuring(() => engine({ maxFuncs: 1 }).run(steps.leftoverThenOthers(async)))
    expect(run.status).toBe('succeeded')
    expect(node(run, 'root/next')).toMatchObject({ status: 'succeeded', error: null })
    const leftBy = await result(run, 'root/left')
    expect(await result(run, 'root/next')).toBe(leftBy)
    expect(await result(run, 'root/after')).not.toBe(leftBy)
    const leftovers = warnings.filter(w => (w as Error & { code?: string }).code === 'WTFLOW_FUNC_LEFTOVER')
    expect(leftovers).toHaveLength(1)
    expect(leftovers[0]!.message).toMatch(
      new RegExp(`^the Func ${async ? 'leaveThrowBehindAsync' : 'leaveThrowBehind'} of node "root/left" left code behind \\(a timer, a callback or a promise\\) that threw after the Func had returned: Error: thrown by a timer left behind\n\\s+at `),
    )
    expect(leftovers[0]!.message).toContain('No other Func got the error; the worker thread is replaced.')
  })

  it('reports a leftover that throws while no Func runs, and the next Func runs on another worker', async () => {
    const release = path.join(dir, 'release')
    const { value: run, warnings } = await warningsDuring(async warnings => {
      const running = engine({ maxFuncs: 1 }).run(steps.leftoverWhileIdle(release))
      try {
        await vi.waitFor(() => expect(warnings.map(w => w.message).join('\n')).toContain('thrown by a timer left behind'), { timeout: 20_000, interval: 10 })
      } finally {
        writeFileSync(release, '')
      }
      return running
    })
    expect(run.status).toBe('succeeded')
    expect(await result(run, 'root/after')).not.toBe(await result(run, 'root/left'))
    expect(warnings.filter(w => (w as Error & { code?: string }).code === 'WTFLOW_FUNC_LEFTOVER')).toHaveLength(1)
  })
})

describe('Func output', () => {
  it('streams 200 MiB of console.error to its artifact in bounded memory', async () => {
    /** The peak RSS of this process (the engine's) while a run of `lines` lines goes. */
    async function peakRss(lines: number): Promise<{ run: RunResult; peak: number }> {
      let peak = process.memoryUsage.rss()
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5)
      try {
        const run = await engine().run(steps.flooding(lines))
        return { run, peak: Math.max(peak, process.memoryUsage.rss()) }
      } finally {
        clearInterval(sampler)
      }
    }
    // The same run printing 1 MiB: what the pool's worker threads take by themselves.
    const { peak: base } = await peakRss(1024)
    const lines = 200 * 1024
    const { run, peak } = await peakRss(lines)
    expect(run.status).toBe('succeeded')
    const stderr = node(run, 'flood').artifacts.find(a => a.name === 'stderr')!
    const expected = createHash('sha256')
    const line = `${'x'.repeat(1023)}\n`
    for (let i = 0; i < lines; i++) expected.update(line)
    expect(statSync(stderr.path).size).toBe(lines * 1024)
    expect(stderr.sha256).toBe(expected.digest('hex'))
    // Without flow control the chunks queued up in this process faster than they were written:
    // +210 MB over the 1 MiB run here (and 1.08 GB for 1 GiB). With it, +60 MB (garbage, not a queue).
    expect(peak).toBeLessThan(300 * 2 ** 20)
    expect(peak - base).toBeLessThan(128 * 2 ** 20)
  }, 120_000)
})

describe('Func memory', () => {
  it('fails a Func that hoards Buffers at the worker memory limit, and keeps the process small', async () => {
    let peak = process.memoryUsage.rss()
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5)
    let run: RunResult
    try {
      run = await engine({ workerMemoryMb: 128, maxFuncs: 1 }).run(steps.hoardThenRecover())
    } finally {
      clearInterval(sampler)
    }
    const hoard = node(run, 'root/hoard')
    expect(hoard.status).toBe('failed')
    expect(hoard.error).toMatchObject({ name: 'NodeFailure', code: 'WTFLOW_FUNC_OUT_OF_MEMORY' })
    expect(hoard.error!.message).toMatch(
      /^the function ran out of memory: its worker thread reached its memory limit of 128 MB \(JS heap plus Buffers: \d+ MB in use\)\. Raise \[run\] worker_memory_mb \(WTFLOW_WORKER_MEMORY_MB\) or make the function use less memory\.$/,
    )
    expect(node(run, 'root/after').status).toBe('succeeded')
    // Unbounded, it grows until the kernel's OOM killer ends this process.
    expect(peak).toBeLessThan(512 * 2 ** 20)
  }, 60_000)
})
