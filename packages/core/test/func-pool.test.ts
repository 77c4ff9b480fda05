/**
 * Func.execute with a hand-built ExecutionContext: what the engine sees of a Func, without the
 * engine around it (exact output bytes, pool sharing, closing a pool under a running task).
 */
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FUNC_POOL_RESOURCE, type FuncPool } from '../src/executables/func/pool.js'
import {
  Func,
  loadConfig,
  ValidationError,
  type ExecutionContext,
  type RunResources,
  type StopReason,
} from '../src/index.js'
import * as steps from './fixtures/func/pool-steps.js'
import * as workerOnly from './fixtures/func/worker-only-failure.js'

const stepsModule = new URL('./fixtures/func/pool-steps.ts', import.meta.url)

class Collector extends Writable {
  readonly chunks: Buffer[] = []
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk)
    callback()
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }
}

class Resources implements RunResources {
  readonly map = new Map<string, { close(): Promise<void> }>()
  get<T extends { close(): Promise<void> }>(key: string, create: () => T): T {
    let resource = this.map.get(key)
    if (resource === undefined) this.map.set(key, (resource = create()))
    return resource as T
  }
  async close(): Promise<void> {
    await Promise.all([...this.map.values()].map(resource => resource.close()))
    this.map.clear()
  }
}

let resources = new Resources()
afterEach(async () => {
  await resources.close()
  resources = new Resources()
})

interface TestContext extends ExecutionContext {
  readonly stdout: Collector
  readonly stderr: Collector
  readonly controller: AbortController
}

function context(options: { maxParallel?: number; env?: Record<string, string> } = {}): TestContext {
  const config = { ...loadConfig({ env: {} }), maxParallel: options.maxParallel ?? 2 }
  const controller = new AbortController()
  return {
    runId: 'run',
    nodePath: 'node',
    attempt: 1,
    nodeDir: '/nonexistent',
    cwd: process.cwd(),
    env: options.env ?? {},
    inputs: {},
    signal: controller.signal,
    get stopReason() {
      return controller.signal.aborted ? (controller.signal.reason as StopReason) : null
    },
    onStop(listener) {
      const signal = controller.signal
      const onAbort = () => listener(signal.reason as StopReason)
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
      return () => signal.removeEventListener('abort', onAbort)
    },
    controller,
    stdout: new Collector(),
    stderr: new Collector(),
    directStdout: () => null,
    config,
    resources,
    resolve: () => Promise.reject(new Error('no references in these tests')),
  }
}

