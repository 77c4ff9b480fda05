import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { onTestFinished } from 'vitest'

/** A new directory, removed when the test ends. */
export function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wtflow-spawn-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** All of a stream, as text. */
export async function text(stream: Readable | null): Promise<string> {
  if (stream === null) throw new Error('no stream')
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** The fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, session… (null once gone). */
export function procStat(pid: number): { state: string; ppid: number; pgrp: number; session: number } | null {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { state: fields[0]!, ppid: Number(fields[1]), pgrp: Number(fields[2]), session: Number(fields[3]) }
}

/** Running, that is: exists and is not a zombie (PID 1 here may never reap orphans). */
export function isRunning(pid: number): boolean {
  const stat = procStat(pid)
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X'
}

/** Zombie children of this process: exited but never reaped. */
export function zombieChildren(): number[] {
  const zombies: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = procStat(Number(entry))
    if (stat?.ppid === process.pid && stat.state === 'Z') zombies.push(Number(entry))
  }
  return zombies
}

export function openFds(pid: number | 'self' = 'self'): string[] {
  return readdirSync(`/proc/${pid}/fd`).sort((a, b) => Number(a) - Number(b))
}

/** This process's descriptors from 3 up that lack close-on-exec (a fork+exec child inherits them). */
export function inheritableFds(): string[] {
  const O_CLOEXEC = 0o2000000
  return openFds().filter(fd => {
    if (Number(fd) < 3) return false
    try {
      const flags = /^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))
      return flags !== null && (parseInt(flags[1]!, 8) & O_CLOEXEC) === 0
    } catch {
      return false // the descriptor readdir itself used, closed since
    }
  })
}

/** Kills a process group when the test ends, whatever happened (no leftovers). */
export function killAtEnd(pgid: number): void {
  onTestFinished(() => {
    try {
      process.kill(-pgid, 'SIGKILL')
    } catch {
      // already gone
    }
  })
}
