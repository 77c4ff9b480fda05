/**
 * The main-thread side of Func workers: one tinypool per run (a run resource), the channels
 * that carry each worker's output, and the mapping of every way a task can end to an outcome.
 */
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import { Tinypool } from 'tinypool'
import type { WtflowConfig } from '../../config/config.js'
import { NodeFailure, serializeError } from '../../errors/errors.js'
import type { SerializedError } from '../../interfaces.js'
import type { ExecutionContext, ExecutionOutcome } from '../../model/executable.js'
import {
  CHUNK_STDERR,
  CHUNK_STDOUT,
  EXIT,
  LEFTOVER,
  MEMORY,
  NEED_CHANNEL,
  RETIRED,
  chunkLength,
  type ArtifactArg,
  type ChannelMessage,
  type Leftover,
  type TaskMessage,
  type TaskResponse,
  type WorkerSettings,
} from './protocol.js'

/**
 * The outcome of a task stopped by its attempt's timeout or cancellation: the engine, which knows
 * why it stopped the attempt, decides its status and error.
 */
const STOPPED: ExecutionOutcome = Object.freeze({ exitCode: null, signal: null, error: null })

/** How many ended tasks a leftover's warning can still name the node of. */
const ENDED_KEPT = 256

/** The key of the pool among a run's resources. */
export const FUNC_POOL_RESOURCE = 'wtflow:func-pool'

/**
 * The compiled worker entry. Under vitest this module runs from `src/func/pool.ts`, and a
 * worker thread cannot load TypeScript before tsx is registered in it: use the built file.
 */
export function workerEntryPath(): string {
  const url = import.meta.url.endsWith('.ts')
    ? new URL('../../../dist/executables/func/worker.js', import.meta.url)
    : new URL('./worker.js', import.meta.url)
  return fileURLToPath(url)
}

/** What one call asks of the pool. */
export interface FuncTask {
  moduleUrl: string
  exportName: string
  args: unknown[]
  artifacts: ArtifactArg[] | undefined
}

export interface FuncPoolOptions {
  /** Worker threads at most (default: `availableParallelism()`). */
  threads?: number
  /** Heap limit of each worker thread, in MB. */
  workerMemoryMb: number
}

/**
 * A task in flight: its bookkeeping, and the smallest thing tinypool accepts as its abort signal
 * (cheaper than an AbortController per task; the run's stop and an `EXIT` message both abort it,
 * which terminates and replaces its worker).
 */
class Task {
  /** Output chunks delivered to the node so far. */
  received = 0
  exitCode: number | null = null
  aborted = false
  /** Bytes its worker had in use when it went over the memory limit counting Buffers (see worker.ts). */
  memoryUsed: number | null = null
  /** Its worker had a leftover and did not run it: send it again once that worker is replaced. */
  retired = false
  /** Settles the outcome of a task still waiting for a worker (null once it has one). */
  waiting: ((outcome: Promise<ExecutionOutcome>) => void) | null = null
  /** Removes the stop listener from the attempt's context. */
  unlisten: (() => void) | null = null
  #listener: (() => void) | null = null

  constructor(
    readonly id: number,
    readonly ctx: ExecutionContext,
    readonly message: TaskMessage,
  ) {}

  addEventListener(_name: 'abort', listener: () => void): void {
    this.#listener = listener
  }

  removeEventListener(): void {
    this.#listener = null
  }

  abort(): void {
    if (this.aborted) return
    this.aborted = true
    if (this.waiting !== null) {
      // Stopped before any worker took it: it never ran.
      this.waiting(Promise.resolve(STOPPED))
      this.waiting = null
      return
    }
    const listener = this.#listener
    this.#listener = null
    listener?.()
  }
}

/**
 * Runs exported functions in worker threads and turns what happens into `ExecutionOutcome`s.
 * Create one per run (`ctx.resources.get(FUNC_POOL_RESOURCE, …)`); `close()` stops every worker.
 */
export class FuncPool {
  readonly threads: number
  readonly workerMemoryMb: number
  readonly #pool: Tinypool
  readonly #tasks = new Map<number, Task>()
  /** Main-thread ends of the channels adopted by live workers. */
  readonly #channels = new Set<MessagePort>()
  /** The flow counter of each channel (see OUTPUT_WINDOW). */
  readonly #flows = new WeakMap<MessagePort, BigInt64Array>()
  #offered = 0
  /** A worker answered NEED_CHANNEL and has not adopted one since: offer with every task. */
  #channelWanted = false
  #nextId = 1
  #closed = false
  /** Node paths of the tasks that ended last, by task id (see ENDED_KEPT). */
  readonly #ended = new Map<number, string>()
  /** Tasks handed to tinypool: at most `threads`, so that each one is running, not queued there. */
  #busy = 0
  /** Tasks waiting for a worker, first come first served (the engine starts nodes in tree order). */
  readonly #queue: Task[] = []
  #queueHead = 0

