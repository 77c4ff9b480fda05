import { readdirSync, readFileSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'

/**
 * Every command runs in its own process group (execa `detached: true` → setsid), so a whole
 * tree of processes can be signalled at once with `kill(-pgid)`. This module keeps the set of
 * live groups so that none outlives the host process.
 */
const liveGroups = new Set<number>()
let exitHookInstalled = false

export function trackProcessGroup(pgid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    // Last resort: whatever way the host exits, take every group down with it.
    process.on('exit', () => killAllProcessGroups('SIGKILL'))
  }
  liveGroups.add(pgid)
}

export function untrackProcessGroup(pgid: number): void {
  liveGroups.delete(pgid)
}

/** Sends `signal` to every process group wtflow started that may still be alive. Synchronous. */
export function killAllProcessGroups(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pgid of liveGroups) signalProcessGroup(pgid, signal)
}

/** Signals a group; false if no process of it exists any more. */
export function signalProcessGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  // "No such process" is the usual answer once a command ended; its stack trace is wasted work.
  const stackTraceLimit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false
  } finally {
    Error.stackTraceLimit = stackTraceLimit
  }
}

/**
 * True while a process of the group is running. Zombies do not count: in containers whose
 * init does not reap orphans, a dead grandchild can stay a zombie member of its group forever.
 */
export function processGroupAlive(pgid: number): boolean {
  if (!signalProcessGroup(pgid, 0)) return false
  if (process.platform !== 'linux') return true
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // Fields after the parenthesised command: state ppid pgrp …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true
  }
  return false
}

/**
 * Stops a whole process group: SIGTERM, then SIGKILL if anything is still running after
 * `graceMs`. Resolves once no process of the group runs (or shortly after SIGKILL).
 */
export async function terminateProcessGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalProcessGroup(pgid, 'SIGTERM')) return
  const deadline = Date.now() + graceMs
  let pause = 5
  while (Date.now() < deadline) {
    if (!processGroupAlive(pgid)) return
    await delay(Math.min(pause, Math.max(1, deadline - Date.now())))
    pause = Math.min(pause * 2, 100)
  }
  signalProcessGroup(pgid, 'SIGKILL')
  for (let i = 0; i < 50 && processGroupAlive(pgid); i++) await delay(10)
}
