/**
 * Entry of a Func worker thread (run by tinypool from `dist/executables/func/worker.js`).
 *
 * Imports the module that exports the function (registering tsx first for TypeScript), calls
 * the function, and reports output and outcome (see protocol.ts). Everything the function
 * writes through `process.stdout.write` / `process.stderr.write` (and so `console.*`) while it
 * runs is posted to the main thread tagged with the task id (see `runningTask`). A write made
 * after its function has finished (a timer it left behind) belongs to no node and goes to the
 * thread's own stderr, as does output of a module's top level, which runs outside any task.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { isAsyncFunction } from 'node:util/types'
import { getHeapStatistics } from 'node:v8'
import { workerData, type MessagePort } from 'node:worker_threads'
import type { SerializedError } from '../../interfaces.js'
import type { FileArtifact } from './artifact.js'
import { serializeError } from '../../errors/errors.js'
import {
  CHUNK_STDERR,
  CHUNK_STDOUT,
  EXIT,
  LEFTOVER,
  MEMORY,
  NEED_CHANNEL,
  OUTPUT_WINDOW,
  RETIRED,
  chunkLength,
  type ChannelMessage,
  type TaskMessage,
  type TaskResponse,
  type WorkerSettings,
} from './protocol.js'
import { toResultJson } from './result-json.js'

interface RunningTask {
  readonly id: number
  /** The export that runs: names the function in a leftover's warning. */
  readonly func: string
  chunks: number
  /** The function has settled: what it left behind no longer reaches its node. */
  done: boolean
  /** Fails the pending function with an error its own callbacks threw (set while it is awaited). */
  fail: ((error: unknown) => void) | null
}

let channel: MessagePort | null = null
/** The channel's flow (see OUTPUT_WINDOW) and what this worker has posted on it. */
let flow: BigInt64Array | null = null
let posted = 0

/*
 * Which task a write belongs to. An AsyncLocalStorage tells it for code that runs later (after
 * an `await`, in a timer), but once on it makes every promise of the thread pay for a hook,
 * tinypool's own included (a no-op task costs measurably more). So it is turned on only when a
 * function needs it: the first async function (or plain function that returns a promise) to
 * run in this thread. Until then the task is known while its function runs synchronously.
 */
const tasks = new AsyncLocalStorage<RunningTask>()
let tracking = false
/** The task whose function is running synchronously, not under `tasks`. */
let syncTask: RunningTask | null = null
/**
 * A plain function returned a promise before `tasks` was on: its callbacks carry no task, so
 * writes that carry none go to it while it is pending. (Writes of a timer left behind by an
 * earlier synchronous function could then reach it: the one case `tasks` could not tell apart.)
 */
let untracked: RunningTask | null = null

/** The task whose function is running in the current async context, if it is still running. */
function runningTask(): RunningTask | null {
  if (syncTask !== null) return syncTask
  const task = tracking ? tasks.getStore() : undefined
  if (task !== undefined) return task.done ? null : task
  return untracked
}

function post(message: ChannelMessage): void {
  channel!.postMessage(message)
}

// ----- output capture --------------------------------------------------------------------------

type Write = NodeJS.WriteStream['write']

type RawWrite = (...args: unknown[]) => boolean
const writeStderr = process.stderr.write.bind(process.stderr) as RawWrite

function captureWrites(stream: NodeJS.WriteStream, kind: typeof CHUNK_STDOUT | typeof CHUNK_STDERR): void {
  const original = stream.write as RawWrite
  stream.write = function write(this: NodeJS.WriteStream, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    const task = runningTask()
    if (task === null || channel === null) return writeStderr(chunk, encoding, callback)
    let data: string | Uint8Array
    if (typeof chunk === 'string') {
      data = typeof encoding === 'string' && !/^utf-?8$/i.test(encoding) ? Buffer.from(chunk, encoding as BufferEncoding) : chunk
    } else if (chunk instanceof Uint8Array) {
      // Structured clone copies a view's whole ArrayBuffer (8 KiB for pooled Buffers): send just the bytes.
      data = chunk.byteLength === chunk.buffer.byteLength ? chunk : Uint8Array.prototype.slice.call(chunk)
    } else {
      return original.call(this, chunk, encoding, callback) // Node's own type error
    }
    post([task.id, kind, data])
    task.chunks++
    posted += chunkLength(data)
    if (flow !== null && posted - Number(Atomics.load(flow, 0)) > OUTPUT_WINDOW) awaitFlow(flow)
    const done = typeof encoding === 'function' ? encoding : callback
    if (typeof done === 'function') process.nextTick(done as () => void)
    return true
  } as Write
}

/**
 * Blocks (a write is synchronous) until the main thread has written enough of what this worker
 * posted. In slices, so that a worker being terminated (a timeout) stops between them.
 */
