/**
 * Funcs with `isolation: 'process'`: each attempt runs in a child process of its own (forked
 * from process-entry.js), so that `process.chdir`, `process.exit`, native modules that are not
 * thread-safe, a crash or what the function leaves behind touch nothing else. One pool per run
 * (a run resource) caps how many run at once (`min(max_parallel, max_funcs)`); a Func's timeout
 * and duration count from when its process is started.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { WtflowConfig } from '../../config/config.js'
import { NodeFailure, serializeError } from '../../errors/errors.js'
import type { SerializedError } from '../../interfaces.js'
import type { ExecutionContext, ExecutionOutcome } from '../../model/executable.js'
import type { FuncTask } from './pool.js'
import type { ProcessResponse, ProcessTask } from './process-protocol.js'

/** The key of the pool among a run's resources. */
export const FUNC_PROCESS_POOL_RESOURCE = 'wtflow:func-process-pool'

/** How long after its process exited a Func's pipes may stay open (held by something it started). */
const PIPE_GRACE_MS = 2000

/** How often a running child's RSS is compared with its limit. */
const RSS_CHECK_MS = 100

const STOPPED: ExecutionOutcome = Object.freeze({ exitCode: null, signal: null, error: null })

/** The compiled entry (under vitest this module runs from src: use the built file, like pool.ts). */
export function processEntryPath(): string {
  const url = import.meta.url.endsWith('.ts')
    ? new URL('../../../dist/executables/func/process-entry.js', import.meta.url)
    : new URL('./process-entry.js', import.meta.url)
  return fileURLToPath(url)
}

/** Runs functions in child processes, at most `processes` at once. */
export class FuncProcessPool {
  readonly processes: number
  readonly memoryMb: number
  readonly #entry: string
  readonly #waiting: Array<() => void> = []
  readonly #running = new Set<ChildProcess>()
  #busy = 0
  #closed = false

  constructor(options: { processes: number; memoryMb: number }) {
    this.processes = Math.max(1, Math.floor(options.processes))
    this.memoryMb = options.memoryMb
    this.#entry = processEntryPath()
    if (!existsSync(this.#entry)) throw new Error(`the Func process entry ${this.#entry} is missing: build @wtflow/core first (npm run build -w @wtflow/core)`)
  }

  static forConfig(config: WtflowConfig): FuncProcessPool {
    return new FuncProcessPool({ processes: Math.min(config.maxParallel, config.maxFuncs), memoryMb: config.workerMemoryMb })
  }

  /** Runs one task in a process of its own; never rejects. */
  async run(task: FuncTask, ctx: ExecutionContext): Promise<ExecutionOutcome> {
    if (this.#closed) return closedOutcome()
    if (this.#busy >= this.processes) {
      // Its timeout does not run while it waits (the engine arms it on `started()`).
      let unlisten = (): void => {}
      await new Promise<void>(resolve => {
        const go = (): void => resolve()
        this.#waiting.push(go)
        unlisten = ctx.onStop(() => {
          const index = this.#waiting.indexOf(go)
          if (index !== -1) this.#waiting.splice(index, 1)
          resolve()
        })
      })
      unlisten()
      if (ctx.stopReason !== null) return STOPPED
      if (this.#closed) return closedOutcome()
    }
    if (ctx.stopReason !== null) return STOPPED
    this.#busy++
    try {
      ctx.started?.()
      return await this.#runInChild(task, ctx)
    } finally {
      this.#busy--
      this.#waiting.shift()?.()
    }
  }

  #runInChild(task: FuncTask, ctx: ExecutionContext): Promise<ExecutionOutcome> {
    return new Promise<ExecutionOutcome>(resolve => {
      let child: ChildProcess
      try {
        child = fork(this.#entry, [], {
          cwd: ctx.cwd,
          env: { ...process.env, ...ctx.env },
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          // Its own process group: a timeout stops whatever it started too.
          detached: true,
          execArgv: [`--max-old-space-size=${this.memoryMb}`],
          serialization: 'advanced',
        })
      } catch (error) {
        resolve(failedToStart(ctx, error))
        return
      }
      this.#running.add(child)
      let response: ProcessResponse | null = null
      let overMemory: number | null = null
      let spawnError: unknown = null
      let open = 3 // exit, stdout end, stderr end
      const kill = (): void => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          child.kill('SIGKILL')
        }
      }
      const unlisten = ctx.onStop(kill)
      const watchdog = setInterval(() => {
        const rss = rssOf(child.pid)
        if (rss !== null && rss > this.memoryMb * 2 ** 20) {
          overMemory = rss
          kill()
        }
      }, RSS_CHECK_MS)
      watchdog.unref()
      let exitCode: number | null = null
      let signal: NodeJS.Signals | null = null
      let grace: NodeJS.Timeout | undefined
      const closeOne = (): void => {
        if (--open > 0) return
        clearInterval(watchdog)
        clearTimeout(grace)
        unlisten()
        this.#running.delete(child)
        resolve(this.#outcome(ctx, response, exitCode, signal, overMemory, spawnError))
      }
      pipeTo(child.stdout!, () => ctx.stdout, closeOne)
      pipeTo(child.stderr!, () => ctx.stderr, closeOne)
      child.on('message', (message: ProcessResponse) => (response = message))
      child.on('error', error => (spawnError = error))
      child.once('exit', (code, sig) => {
        exitCode = code
        signal = sig
        // What it started and left running in its group is a leftover: it ends with the function.
        kill()
        // Something that left the group (setsid) may still hold the pipes: stop reading them.
        grace = setTimeout(() => {
          child.stdout!.destroy()
          child.stderr!.destroy()
        }, PIPE_GRACE_MS)
        closeOne()
      })
      const message: ProcessTask = { moduleUrl: task.moduleUrl, exportName: task.exportName, args: task.args, artifacts: task.artifacts }
      child.send(message, error => {
        if (error !== null) spawnError ??= error
      })
    })
  }

  #outcome(
    ctx: ExecutionContext,
    response: ProcessResponse | null,
    exitCode: number | null,
    signal: NodeJS.Signals | null,
    overMemory: number | null,
    spawnError: unknown,
  ): ExecutionOutcome {
    if (overMemory !== null) {
      return reported(
        ctx,
        new NodeFailure(
          `the function ran out of memory: its process reached the memory limit of ${this.memoryMb} MB (RSS ${Math.round(overMemory / 2 ** 20)} MB) and was killed. ` +
            'Raise [run] worker_memory_mb (WTFLOW_WORKER_MEMORY_MB) or make the function use less memory.',
          { code: 'WTFLOW_FUNC_OUT_OF_MEMORY' },
        ),
      )
    }
    if (ctx.stopReason !== null) return STOPPED
    if (response !== null && exitCode === 0) {
      if (response.error === undefined) return { exitCode: 0, signal: null, error: null, resultJson: response.resultJson }
      writeError(ctx, response.error)
      return { exitCode: 1, signal: null, error: response.error }
    }
    if (spawnError !== null && exitCode === null && signal === null) return failedToStart(ctx, spawnError)
    if (exitCode !== null) {
      return reported(
        ctx,
        new NodeFailure(
          `the function's process exited with code ${exitCode} before the function returned (process.exit(${exitCode}), or a crash); a Func must return (or throw) instead of exiting`,
          { exitCode, code: 'WTFLOW_FUNC_EXIT' },
        ),
        exitCode,
      )
    }
    return reported(ctx, new NodeFailure(`the function's process was killed by ${signal ?? 'a signal'} before the function returned`, { signal, code: 'WTFLOW_FUNC_EXIT' }), null, signal)
  }

