import { readdirSync, readFileSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'

/**
 * The environment variable every command gets, `<run id>:<n>`: how a process that left its
 * process group (`setsid`, a double fork) is still found, as Jenkins' ProcessTreeKiller and the
 * GitHub Actions runner find theirs. Children inherit it; only a process that clears its own
 * environment escapes it.
 */
export const PROCESS_MARKER = 'WTFLOW_PROCESS_MARKER'

/**
 * Every command runs in its own process group (execa `detached: true` → setsid), so a whole
 * tree of processes can be signalled at once with `kill(-pgid)`. This module keeps the set of
 * live groups so that none outlives the host process.
 */
const liveGroups = new Set<number>()
let exitHookInstalled = false

/** Run ids whose commands may have left processes behind, swept at exit if the run cannot. */
const markedRuns = new Set<string>()

export function trackProcessGroup(pgid: number): void {
  installExitHook()
  liveGroups.add(pgid)
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // Last resort: whatever way the host exits, take every group, and every marked process, down with it.
  process.on('exit', () => {
    killAllProcessGroups('SIGKILL')
    for (const runId of markedRuns) for (const pid of findMarkedProcesses(`${runId}:`)) signalProcess(pid, 'SIGKILL')
  })
}

/** Registers a run whose marked processes the exit hook must sweep; returns what unregisters it. */
export function trackMarkedRun(runId: string): () => void {
  installExitHook()
  markedRuns.add(runId)
  return () => markedRuns.delete(runId)
}

/**
 * The processes whose marker starts with `prefix` (`<run id>:` for a run's, `<run id>:<n>` for one
 * command's), read from `/proc/<pid>/environ`. Empty where there is no /proc.
 */
export function findMarkedProcesses(prefix: string): number[] {
  if (process.platform !== 'linux') return []
  const wanted = Buffer.from(`\0${PROCESS_MARKER}=${prefix}`)
  const found: number[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return found
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0)
    if (first < 48 || first > 57) continue
    const pid = Number(entry)
    if (pid === process.pid) continue
    let environ: Buffer
    try {
      environ = readFileSync(`/proc/${entry}/environ`)
    } catch {
      continue // gone, or another user's
    }
    // Entries are NUL-separated: look for one that starts with the marker (a leading NUL is added
    // so that the first entry matches too). A command's exact marker ends with NUL or the buffer.
    const haystack = Buffer.concat([Buffer.from([0]), environ])
    let at = haystack.indexOf(wanted)
    while (at !== -1) {
      const end = at + wanted.length
      if (prefix.endsWith(':') || end === haystack.length || haystack[end] === 0) {
        found.push(pid)
        break
      }
      at = haystack.indexOf(wanted, at + 1)
    }
  }
  return found
}

/**
 * Stops the processes carrying a marker that starts with `prefix`: SIGTERM, then SIGKILL for those
 * still running after `graceMs`. Resolves to the pids it signalled.
 */
export async function terminateMarkedProcesses(prefix: string, graceMs: number): Promise<number[]> {
  const pids = findMarkedProcesses(prefix)
  if (pids.length === 0) return pids
  for (const pid of pids) signalProcess(pid, 'SIGTERM')
  const deadline = performance.now() + graceMs
  let pause = 5
  let alive = pids.filter(processAlive)
  while (alive.length > 0 && performance.now() < deadline) {
    await delay(Math.min(pause, Math.max(1, deadline - performance.now())))
    pause = Math.min(pause * 2, 100)
    alive = alive.filter(processAlive)
  }
  for (const pid of alive) signalProcess(pid, 'SIGKILL')
  return pids
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

/** True while the process runs (a zombie does not). */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
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
  // A monotonic clock: setting the wall clock back must not postpone SIGKILL, nor forward skip the grace.
  const deadline = performance.now() + graceMs
  let pause = 5
  while (performance.now() < deadline) {
    if (!processGroupAlive(pgid)) return
    await delay(Math.min(pause, Math.max(1, deadline - performance.now())))
    pause = Math.min(pause * 2, 100)
  }
  signalProcessGroup(pgid, 'SIGKILL')
  for (let i = 0; i < 50 && processGroupAlive(pgid); i++) await delay(10)
}