function awaitFlow(counter: BigInt64Array): void {
  for (let written = Atomics.load(counter, 0); posted - Number(written) > OUTPUT_WINDOW; written = Atomics.load(counter, 0)) {
    Atomics.wait(counter, 0, written, 50)
  }
}

captureWrites(process.stdout, CHUNK_STDOUT)
captureWrites(process.stderr, CHUNK_STDERR)

// ----- errors thrown outside any function ----------------------------------------------------------

/**
 * The task whose timer callback is running, for timers set before `tasks` was on (a plain
 * function's `setTimeout`): their callbacks carry no async context of their own.
 */
let timerOwner: RunningTask | null = null
/** The task of the function that ran last in this thread: named when a leftover's owner is unknown. */
let lastTask: RunningTask | null = null
/** A leftover was reported: this worker runs no other function (see RETIRED). */
let retiring = false

function wrapTimer<F extends (callback: (...args: unknown[]) => void, ...rest: unknown[]) => unknown>(original: F): F {
  const wrapped = function (this: unknown, callback: unknown, ...rest: unknown[]): unknown {
    const owner = tracking || typeof callback !== 'function' ? null : runningTask()
    if (owner === null) return original.call(this, callback as never, ...rest)
    const run = callback as (...args: unknown[]) => void
    return original.call(
      this,
      function (this: unknown, ...args: unknown[]) {
        // Not reset in a `finally`: a throw reaches onUncaught, which reads and resets it.
        timerOwner = owner
        run.apply(this, args)
        timerOwner = null
      },
      ...rest,
    )
  }
  // util.promisify(setTimeout) and friends keep working.
  for (const key of Reflect.ownKeys(original)) {
    if (!(key in wrapped)) Object.defineProperty(wrapped, key, Object.getOwnPropertyDescriptor(original, key)!)
  }
  return wrapped as unknown as F
}

globalThis.setTimeout = wrapTimer(globalThis.setTimeout as never)
globalThis.setInterval = wrapTimer(globalThis.setInterval as never)
globalThis.setImmediate = wrapTimer(globalThis.setImmediate as never)

/**
 * An error no function caught: a running function's own callbacks threw (it fails), or code a
 * finished function left behind did (a leftover: reported, and this worker retires). It never
 * reaches a function it does not belong to.
 */
function onUncaught(error: unknown): void {
  const owner = (tracking ? tasks.getStore() : undefined) ?? timerOwner ?? untracked
  timerOwner = null
  if (owner !== null && owner !== undefined && !owner.done && owner.fail !== null) {
    owner.fail(error)
    return
  }
  const known = owner ?? null
  const leftover = { task: known?.id ?? null, func: (known ?? lastTask)?.func ?? null, error: toSerializedError(error) }
  retiring = true
  if (channel !== null) post([known?.id ?? 0, LEFTOVER, leftover])
  else writeStderr(`wtflow: code a Func left behind threw after the Func had finished: ${leftover.error.stack ?? leftover.error.message}\n`)
}

process.on('uncaughtException', onUncaught)
process.on('unhandledRejection', onUncaught)

// ----- memory --------------------------------------------------------------------------------

/*
 * A worker thread's heap is bounded by its resourceLimits, but Buffers live outside the heap:
 * a function that allocates them in a loop would grow the process until the kernel's OOM killer
 * takes wtflow itself. So Buffer allocations are counted, and every BUFFER_CHECK bytes the
 * isolate's heap plus external memory is compared with the limit (v8.getHeapStatistics is
 * per isolate, and costs microseconds). Over it, the thread ends and its task fails, like
 * process.exit. (An ArrayBuffer made directly, `new Uint8Array(n)`, is not counted: see the
 * README; `isolation: 'process'` bounds a Func's whole RSS.)
 */
const BUFFER_CHECK = 8 * 1024 * 1024
const memoryLimit = ((workerData as [unknown, WorkerSettings | undefined] | undefined)?.[1]?.memoryLimit) ?? Infinity
let allocatedSinceCheck = 0

function checkMemory(size: unknown): void {
  if (typeof size !== 'number' || (allocatedSinceCheck += size) < BUFFER_CHECK) return
  allocatedSinceCheck = 0
  const { used_heap_size: heap, external_memory: external } = getHeapStatistics() as ReturnType<typeof getHeapStatistics> & { external_memory: number }
  const used = heap + external + size
  if (used <= memoryLimit) return
  const task = runningTask()
  if (task !== null && channel !== null) {
    post([task.id, MEMORY, used])
    exitThread(1)
  }
  throw new RangeError(`a Func's worker thread is over its memory limit of ${Math.round(memoryLimit / 2 ** 20)} MB (JS heap plus Buffers)`)
}

for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
  const original = Buffer[name] as (size: number, ...rest: unknown[]) => Buffer
  Buffer[name] = function (this: unknown, size: number, ...rest: unknown[]): Buffer {
    checkMemory(size)
    return original.call(this, size, ...rest)
  } as never
}