describe('Func.execute', () => {
  it('shares one pool per run, sized min(maxParallel, availableParallelism)', async () => {
    const ctx = context({ maxParallel: 1 })
    const outcomes = await Promise.all([1, 2, 3].map(n => new Func(steps.add, { module: stepsModule, args: [n, n] }).execute(ctx)))
    expect(outcomes).toEqual([2, 4, 6].map(n => ({ exitCode: 0, signal: null, error: null, resultJson: String(n) })))
    expect([...resources.map.keys()]).toEqual([FUNC_POOL_RESOURCE])
    expect((resources.map.get(FUNC_POOL_RESOURCE) as FuncPool).threads).toBe(1)
  })

  it('hands over all output, in order, before the outcome', async () => {
    const ctx = context()
    const size = 3 * 1024 * 1024
    const lines = 5000
    const outcome = await new Func(steps.bigOutput, { module: stepsModule, args: [size, lines] }).execute(ctx)
    expect(outcome).toEqual({ exitCode: 0, signal: null, error: null, resultJson: String(size) })
    const expected = 'x'.repeat(size) + '\n' + Array.from({ length: lines }, (_, i) => `${i}\n`).join('')
    expect(ctx.stdout.text.length).toBe(expected.length)
    expect(ctx.stdout.text === expected).toBe(true)
    expect(Buffer.concat(ctx.stderr.chunks).equals(Buffer.alloc(size, 'y'))).toBe(true)
  })

  it('does not give a node the output of a timer an earlier function left behind', async () => {
    const first = context({ maxParallel: 1 })
    expect(await new Func(steps.leaveTimerBehind, { module: stepsModule }).execute(first)).toMatchObject({ exitCode: 0, resultJson: '"returned"' })
    const second = context({ maxParallel: 1 })
    expect(await new Func(steps.waitForLateOutput, { module: stepsModule }).execute(second)).toMatchObject({ exitCode: 0, resultJson: 'true' })
    expect(first.stdout.text).toBe('')
    expect(second.stdout.text).toBe('second function starts\nsecond function ends\n')
  })

  it('gives a node the output of the callbacks of the promise its plain function returns', async () => {
    // The thread's first function: the first to return a promise turns task tracking on.
    for (const id of [1, 2]) {
      const ctx = context({ maxParallel: 1 })
      expect(await new Func(steps.printLater, { module: stepsModule, args: [id] }).execute(ctx)).toMatchObject({ exitCode: 0, resultJson: String(id) })
      expect(ctx.stdout.text).toBe(`later ${id}\n`)
    }
  })

  it('does not give a plain function returning a promise the output of a timer left behind once tracking is on', async () => {
    expect(await new Func(steps.waitForLateOutput, { module: stepsModule }).execute(context({ maxParallel: 1 }))).toMatchObject({ exitCode: 0 })
    const first = context({ maxParallel: 1 })
    expect(await new Func(steps.leaveTimerBehind, { module: stepsModule }).execute(first)).toMatchObject({ exitCode: 0 })
    const second = context({ maxParallel: 1 })
    expect(await new Func(steps.waitForLateOutputPlainly, { module: stepsModule }).execute(second)).toMatchObject({ exitCode: 0, resultJson: 'true' })
    expect(first.stdout.text).toBe('')
    expect(second.stdout.text).toBe('second function starts\nsecond function ends\n')
  })

  it('ignores process.exit() from a timer an earlier function left behind', async () => {
    const first = context({ maxParallel: 1 })
    expect(await new Func(steps.leaveExitBehind, { module: stepsModule }).execute(first)).toMatchObject({ exitCode: 0 })
    const second = context({ maxParallel: 1 })
    expect(await new Func(steps.waitForLateOutput, { module: stepsModule }).execute(second)).toEqual({ exitCode: 0, signal: null, error: null, resultJson: 'true' })
    expect(second.stdout.text).toBe('second function starts\nsecond function ends\n')
  })

  it('fails the node, with what can be said, when the function throws a value JSON cannot hold', async () => {
    const ctx = context()
    expect(await new Func(steps.throwBigInt, { module: stepsModule }).execute(ctx)).toEqual({ exitCode: 1, signal: null, error: { name: 'Error', message: '10' } })
    expect(ctx.stderr.text).toBe('Error: 10\n')
  })

  it('fails the node when reading the return value throws', async () => {
    const outcome = await new Func(steps.returnThrowingGetter, { module: stepsModule }).execute(context())
    expect(outcome).toMatchObject({ exitCode: 1, error: { name: 'Error', message: 'the getter threw' } })
  })

  it('keeps every node its own output while workers are stopped and replaced', async () => {
    const lines = 30
    const slots = new Limiter(6)
    const jobs = Array.from({ length: 40 }, async (_, i) => {
      const release = await slots.acquire()
      try {
        const ctx = context()
        if (i % 10 === 3) {
          const running = new Func(steps.spin, { module: stepsModule }).execute(ctx)
          await until(() => ctx.stdout.text === 'spin\n')
          ctx.controller.abort('timeout')
          expect(await running).toEqual({ exitCode: null, signal: null, error: null })
        } else {
          expect(await new Func(steps.say, { module: stepsModule, args: [i, lines] }).execute(ctx)).toEqual({ exitCode: 0, signal: null, error: null, resultJson: String(i) })
          expect(ctx.stdout.text).toBe(Array.from({ length: lines }, (_, line) => `task ${i} line ${line}\n`).join(''))
        }
      } finally {
        release()
      }
    })
    await Promise.all(jobs)
  })

  it('returns at once when the signal is already aborted', async () => {
    const ctx = context()
    ctx.controller.abort('cancel')
    const outcome = await new Func(steps.add, { module: stepsModule, args: [1, 2] }).execute(ctx)
    // The engine, which stopped the attempt, decides its status and error (cancelled, WTFLOW_CANCELLED).
    expect(outcome).toEqual({ exitCode: null, signal: null, error: null })
  })

  it('stops a function that never settles when its signal aborts', async () => {
    const ctx = context()
    const running = new Func(steps.waitForever, { module: stepsModule }).execute(ctx)
    await until(() => ctx.stdout.text === 'waiting\n')
    ctx.controller.abort('timeout')
    expect(await running).toEqual({ exitCode: null, signal: null, error: null })
    // The pool still works.
    expect(await new Func(steps.add, { module: stepsModule, args: [1, 2] }).execute(context())).toMatchObject({ exitCode: 0, resultJson: '3' })
  })

  it('ends a running function when the run closes the pool', async () => {
    const ctx = context()
    const running = new Func(steps.waitForever, { module: stepsModule }).execute(ctx)
    await until(() => ctx.stdout.text === 'waiting\n')
    await resources.close()
    expect(await running).toMatchObject({ exitCode: null, error: { code: 'WTFLOW_FUNC_POOL_CLOSED' } })
  })

  it('fails the node when the module does not load in the worker thread', async () => {
    const ctx = context()
    const func = new Func(workerOnly.step, { module: new URL('./fixtures/func/worker-only-failure.ts', import.meta.url) })
    await func.prepare()
    const outcome = await func.execute(ctx)
    expect(outcome).toMatchObject({ exitCode: 1, error: { name: 'Error', message: 'this module refuses to load in a worker thread' } })
    expect(ctx.stderr.text).toMatch(/^Error: this module refuses to load in a worker thread\n\s+at .*worker-only-failure\.ts/)
  })

  it('applies the env overlay only while the function runs', async () => {
    const read = new Func(steps.readEnv, { module: stepsModule, args: ['WTFLOW_POOL_TEST'] })
    expect(await read.execute(context({ maxParallel: 1, env: { WTFLOW_POOL_TEST: 'set' } }))).toMatchObject({ resultJson: '"set"' })
    expect(await read.execute(context({ maxParallel: 1 }))).toMatchObject({ resultJson: 'null' })
  })
})

