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
import { Engine, Func, loadConfig, type ConfigOverrides, type NodeResult, type RunResult } from '../src/index.js'
import { isAlive } from './helpers.js'
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
    // max_funcs given for this run only (RunOptions), over the engine's configuration.
    const e = engine({ maxFuncs: 4 })
    let quickEnded = false
    e.on('node:end', ({ node: ended }) => {
      if (ended.path === 'root/quick') quickEnded = true
    })
    const running = e.run(steps.behindLongFunc(started, release, { timeout: 2000 }), { maxFuncs: 1 })
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

describe('waiting for a worker, cancelled', () => {
  it('cancels Funcs still waiting for a worker, without starting them', async () => {
    const started = path.join(dir, 'started')
    const e = engine({ maxFuncs: 1 })
    const starts: string[] = []
    e.on('node:start', ({ path: nodePath }) => starts.push(nodePath))
    const controller = new AbortController()
    const running = e.run(steps.behindLongFunc(started, path.join(dir, 'never'), {}), { signal: controller.signal })
    await vi.waitFor(() => expect(existsSync(started)).toBe(true), { timeout: 20_000, interval: 10 })
    controller.abort()
    const run = await running
    expect(run.status).toBe('cancelled')
    expect(node(run, 'root/long').status).toBe('cancelled')
    expect(node(run, 'root/quick').status).toBe('cancelled')
    expect(starts).not.toContain('root/quick')
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

  it("fails a running Func with its own callbacks' uncaught errors, and goes on", async () => {
    const { value: run, warnings } = await warningsDuring(() => engine({ maxFuncs: 1 }).run(steps.ownErrors()))
    expect(node(run, 'root/timer')).toMatchObject({ status: 'failed', exitCode: 1, error: { name: 'Error', message: 'thrown by its own timer' } })
    expect(node(run, 'root/rejection')).toMatchObject({ status: 'failed', exitCode: 1, error: { name: 'Error', message: 'rejected with no handler' } })
    expect(node(run, 'root/after').status).toBe('succeeded')
    expect(warnings.filter(w => (w as Error & { code?: string }).code === 'WTFLOW_FUNC_LEFTOVER')).toEqual([])
  })

  it('reports a leftover that throws while no Func runs, and the next Func runs on another worker', async () => {
    const release = path.join(dir, 'release')
    const { value: run, warnings } = await warningsDuring(async warnings => {
      // A secret in the error's text is masked in the warning too.
      const running = engine({ maxFuncs: 1, secrets: { WHERE: 'left behind' } }).run(steps.leftoverWhileIdle(release))
      try {
        await vi.waitFor(() => expect(warnings.map(w => w.message).join('\n')).toContain('thrown by a timer ***'), { timeout: 20_000, interval: 10 })
      } finally {
        writeFileSync(release, '')
      }
      return running
    })
    expect(run.status).toBe('succeeded')
    expect(await result(run, 'root/after')).not.toBe(await result(run, 'root/left'))
    const leftovers = warnings.filter(w => (w as Error & { code?: string }).code === 'WTFLOW_FUNC_LEFTOVER')
    expect(leftovers).toHaveLength(1)
    expect(leftovers[0]!.message).not.toContain('left behind')
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

describe('Func memory, the process budget', () => {
  it('stops Funcs in threads when the process goes over its RSS budget (typed arrays), before the OOM killer would', async () => {
    let peak = process.memoryUsage.rss()
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5)
    let run: RunResult
    try {
      run = await engine({ workerMemoryMb: 64, maxFuncs: 1 }).run(steps.hoardTypedThenRecover())
    } finally {
      clearInterval(sampler)
    }
    const hoard = node(run, 'root/hoard')
    expect(hoard).toMatchObject({ status: 'failed', error: { name: 'NodeFailure', code: 'WTFLOW_FUNC_OUT_OF_MEMORY' } })
    expect(hoard.error!.message).toMatch(
      /^the function was stopped: the engine's process went over its memory budget of \d+ MB \(RSS \d+ MB: 1 worker thread\(s\) × run\.worker_memory_mb 64 MB, plus the engine's own\)\. /,
    )
    expect(node(run, 'root/after').status).toBe('succeeded')
    // Budget: the RSS when the pool started + 64 MB + 512 MB; unbounded, the function keeps 2 GiB.
    expect(peak).toBeLessThan(1200 * 2 ** 20)
  }, 60_000)
})

describe("Func with isolation: 'process'", () => {
  it('kills a process over the memory limit (its RSS) and fails its Func', async () => {
    const run = await engine({ workerMemoryMb: 200 }).run(steps.hoardInProcess())
    const hoard = node(run, 'root/hoard')
    expect(hoard).toMatchObject({ status: 'failed', error: { name: 'NodeFailure', code: 'WTFLOW_FUNC_OUT_OF_MEMORY' } })
    expect(hoard.error!.message).toMatch(
      /^the function ran out of memory: its process reached the memory limit of 200 MB \(RSS \d+ MB\) and was killed\. Raise \[run\] worker_memory_mb/,
    )
    expect(node(run, 'root/after').status).toBe('succeeded')
  }, 60_000)

  it('runs in a process of its own: chdir and exit harm nothing, results and references work, a timeout kills it', async () => {
    const pidFile = path.join(dir, 'spin.pid')
    const run = await engine().run(steps.isolated(pidFile))
    expect(node(run, 'root/chdir')).toMatchObject({ status: 'succeeded', error: null })
    const moved = (await result(run, 'root/chdir')) as { cwd: string; pid: number }
    expect(moved.cwd).toBe('/')
    expect(moved.pid).not.toBe(process.pid)
    expect(process.cwd()).not.toBe('/')
    expect(await readFile(node(run, 'root/chdir').artifacts.find(a => a.name === 'stdout')!.path, 'utf8')).toBe('now in /\n')
    // The same function in a worker thread cannot change directory (threads share the process's).
    expect(node(run, 'root/chdir in a thread')).toMatchObject({ status: 'failed', error: { code: 'ERR_WORKER_UNSUPPORTED_OPERATION' } })

    const exited = node(run, 'root/exit')
    expect(exited).toMatchObject({ status: 'failed', exitCode: 3, error: { name: 'NodeFailure', code: 'WTFLOW_FUNC_EXIT' } })
    expect(exited.error!.message).toBe(
      "the function's process exited with code 3 before the function returned (process.exit(3), or a crash); a Func must return (or throw) instead of exiting",
    )

    const spun = node(run, 'root/spin')
    expect(spun).toMatchObject({ status: 'timed_out', error: { code: 'WTFLOW_TIMEOUT' } })
    const pid = Number(await readFile(pidFile, 'utf8'))
    expect(isAlive(pid)).toBe(false)

    expect(await result(run, 'root/sum')).toBe(5)
    expect(await result(run, 'root/describe')).toMatchObject({ sum: 5, log: 'adding 2 and 3\n' })
    expect(await result(run, 'root/cwd')).toBe('/tmp')
    expect(node(run, 'root/thread after').status).toBe('succeeded')
    expect(run.status).toBe('succeeded')
  }, 60_000)

  it('ends what the function left running when it returns (its process group)', async () => {
    const pidFile = path.join(dir, 'sleep.pid')
    const run = await engine().run(steps.processLeftover(pidFile))
    expect(run.status).toBe('succeeded')
    expect(await result(run, 'leave')).toBe('returned')
    const pid = Number(await readFile(pidFile, 'utf8'))
    await vi.waitFor(() => expect(isAlive(pid)).toBe(false), { timeout: 5000, interval: 20 })
  }, 60_000)

  it('counts isolation in the digest and the spec', async () => {
    const plain = new Func(steps.add, { args: [1, 2] })
    const isolated = new Func(steps.add, { args: [1, 2], isolation: 'process' })
    expect(isolated.toSpec()).toEqual({ uses: 'func', with: { ...(plain.toSpec().with as object), isolation: 'process' } })
    expect(isolated.digestExtra()).not.toBe(plain.digestExtra())
    expect(Func.fromSpec({ module: isolated.moduleUrl, export: 'add', args: [1, 2], isolation: 'process' }).isolation).toBe('process')
    expect(() => new Func(steps.add, { args: [1, 2], isolation: 'fork' as 'process' })).toThrow("isolation must be 'thread' or 'process', got \"fork\"")
  })
})