// ----- process.exit ----------------------------------------------------------------------------

const exitThread = process.exit.bind(process)
process.exit = function exit(code?: number | string | null): never {
  const exitCode = toExitCode(code ?? process.exitCode)
  const task = runningTask()
  if (task !== null && channel !== null) {
    // Posting is synchronous: the main thread gets this even though the thread stops right here.
    post([task.id, EXIT, exitCode])
    exitThread(exitCode)
  }
  // Called by a timer or promise a finished function left behind: its node has ended, and
  // stopping the thread would fail whichever function runs on it now. Say so, and go on.
  writeStderr(`wtflow: process.exit(${exitCode}) called after its Func had finished; ignored\n`)
  return undefined as never
} as typeof process.exit

function toExitCode(code: number | string | null | undefined): number {
  const number = typeof code === 'string' ? Number.parseInt(code, 10) : code
  return typeof number === 'number' && Number.isInteger(number) ? number : 0
}

// ----- loading ---------------------------------------------------------------------------------

const modules = new Map<string, Promise<Record<string, unknown>>>()
let tsxRegistered = false
let tsxCjsRegistered = false

async function importModule(moduleUrl: string): Promise<Record<string, unknown>> {
  // Always our own registration: a `--import tsx` the main thread was started with does not
  // reach worker threads.
  const pathname = new URL(moduleUrl).pathname
  if (!tsxRegistered && /\.(c|m)?tsx?$/i.test(pathname)) {
    const { register } = await import('tsx/esm/api')
    register()
    tsxRegistered = true
  }
  // A .ts or .cts that Node loads as CommonJS (no "type": "module" above it) needs tsx's CommonJS
  // hooks too, as in the main thread (cli/script.ts).
  if (!tsxCjsRegistered && /\.(c)?tsx?$/i.test(pathname)) {
    const { register } = await import('tsx/cjs/api')
    register()
    tsxCjsRegistered = true
  }
  const namespace = (await import(moduleUrl)) as Record<string, unknown>
  // A CommonJS module is imported as { default: module.exports }: its exports are that object's
  // (looked up after the namespace's own).
  const cjs = namespace.default
  return cjs !== null && typeof cjs === 'object' ? { ...(cjs as Record<string, unknown>), ...namespace } : namespace
}

/** Functions already found, by module URL, then export name: the hot path awaits nothing. */
const functions = new Map<string, Map<string, (...args: unknown[]) => unknown>>()

async function loadFunction(moduleUrl: string, exportName: string): Promise<(...args: unknown[]) => unknown> {
  let loading = modules.get(moduleUrl)
  if (loading === undefined) {
    loading = importModule(moduleUrl)
    modules.set(moduleUrl, loading)
    // A failed import is not cached: the next task tries again (Node caches it anyway if it must).
    loading.catch(() => modules.delete(moduleUrl))
  }
  const namespace = await loading
  const fn = namespace[exportName]
  if (typeof fn !== 'function') {
    throw new Error(
      `${describeModule(moduleUrl)} has no exported function "${exportName}" when a worker thread imports it ` +
        `(found ${fn === undefined ? 'nothing' : typeof fn}); make sure the export does not depend on the thread`,
    )
  }
  let exported = functions.get(moduleUrl)
  if (exported === undefined) functions.set(moduleUrl, (exported = new Map()))
  exported.set(exportName, fn as (...args: unknown[]) => unknown)
  return fn as (...args: unknown[]) => unknown
}

function describeModule(moduleUrl: string): string {
  return moduleUrl.startsWith('file:') ? new URL(moduleUrl).pathname : moduleUrl
}

// ----- running ---------------------------------------------------------------------------------

/**
 * `FileArtifact`, loaded with the first task that takes an artifact: the entry is bundled into
 * one file so that a worker starts by loading one module, and artifact.js stays out of it so
 * that a function sees the same class as the rest of @wtflow/core.
 */
let fileArtifact: typeof FileArtifact | undefined