describe('Func location', () => {
  function localStep(): number {
    return 1
  }

  it('defaults to the module that calls new Func()', () => {
    expect(new Func(localStep).moduleUrl).toBe(import.meta.url)
    class TracedFunc extends Func<typeof localStep> {}
    expect(new TracedFunc(localStep).moduleUrl).toBe(import.meta.url)
  })

  it('finds the export that is the function, and names it', async () => {
    const func = new Func(steps.add, { module: stepsModule, args: [1, 2] })
    expect(func.describe()).toBe('add')
    expect(new Func(() => 1, { module: stepsModule }).describe()).toBe('anonymous function')
    expect(func.exportName).toBeNull()
    await func.prepare()
    expect(func.exportName).toBe('add')
    expect(func.references()).toEqual([])
  })

  it('is a ValidationError, before anything runs, when the function is not exported', async () => {
    const error = await new Func(localStep).prepare().catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(ValidationError)
    expect(error).toMatchObject({ nodePath: null, code: 'WTFLOW_VALIDATION' })
    expect((error as Error).message).toMatch(/^the function localStep given to new Func\(\) is not exported by \/.*\/test\/func-pool\.test\.ts/)
  })

  it('is a ValidationError when the module cannot be imported', async () => {
    const error = await new Func(localStep, { module: '/nonexistent/steps.ts' }).prepare().catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as Error).message).toMatch(/^cannot import \/nonexistent\/steps\.ts to find the function localStep given to new Func\(\): /)
  })

  it('refuses a module that is neither a URL nor an absolute path', () => {
    expect(() => new Func(localStep, { module: './steps.ts' })).toThrow(
      new TypeError('new Func(localStep): module must be a URL or an absolute path (use import.meta.url), got "./steps.ts"'),
    )
  })

  it('refuses something that is not a function', () => {
    expect(() => new Func('add' as unknown as () => void)).toThrow(new TypeError('new Func() takes a function, got string'))
  })
})

/** At most `size` jobs at once, as the engine's maxParallel does. */
class Limiter {
  #active = 0
  readonly #waiting: Array<() => void> = []
  constructor(readonly size: number) {}
  async acquire(): Promise<() => void> {
    while (this.#active >= this.size) await new Promise<void>(resolve => this.#waiting.push(resolve))
    this.#active++
    return () => {
      this.#active--
      this.#waiting.shift()?.()
    }
  }
}

/** Waits for a condition driven by the worker's output (no fixed sleeps). */
async function until(condition: () => boolean): Promise<void> {
  await vi.waitFor(() => expect(condition()).toBe(true), { timeout: 20_000, interval: 5 })
}