  /** Kills every running child and fails what still waits. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const go of this.#waiting.splice(0)) go()
    const running = [...this.#running].filter(child => child.exitCode === null && child.signalCode === null)
    const exits = running.map(child => new Promise(resolve => {
      child.once('exit', resolve)
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {
        child.kill('SIGKILL')
      }
    }))
    await Promise.all(exits)
  }
}

/** A child's output goes to the node's sink as it comes, with backpressure; the sink is made on first output. */
function pipeTo(source: Readable, sink: () => NodeJS.WritableStream, done: () => void): void {
  source.on('data', (chunk: Buffer) => {
    const target = sink()
    if (!target.write(chunk)) {
      source.pause()
      target.once('drain', () => source.resume())
    }
  })
  source.on('error', () => {})
  source.once('close', done)
}

/** Resident set size of a process in bytes (Linux `/proc`), or null where it cannot be read. */
function rssOf(pid: number | undefined): number | null {
  if (pid === undefined) return null
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1])
    return Number.isFinite(pages) ? pages * 4096 : null
  } catch {
    return null
  }
}

function closedOutcome(): ExecutionOutcome {
  return { exitCode: null, signal: null, error: serializeError(new NodeFailure('the Func process pool is closed: the run has ended', { code: 'WTFLOW_FUNC_POOL_CLOSED' })) }
}

function failedToStart(ctx: ExecutionContext, error: unknown): ExecutionOutcome {
  return reported(ctx, new NodeFailure(`could not start the function's process: ${(error as Error)?.message ?? String(error)}`, { code: 'WTFLOW_FUNC_EXIT' }, { cause: error }))
}

function reported(ctx: ExecutionContext, error: NodeFailure, exitCode: number | null = null, signal: string | null = null): ExecutionOutcome {
  ctx.stderr.write(`${error.name}: ${error.message}\n`)
  return { exitCode, signal, error: serializeError(error) }
}

function writeError(ctx: ExecutionContext, error: SerializedError): void {
  const text = error.stack !== undefined && error.stack.includes(error.message) ? error.stack : `${error.name}: ${error.message}${error.stack ? `\n${error.stack}` : ''}`
  ctx.stderr.write(text.endsWith('\n') ? text : `${text}\n`)
}
