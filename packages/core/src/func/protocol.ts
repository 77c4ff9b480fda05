/**
 * Messages between the engine's thread and a Func worker (types and constants only: the worker
 * entry imports this file and must stay light).
 *
 * One task at a time runs in a worker. Its output travels on the worker's *channel*, a
 * MessagePort the worker adopts once (offered in a task by the main thread) and keeps for its
 * life, instead of a new MessageChannel per task (which would triple the cost of a small task).
 * The response to a task says how many chunks the task posted; since a worker posts every chunk
 * before it answers, the main thread can drain what has not arrived yet with
 * `receiveMessageOnPort` and so hand the engine all of a node's output before its outcome.
 */
import type { MessagePort } from 'node:worker_threads'
import type { SerializedError } from '../interfaces.js'

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
  artifacts: ArtifactArg[] | undefined
  /** Environment overlay applied to `process.env` while the function runs. */
  env: Record<string, string> | undefined
  /** A channel offered to a worker that may not have one yet (transferred). */
  channel: MessagePort | undefined
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
  error?: SerializedError | undefined
  /** `throw`: the function threw; `result`: its return value cannot be stored; `load`: it could not be loaded. */
  failure?: 'throw' | 'result' | 'load' | undefined
}

/** Kinds of channel message. */
export const CHUNK_STDOUT = 1
export const CHUNK_STDERR = 2
/** The function called `process.exit(code)`: the worker thread is ending. */
export const EXIT = 3

/** A channel message: `[task id, kind, data]` (data: a chunk, or the exit code). */
export type ChannelMessage =
  | [id: number, kind: typeof CHUNK_STDOUT | typeof CHUNK_STDERR, data: string | Uint8Array]
  | [id: number, kind: typeof EXIT, code: number]