function materializeArgs(task: TaskMessage): unknown[] {
  if (task.artifacts === undefined) return task.args
  const args = task.args.slice()
  for (const artifact of task.artifacts) args[artifact.index] = new fileArtifact!(artifact.name, artifact.path, artifact.size)
  return args
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

function applyEnv(env: Record<string, string>): () => void {
  const previous = new Map<string, string | undefined>()
  for (const [key, value] of Object.entries(env)) {
    previous.set(key, process.env[key])
    process.env[key] = value
  }
  return () => {
    for (const [key, value] of previous) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
}

/**
 * The tinypool task handler. Never throws: a worker must keep its channel and its pool slot.
 * Not `async`: a function that returns at once is answered without a turn of the microtask queue.
 */
export default function runFuncTask(task: TaskMessage): TaskResponse | typeof NEED_CHANNEL | Promise<TaskResponse> {
  let adopted = false
  if (task.channel !== undefined) {
    if (channel === null) {
      channel = task.channel
      flow = new BigInt64Array(task.flow!)
      adopted = true
    } else {
      task.channel.close()
    }
  } else if (channel === null) {
    return NEED_CHANNEL
  }
  if (retiring) {
    // Code left behind here threw: run nothing more. The main thread stops this task, which
    // replaces this worker, and sends it again; until then the task stays pending.
    post([task.id, RETIRED, null])
    return new Promise<never>(() => {})
  }
  const fn = functions.get(task.moduleUrl)?.get(task.exportName)
  if (fn === undefined || (task.artifacts !== undefined && fileArtifact === undefined)) return loadAndCall(task, adopted)
  return callFunction(fn, task, adopted)
}

async function loadAndCall(task: TaskMessage, adopted: boolean): Promise<TaskResponse> {
  let fn: (...args: unknown[]) => unknown
  try {
    fn = functions.get(task.moduleUrl)?.get(task.exportName) ?? (await loadFunction(task.moduleUrl, task.exportName))
    if (task.artifacts !== undefined) fileArtifact ??= (await import('./artifact.js')).FileArtifact
  } catch (error) {
    return { chunks: 0, adopted, error: toSerializedError(error) }
  }
  return callFunction(fn, task, adopted)
}

function callFunction(fn: (...args: unknown[]) => unknown, task: TaskMessage, adopted: boolean): TaskResponse | Promise<TaskResponse> {
  const current: RunningTask = { id: task.id, func: task.exportName, chunks: 0, done: false, fail: null }
  lastTask = current
  const restoreEnv = task.env === undefined ? null : applyEnv(task.env)
  const args = materializeArgs(task)
  tracking ||= isAsyncFunction(fn)
  let value: unknown
  try {
    if (tracking) {
      value = tasks.run(current, fn, ...args)
    } else {
      syncTask = current
      try {
        value = fn(...args)
      } finally {
        syncTask = null
      }
      if (isThenable(value)) {
        // From now on every function runs under `tasks`; this one's callbacks cannot.
        tracking = true
        untracked = current
      }
    }
  } catch (error) {
    settle(current, restoreEnv)
    return { chunks: current.chunks, adopted, error: withoutWorkerFrames(toSerializedError(error)) }
  }
  if (isThenable(value)) return awaitFunction(value, current, restoreEnv, adopted)
  settle(current, restoreEnv)
  return respond(value, current, adopted)
}

async function awaitFunction(promise: PromiseLike<unknown>, current: RunningTask, restoreEnv: (() => void) | null, adopted: boolean): Promise<TaskResponse> {
  let value: unknown
  try {
    // Its own callbacks' uncaught errors fail it too (see onUncaught).
    value = await new Promise((resolve, reject) => {
      current.fail = reject
      promise.then(resolve, reject)
    })
  } catch (error) {
    return { chunks: current.chunks, adopted, error: withoutWorkerFrames(toSerializedError(error)) }
  } finally {
    settle(current, restoreEnv)
  }
  return respond(value, current, adopted)
}

/** The function has settled: what it left behind no longer reaches its node. */
function settle(current: RunningTask, restoreEnv: (() => void) | null): void {
  current.done = true
  current.fail = null
  if (untracked === current) untracked = null
  restoreEnv?.()
}

function respond(value: unknown, current: RunningTask, adopted: boolean): TaskResponse {
  let resultJson: string | undefined
  try {
    resultJson = toResultJson(value)
  } catch (error) {
    // ResultNotSerializableError, or a getter or proxy of the value that threw.
    return { chunks: current.chunks, adopted, error: toSerializedError(error) }
  }
  return resultJson === undefined ? { chunks: current.chunks, adopted } : { chunks: current.chunks, adopted, resultJson }
}

/** The frames below the function (this module, AsyncLocalStorage, tinypool) say nothing to users. */
function withoutWorkerFrames(error: SerializedError): SerializedError {
  if (error.stack === undefined) return error
  const lines = error.stack.split('\n')
  const cut = lines.findIndex(line => /^\s+at (async )?(runFuncTask|loadAndCall|callFunction|awaitFunction)\b|^\s+at AsyncLocalStorage\.run \(node:async_hooks/.test(line))
  return cut === -1 ? error : { ...error, stack: lines.slice(0, cut).join('\n') }
}

/** `serializeError`, for anything a function may throw (`throw 1n` cannot become JSON). */
function toSerializedError(error: unknown): SerializedError {
  try {
    return serializeError(error)
  } catch {
    let message: string
    try {
      message = String(error)
    } catch {
      message = Object.prototype.toString.call(error)
    }
    return { name: 'Error', message }
  }
}
