/**
 * Messages between the engine's thread and a Func worker (types and constants only: the worker
 * entry imports this file and must stay light).
 *
 * One task at a time runs in a worker. Its output travels on the worker's *channel*, a
 * MessagePort the worker adopts once and keeps for its life: a new MessageChannel per task
 * (created, transferred, closed) costs about as much as the rest of a no-op task. The main
 * thread offers a channel (in a task's transferList) while some worker may lack one; a worker
 * that has none and gets a task without one answers NEED_CHANNEL, and the task is sent again
 * with an offer (this only happens after a worker was replaced).
 *
 * The response to a task says how many chunks it posted. A worker posts every chunk before it
 * answers, so they are all queued by then: the main thread drains what has not arrived with
 * `receiveMessageOnPort` and hands the engine all of a node's output before its outcome. When a
 * worker dies instead (timeout, exit, heap), what it posted before is drained the same way.
 */
import type { MessagePort } from 'node:worker_threads'
import type { SerializedError } from '../../interfaces.js'

/** Where an `Artifact` argument goes, and the file it stands for. */
export interface ArtifactArg {
  index: number
  name: string
  path: string
  size: number
}

/** main → worker: run one function. */
export interface TaskMessage {
  /** Unique per pool; tags the chunks this task's output produces. */
  id: number
  /** URL of the module that exports the function. */
  moduleUrl: string
  exportName: string
  /** The arguments, refs resolved; artifact slots are placeholders replaced by `FileArtifact`s. */
  args: unknown[]
  artifacts?: ArtifactArg[]
  /** Environment overlay applied to `process.env` while the function runs. */
  env?: Record<string, string>
  /** A channel offered to a worker that may not have one yet (transferred). */
  channel?: MessagePort
  /** The channel's flow counter (see `OUTPUT_WINDOW`), offered with it. */
  flow?: SharedArrayBuffer
}

/**
 * Output a worker may have posted on its channel that the main thread has not yet written, in
 * units of chunk length (string length, or bytes): past it, a writing function waits. The
 * channel's *flow* is a `BigInt64Array` over a SharedArrayBuffer: the main thread adds the length
 * of each chunk once its node's sink has taken it, and notifies. Without it a function printing
 * faster than the artifact is written queues its whole output in memory.
 */
export const OUTPUT_WINDOW = 4 * 1024 * 1024

/** The length a chunk counts for in the flow (both sides must agree). */
export function chunkLength(data: string | Uint8Array): number {
  return typeof data === 'string' ? data.length : data.byteLength
}

/** worker → main: the task needs a channel to report output (the worker has none yet). */
export const NEED_CHANNEL = 0

/** worker → main: how the function ended. */
export interface TaskResponse {
  /** Chunk messages this task posted on the worker's channel. */
  chunks: number
  /** True when the worker adopted the channel this task offered. */
  adopted: boolean
  /** The return value as JSON; absent when it returned `undefined` or failed. */
  resultJson?: string | undefined
  /** Why it failed: it could not be loaded, it threw, or its return value cannot be stored. */
  error?: SerializedError | undefined
}

/** Kinds of channel message. */
export const CHUNK_STDOUT = 1
export const CHUNK_STDERR = 2
/** The function called `process.exit(code)`: the worker thread is ending. */
export const EXIT = 3

/**
 * Code a function left behind (a timer, a promise) threw after it had settled: no node gets the
 * error; the main thread reports it as a warning, and the worker runs no other function.
 */
export const LEFTOVER = 4
/**
 * The worker had a leftover (see `LEFTOVER`) and did not run this task: the main thread stops
 * the task, which replaces the worker, and sends the task again.
 */
export const RETIRED = 5

/**
 * The function's worker went over its memory limit counting Buffers (data: the bytes in use):
 * the worker thread is ending, like `EXIT`.
 */
export const MEMORY = 6

/** What the main thread tells each worker thread when it starts it (tinypool's `workerData`). */
export interface WorkerSettings {
  /** The worker's memory limit in bytes: JS heap plus Buffers and other external memory. */
  memoryLimit: number
}

/** What a `LEFTOVER` message says: the function that left the code behind (if known), and the error. */
export interface Leftover {
  /** The task of the function that left it, or null when it cannot be told. */
  task: number | null
  /** `exportName` of that function, or of the last one this worker ran when it cannot be told. */
  func: string | null
  error: SerializedError
}

/** A channel message: `[task id, kind, data]` (data: a chunk, or the exit code). */
export type ChannelMessage =
  | [id: number, kind: typeof CHUNK_STDOUT | typeof CHUNK_STDERR, data: string | Uint8Array]
  | [id: number, kind: typeof EXIT, code: number]
  | [id: number, kind: typeof LEFTOVER, leftover: Leftover]
  | [id: number, kind: typeof RETIRED, unused: null]
  | [id: number, kind: typeof MEMORY, bytes: number]
