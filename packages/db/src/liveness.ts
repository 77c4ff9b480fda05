import { readFileSync } from 'node:fs'
import os from 'node:os'
import type { ProcessIdentity } from './writes.js'

/**
 * How a reader decides that a `running` run's process is gone.
 *
 * The recorder stores the writing process's host and pid and refreshes `heartbeat_at` every
 * `heartbeatMs` (default 2 s). A reader marks the run crashed when either
 * - it is on the same host and the pid does not exist (`process.kill(pid, 0)` → ESRCH), or
 * - it is on the same host and the pid now belongs to another process (its start time differs
 *   from the one recorded), or
 * - the heartbeat is older than `staleAfterMs` (default 30 s) by the database's clock: runs of
 *   other hosts (and, on this host, runs recorded before start times were). A writer that is
 *   known alive on this host is never judged by its heartbeat, so clock jumps cannot kill it.
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
  return { host: os.hostname(), pid: process.pid, start: processStart(process.pid) }
}

/**
 * `<boot id>:<start time in clock ticks>` of a process (Linux), or null: with the pid, an
 * identity no later process can have, unlike the pid alone.
 */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
    return startTicks === undefined ? null : `${bootId()}:${startTicks}`
  } catch {
    return null
  }
}

let cachedBootId: string | undefined

function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    } catch {
      cachedBootId = '?'
    }
  }
  return cachedBootId
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
  run: { id: string; host: string; pid: number; heartbeat_at: number; process_start: string | null },
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
  if (run.host === options.host && run.process_start !== null) {
    // The pid runs: it is the writer itself (then it is alive, whatever the clocks say), or a
    // later process that got its pid.
    const start = processStart(run.pid)
    if (start === run.process_start) return null
    if (start !== null) return `the wtflow process (pid ${run.pid} on ${run.host}) died (its pid now belongs to another process)`
  }
  if (now - run.heartbeat_at > options.staleAfterMs) {
    return `the wtflow process (pid ${run.pid} on ${run.host}) stopped reporting at ${new Date(run.heartbeat_at).toISOString()}`
  }
  return null
}
