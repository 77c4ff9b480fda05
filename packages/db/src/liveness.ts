import { readFileSync } from 'node:fs'
import os from 'node:os'
import type { ProcessIdentity } from './writes.js'

/**
 * How a reader decides that a `running` run's process is gone.
 *
 * The recorder stores the writing process's host and pid and refreshes `heartbeat_at` every
 * `heartbeatMs` (default 2 s). A reader marks the run crashed when either
 * - it is on the same host and the pid does not exist (`process.kill(pid, 0)` → ESRCH), or
 * - the heartbeat is older than `staleAfterMs` (default 30 s): this covers runs from other
 *   hosts, and a pid that was reused by an unrelated process after the writer died.
 */
export interface LivenessOptions {
  /** This machine's name (default `os.hostname()`). */
  host?: string
  /** A heartbeat older than this means the writer is gone (default 30000 ms). */
  staleAfterMs?: number
}

export const DEFAULT_HEARTBEAT_MS = 2_000
export const DEFAULT_STALE_AFTER_MS = 30_000

export function thisProcess(): ProcessIdentity {
  return { host: os.hostname(), pid: process.pid }
}

/** Runs this process is recording right now (their pid is ours, yet they are alive). */
export const runsRecordedHere = new Set<string>()

/**
 * True if a process with this pid runs on this host (it may belong to another user). A zombie
 * is dead: where init does not reap orphans, a killed process can stay one indefinitely.
 */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return true // no /proc (not Linux): trust kill(0)
  }
}

/** Why the writer of a `running` run is considered dead, or null if it may be alive. */
export function deathOf(
  run: { id: string; host: string; pid: number; heartbeat_at: number },
  options: Required<LivenessOptions>,
  now: number,
): string | null {
  if (run.host === options.host && run.pid === process.pid) {
    // Our own pid: either we record it, or an earlier process with the same pid left it behind.
    return runsRecordedHere.has(run.id) ? null : `the wtflow process (pid ${run.pid} on ${run.host}) ended without finishing the run`
  }
  if (run.host === options.host && !isPidAlive(run.pid)) {
    return `the wtflow process (pid ${run.pid} on ${run.host}) died`
  }
  if (now - run.heartbeat_at > options.staleAfterMs) {
    return `the wtflow process (pid ${run.pid} on ${run.host}) stopped reporting at ${new Date(run.heartbeat_at).toISOString()}`
  }
  return null
}