  constructor(options: FuncPoolOptions) {
    this.threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()))
    this.workerMemoryMb = options.workerMemoryMb
    const filename = workerEntryPath()
    if (!existsSync(filename)) {
      throw new Error(`the Func worker entry ${filename} is missing: build @wtflow/core first (npm run build -w @wtflow/core)`)
    }
    this.#pool = new Tinypool({
      filename,
      minThreads: this.threads,
      maxThreads: this.threads,
      resourceLimits: { maxOldGenerationSizeMb: this.workerMemoryMb },
      workerData: { memoryLimit: this.workerMemoryMb * 2 ** 20 } satisfies WorkerSettings,
      // An idle worker keeps its event loop turning (with atomics it would block waiting for the
      // next task): what a finished function left behind runs, and is reported, at once.
      useAtomics: false,
    })
    // Errors outside a task (a worker that died idle) only mean the worker is replaced.
    this.#pool.on('error', () => {})
  }

  /** A pool sized for a run: `min(max_parallel, max_funcs)` threads. */
  static forConfig(config: WtflowConfig): FuncPool {
    return new FuncPool({
      threads: Math.min(config.maxParallel, config.maxFuncs),
      workerMemoryMb: config.workerMemoryMb,
    })
  }

  /**
   * Runs one task; never rejects. A chain of small steps rather than one `async` function: this
   * is on the path of every Func, and compiling one large hot function shows in a run of small
   * Funcs (bench/README.md, "Why the hot paths look the way they do").
   */
  run(task: FuncTask, ctx: ExecutionContext): Promise<ExecutionOutcome> {
    if (this.#closed) return Promise.resolve(closedOutcome())
    if (ctx.stopReason !== null) return Promise.resolve(STOPPED)
    const id = this.#nextId++
    // Only what is needed crosses the thread: every field costs on both sides.
    const message: TaskMessage = { id, moduleUrl: task.moduleUrl, exportName: task.exportName, args: task.args }
    if (task.artifacts !== undefined) message.artifacts = task.artifacts
    if (hasKeys(ctx.env)) message.env = { ...ctx.env }
    const state = new Task(id, ctx, message)
    state.unlisten = ctx.onStop(() => state.abort())
    if (this.#busy < this.threads) return this.#start(state)
    // Every worker is busy: it waits, and its timeout does not run meanwhile (the engine arms it
    // when `started()` says a worker has taken it).
    return new Promise<ExecutionOutcome>(resolve => {
      state.waiting = resolve as (outcome: Promise<ExecutionOutcome>) => void
      this.#queue.push(state)
    })
  }

  /** Hands a task to a free worker (tinypool has one idle, or booting after a replacement). */
  #start(state: Task): Promise<ExecutionOutcome> {
    this.#busy++
    state.ctx.started?.()
    this.#tasks.set(state.id, state)
    const channels = this.#channels.size + this.#offered
    // Offer a channel while some live worker may lack one (`threads` is an array built per call).
    const offer = this.#channelWanted || (channels < this.threads && channels < this.#pool.threads.length) ? this.#offer(state.message) : null
    return this.#send(state, offer)
  }

  /** A worker is free: the first task still waiting takes it. */
  #next(): void {
    while (this.#queueHead < this.#queue.length) {
      const state = this.#queue[this.#queueHead]!
      this.#queue[this.#queueHead++] = undefined as never
      if (this.#queueHead === this.#queue.length) {
        this.#queue.length = 0
        this.#queueHead = 0
      }
      const waiting = state.waiting
      if (waiting === null) continue // stopped while it waited
      state.waiting = null
      waiting(this.#closed ? Promise.resolve(closedOutcome()) : this.#start(state))
      return
    }
  }

  #send(state: Task, offer: MessagePort | null): Promise<ExecutionOutcome> {
    const options = { signal: state, transferList: offer === null ? undefined : [state.message.channel!] }
    return (this.#pool.run(state.message, options) as Promise<TaskResponse | typeof NEED_CHANNEL>).then(
      response => (response === NEED_CHANNEL ? this.#resend(state, offer) : this.#answered(state, response, offer)),
      error => this.#lost(state, error, offer),
    )
  }

  /**
   * The task reached a worker without a channel (one that replaced a worker that died): send it
   * again with one. Tasks already queued may bounce too, at most once per worker.
   */
  #resend(state: Task, offer: MessagePort | null): Promise<ExecutionOutcome> {
    this.#channelWanted = true
    if (offer !== null) this.#settleOffer(offer, false)
    return this.#send(state, this.#offer(state.message))
  }

  #answered(state: Task, response: TaskResponse, offer: MessagePort | null): ExecutionOutcome {
    if (offer !== null) this.#settleOffer(offer, response.adopted)
    this.#drain(state, response.chunks)
    this.#end(state)
    return outcomeOf(response, state)
  }

  /** The task did not answer: it was stopped, its worker died, or its message could not be sent. */
  #lost(state: Task, error: unknown, offer: MessagePort | null): ExecutionOutcome | Promise<ExecutionOutcome> {
    if (offer !== null) {
      // The worker that had the offer is gone (or never got it): nothing more comes on it.
      this.#offered--
      this.#drainPort(offer)
      offer.close()
    }
    if (state.retired && !this.#closed && state.ctx.stopReason === null) {
      // It never ran: stopping it replaced the worker that had a leftover. Again, on another.
      state.retired = false
      state.aborted = false
      return this.#send(state, this.#offer(state.message))
    }
    this.#drain(state, Infinity)
    this.#end(state)
    return this.#failure(error, state)
  }

  #end(state: Task): void {
    state.unlisten?.()
    this.#tasks.delete(state.id)
    // A leftover of its function may still throw: its warning names the node.
    this.#ended.set(state.id, state.ctx.nodePath)
    if (this.#ended.size > ENDED_KEPT) this.#ended.delete(this.#ended.keys().next().value!)
    this.#busy--
    this.#next()
  }

  /** Stops every worker (tasks still running end as failed) and releases the channels. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    while (this.#queueHead < this.#queue.length) this.#next()
    await this.#pool.destroy()
    for (const port of this.#channels) port.close()
    this.#channels.clear()
  }

  #offer(message: TaskMessage): MessagePort {
    const { port1, port2 } = new MessageChannel()
    const flow = new BigInt64Array(new SharedArrayBuffer(8))
    this.#flows.set(port1, flow)
    port1.on('message', (data: ChannelMessage) => this.#dispatch(data, flow))
    // Outcomes never wait on channel events (they drain), so channels never keep the process alive.
    port1.unref()
    message.channel = port2
    message.flow = flow.buffer as SharedArrayBuffer
    this.#offered++
    return port1
  }

  #settleOffer(port: MessagePort, adopted: boolean): void {
    this.#offered--
    if (adopted) {
      this.#channelWanted = false
      this.#channels.add(port)
      port.once('close', () => this.#channels.delete(port))
    } else {
      port.close()
    }
  }

  #dispatch([id, kind, data]: ChannelMessage, flow: BigInt64Array): void {
    if (kind === LEFTOVER) return this.#warnLeftover(data)
    const state = this.#tasks.get(id)
    if (state === undefined) {
      // Output of a task that has ended (its worker was stopped) has no node to go to.
      if (kind === CHUNK_STDOUT || kind === CHUNK_STDERR) written(flow, chunkLength(data as string | Uint8Array))
      return
    }
    if (kind === RETIRED) {
      state.retired = true
      state.abort()
      return
    }
    if (kind === EXIT) {
      state.exitCode = data
      state.abort()
      return
    }
    if (kind === MEMORY) {
      state.memoryUsed = data
      state.abort()
      return
    }
    state.received++
    const length = chunkLength(data)
    // Counted as written once the sink has taken it: the worker waits while too much is not.
    ;(kind === CHUNK_STDOUT ? state.ctx.stdout : state.ctx.stderr).write(data, () => written(flow, length))
  }

  /** Code a finished function left behind threw: no node gets it, the user is told. */
  #warnLeftover({ task, func, error }: Leftover): void {
    const nodePath = task === null ? undefined : (this.#tasks.get(task)?.ctx.nodePath ?? this.#ended.get(task))
    const who =
      task === null
        ? `a Func that ran earlier in this worker thread (the last one was ${func ?? 'unknown'})`
        : `the Func ${func ?? 'unknown'}${nodePath === undefined ? '' : ` of node "${nodePath}"`}`
    const text = error.stack !== undefined && error.stack.includes(error.message) ? error.stack : `${error.name}: ${error.message}`
    process.emitWarning(
      `${who} left code behind (a timer, a callback or a promise) that threw after the Func had returned: ${text}\n` +
        'No other Func got the error; the worker thread is replaced. Clear timers and await promises before a Func returns.',
      { code: 'WTFLOW_FUNC_LEFTOVER' },
    )
  }

  /**
   * Delivers the chunks of `state` still queued on the channels. A worker posts each chunk
   * before it answers, so they are all in a queue by now: `receiveMessageOnPort` takes them
   * synchronously, in order, without waiting for the event loop.
   */
  #drain(state: Task, expected: number): void {
    if (state.received >= expected) return
    for (const port of this.#channels) {
      this.#drainPort(port)
      if (state.received >= expected) return
    }
  }

  #drainPort(port: MessagePort): void {
    const flow = this.#flows.get(port)!
    for (let entry = receiveMessageOnPort(port); entry !== undefined; entry = receiveMessageOnPort(port)) {
      this.#dispatch(entry.message as ChannelMessage, flow)
    }
  }

  #failure(error: unknown, state: Task): ExecutionOutcome {
    const { ctx } = state
    if (state.exitCode !== null) {
      const code = state.exitCode
      return reported(
        state,
        new NodeFailure(
          `the function called process.exit(${code}); a Func must return (or throw) instead of exiting. Its worker thread was stopped and replaced.`,
          { exitCode: code, code: 'WTFLOW_FUNC_EXIT' },
        ),
        code,
      )
    }
    if (ctx.stopReason !== null) return STOPPED
    const code = (error as { code?: unknown } | null)?.code
    if (state.memoryUsed !== null || code === 'ERR_WORKER_OUT_OF_MEMORY') {
      const what =
        state.memoryUsed === null
          ? `the heap limit of ${this.workerMemoryMb} MB`
          : `its memory limit of ${this.workerMemoryMb} MB (JS heap plus Buffers: ${Math.round(state.memoryUsed / 2 ** 20)} MB in use)`
      return reported(
        state,
        new NodeFailure(
          `the function ran out of memory: its worker thread reached ${what}. ` +
            'Raise [run] worker_memory_mb (WTFLOW_WORKER_MEMORY_MB) or make the function use less memory.',
          { code: 'WTFLOW_FUNC_OUT_OF_MEMORY' },
          { cause: error },
        ),
      )
    }
    if ((error as { name?: unknown } | null)?.name === 'DataCloneError') {
      return reported(
        state,
        new NodeFailure(
          `the arguments cannot be sent to a worker thread: ${(error as Error).message}. Pass structured-clone-able values (no functions, class instances lose their methods).`,
          { code: 'WTFLOW_FUNC_ARGS' },
          { cause: error },
        ),
      )
    }
    if (this.#closed) {
      return failed(new NodeFailure('the Func was stopped: the run ended while it was running', { code: 'WTFLOW_FUNC_POOL_CLOSED' }, { cause: error }))
    }
    // An uncaught exception in the thread (a timer the function set threw, an unhandled rejection…).
    const serialized = serializeError(error)
    writeError(ctx, serialized)
    return { exitCode: 1, signal: null, error: serialized }
  }
}

