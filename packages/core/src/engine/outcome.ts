/**
 * The one place where a node's and an attempt's statuses and error codes are decided, and where
 * every change of a node's status is checked against the statuses it may follow.
 */
import { NodeFailure, serializeError } from '../errors/errors.js'
import type { AttemptStatus, NodeStatus, SerializedError } from '../interfaces.js'
import type { ExecutionOutcome, StopReason } from '../model/executable.js'
import type { NodeState } from './node-state.js'

/** The statuses each status may change to. Final statuses change no more. */
const NEXT: Readonly<Record<NodeStatus, readonly NodeStatus[]>> = {
  pending: ['running', 'skipped', 'failed', 'cached'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
  skipped: [],
  cached: [],
}

/** Sets a node's status; a change the lifecycle does not allow is a bug in the engine. */
export function transition(state: NodeState, to: NodeStatus): void {
  if (!NEXT[state.status].includes(to)) {
    throw new Error(`wtflow bug: node "${state.plan.path}" cannot go from ${state.status} to ${to}`)
  }
  state.status = to
}

/** How an attempt ended, from why it was stopped (if it was), its outcome and any error storing its artifacts. */
export function attemptStatus(stopReason: StopReason | null, outcome: ExecutionOutcome, error: SerializedError | null): AttemptStatus {
  if (stopReason === 'timeout') return 'timed_out'
  if (stopReason === 'cancel') return 'cancelled'
  return outcome.exitCode === 0 && error === null ? 'succeeded' : 'failed'
}

/** The error an attempt that did not succeed reports. */
export function attemptError(status: AttemptStatus, outcome: ExecutionOutcome, error: SerializedError | null, timeout: number | null): SerializedError {
  const { exitCode, signal } = outcome
  if (status === 'timed_out') return serializeError(new NodeFailure(`timed out after ${timeout} ms`, { timedOut: true, exitCode, signal, code: 'WTFLOW_TIMEOUT' }))
  if (status === 'cancelled') return serializeError(new NodeFailure('cancelled', { exitCode, signal, code: 'WTFLOW_CANCELLED' }))
  return error ?? serializeError(new NodeFailure(`exited with code ${exitCode}`, { exitCode }))
}

/** A `when` predicate threw: the node fails. */
export function whenFailed(cause: unknown): SerializedError {
  return serializeError(new NodeFailure(`when() threw: ${messageOf(cause)}`, { code: 'WTFLOW_WHEN_FAILED' }, { cause }))
}

/** An input of the node cannot be given to it. */
export function inputUnavailable(message: string): NodeFailure {
  return new NodeFailure(`input unavailable: ${message}`, { code: 'WTFLOW_INPUT_UNAVAILABLE' })
}

/** Output, a result or a declared file could not be stored. */
export function artifactWriteFailed(what: string, cause: unknown): SerializedError {
  return serializeError(new NodeFailure(`${what}: ${messageOf(cause)}`, { code: 'WTFLOW_ARTIFACT_WRITE' }, { cause }))
}

/** A declared artifact was not where the node said it would be. */
export function artifactMissing(file: string, source: string, cause: unknown): SerializedError {
  return serializeError(new NodeFailure(`declared artifact "${file}" could not be collected from ${source}: ${messageOf(cause)}`, { code: 'WTFLOW_ARTIFACT_MISSING' }, { cause }))
}

/** The exit code of a run that ended with this status. */
export function runExitCode(status: 'succeeded' | 'failed' | 'cancelled'): number {
  return status === 'succeeded' ? 0 : status === 'cancelled' ? 130 : 1
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
