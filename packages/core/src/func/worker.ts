/**
 * Entry of a Func worker thread (run by tinypool from `dist/func/worker.js`).
 *
 * Imports the module that exports the function (registering tsx first for TypeScript), calls
 * the function, and reports output and outcome (see protocol.ts). Everything the function
 * writes through `process.stdout.write` / `process.stderr.write` (and so `console.*`) while it
 * runs is posted to the main thread tagged with the task id; a worker runs one task at a time,
 * so the task that is running is the one that wrote. Writes made while no task runs (module top
 * level, a timer left behind by an earlier function) go to the thread's own stdout/stderr.
 */
import type { MessagePort } from 'node:worker_threads'
import { serializeError } from '../errors.js'
import { FileArtifact } from './artifact.js'
import {
  CHUNK_STDERR,
  CHUNK_STDOUT,
  EXIT,
  NEED_CHANNEL,
  type ChannelMessage,
  type TaskMessage,
  type TaskResponse,
} from './protocol.js'
import { ResultNotSerializableError, toResultJson } from './result-json.js'

interface RunningTask {
  readonly id: number
  chunks: number
}

let channel: MessagePort | null = null
let running: RunningTask | null = null

function post(message: ChannelMessage): void {
  channel!.postMessage(message)
}

// ----- output capture --------------------------------------------------------------------------

type Write = NodeJS.WriteStream['write']

function captureWrites(stream: NodeJS.WriteStream, kind: typeof CHUNK_STDOUT | typeof CHUNK_STDERR): void {
  const original = stream.write
  stream.write = function write(this: NodeJS.WriteStream, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    const task = running
    if (task === null || channel === null) return (original as (...args: unknown[]) => boolean).apply(this, [chunk, encoding, callback])
    let data: string | Uint8Array
    if (typeof chunk === 'string') {
      data = typeof encoding === 'string' && !/^utf-?8$/i.test(encoding) ? Buffer.from(chunk, encoding as BufferEncoding) : chunk
    } else if (chunk instanceof Uint8Array) {
      // Structured clone copies a view's whole ArrayBuffer (8 KiB for pooled Buffers): send just the bytes.
      data = chunk.byteLength === chunk.buffer.byteLength ? chunk : Uint8Array.prototype.slice.call(chunk)
    } else {
      return (original as (...args: unknown[]) => boolean).apply(this, [chunk, encoding, callback])
    }
    post([task.id, kind, data])
    task.chunks++
    const done = typeof encoding === 'function' ? encoding : callback
    if (typeof done === 'function') process.nextTick(done as () => void)
    return true
  } as Write
}

captureWrites(process.stdout, CHUNK_STDOUT)
captureWrites(process.stderr, CHUNK_STDERR)

// ----- process.exit ----------------------------------------------------------------------------

const exitThread = process.exit.bind(process)
process.exit = function exit(code?: number | string | null): never {
  const exitCode = toExitCode(code ?? process.exitCode)
  if (running !== null && channel !== null) {
    // Posting is synchronous: the main thread gets this even though the thread stops right here.
    post([running.id, EXIT, exitCode])
    exitThread(exitCode)
  }
  // No function is running (a timer left behind called it): fail loudly; the uncaught error
  // makes the pool replace this worker.
  throw new Error(`process.exit(${exitCode}) was called in a Func worker while no function was running`)
} as typeof process.exit

function toExitCode(code: number | string | null | undefined): number {
  const number = typeof code === 'string' ? Number.parseInt(code, 10) : code
  return typeof number === 'number' && Number.isInteger(number) ? number : 0
}

// ----- loading ---------------------------------------------------------------------------------

const modules = new Map<string, Promise<Record<string, unknown>>>()
let tsxRegistered = false

async function importModule(moduleUrl: string): Promise<Record<string, unknown>> {
  if (!tsxRegistered && /\.(c|m)?tsx?$/i.test(new URL(moduleUrl).pathname) && !tsxInExecArgv()) {
    const { register } = await import('tsx/esm/api')
    register()
    tsxRegistered = true
  }
  return (await import(moduleUrl)) as Record<string, unknown>
}

/** Workers inherit `execArgv`: under `tsx` (or `node --import tsx`) TypeScript already loads. */
function tsxInExecArgv(): boolean {
  return process.execArgv.some(arg => /(^|[\\/])tsx([\\/]|$)/.test(arg) || arg === 'tsx' || arg === 'tsx/esm')
}

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
  return fn as (...args: unknown[]) => unknown
}

function describeModule(moduleUrl: string): string {
  return moduleUrl.startsWith('file:') ? new URL(moduleUrl).pathname : moduleUrl
}

// ----- running ---------------------------------------------------------------------------------

function materializeArgs(task: TaskMessage): unknown[] {
  if (task.artifacts === undefined) return task.args
  const args = task.args.slice()
  for (const artifact of task.artifacts) args[artifact.index] = new FileArtifact(artifact.name, artifact.path, artifact.size)
  return args
}

function applyEnv(env: Record<string, string> | undefined): () => void {
  if (env === undefined) return () => {}
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

/** The tinypool task handler. */
export default async function runFuncTask(task: TaskMessage): Promise<TaskResponse | typeof NEED_CHANNEL> {
  let adopted = false
  if (task.channel !== undefined) {
    if (channel === null) {
      channel = task.channel
      adopted = true
    } else {
      task.channel.close()
    }
  } else if (channel === null) {
    return NEED_CHANNEL
  }

  let fn: (...args: unknown[]) => unknown
  try {
    fn = await loadFunction(task.moduleUrl, task.exportName)
  } catch (error) {
    return { chunks: 0, adopted, error: serializeError(error), failure: 'load' }
  }

  const current: RunningTask = { id: task.id, chunks: 0 }
  const restoreEnv = applyEnv(task.env)
  running = current
  let value: unknown
  try {
    value = await fn(...materializeArgs(task))
  } catch (error) {
    return { chunks: current.chunks, adopted, error: serializeError(error), failure: 'throw' }
  } finally {
    running = null
    restoreEnv()
  }
  try {
    return { chunks: current.chunks, adopted, resultJson: toResultJson(value) }
  } catch (error) {
    if (!(error instanceof ResultNotSerializableError)) throw error
    return { chunks: current.chunks, adopted, error: serializeError(error), failure: 'result' }
  }
}