/** The main thread has written `length` more of a channel's output: a waiting worker may go on. */
function written(flow: BigInt64Array, length: number): void {
  Atomics.add(flow, 0, BigInt(length))
  Atomics.notify(flow, 0)
}

function hasKeys(record: Readonly<Record<string, string>>): boolean {
  for (const _ in record) return true
  return false
}

function outcomeOf(response: TaskResponse, state: Task): ExecutionOutcome {
  if (response.error === undefined) return { exitCode: 0, signal: null, error: null, resultJson: response.resultJson }
  writeError(state.ctx, response.error)
  return { exitCode: 1, signal: null, error: response.error }
}

function reported(state: Task, error: NodeFailure, exitCode: number | null = null): ExecutionOutcome {
  const serialized = serializeError(error)
  state.ctx.stderr.write(`${error.name}: ${error.message}\n`)
  return { exitCode, signal: null, error: serialized }
}

function closedOutcome(): ExecutionOutcome {
  return failed(new NodeFailure('the Func worker pool is closed: the run has ended', { code: 'WTFLOW_FUNC_POOL_CLOSED' }))
}

function failed(error: NodeFailure): ExecutionOutcome {
  return { exitCode: null, signal: null, error: serializeError(error) }
}

/** A failing function's error goes to the node's stderr too, stack included. */
function writeError(ctx: ExecutionContext, error: SerializedError): void {
  const text = error.stack !== undefined && error.stack.includes(error.message) ? error.stack : `${error.name}: ${error.message}${error.stack ? `\n${error.stack}` : ''}`
  ctx.stderr.write(text.endsWith('\n') ? text : `${text}\n`)
}
