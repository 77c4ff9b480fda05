import { readFileSync } from 'node:fs'

/**
 * Peak RSS of this process in KB. /proc/self/status VmHWM describes this process image only;
 * getrusage's maxRSS would also count the parent's pages that a fork copied before exec.
 */
export function peakRssKb(): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'))
    if (match) return Number(match[1])
  } catch {
    // Not Linux: fall back to getrusage.
  }
  return process.resourceUsage().maxRSS
}

/** CPU time of reaped child processes (cutime + cstime), in ms; 0 where /proc is missing. */
function childCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 16 and 17 of proc(5), counted from `state` (field 3); clock ticks, 100 per second on Linux.
    return (Number(fields[13]) + Number(fields[14])) * 10
  } catch {
    return 0
  }
}

export interface Timing {
  wallMs: number
  /** CPU time of this process (all threads), user + system. */
  cpuMs: number
  /** CPU time of the child processes it started and reaped during the window. */
  childCpuMs: number
  /** Resident set and V8 heap at the start and the end of the window, in MB. */
  memory?: { rssStartMb: number; rssEndMb: number; heapStartMb: number; heapEndMb: number }
}

/** Measures `fn`: wall time, this process's CPU time and its children's. */
export async function timed<T>(fn: () => Promise<T>): Promise<Timing & { value: T }> {
  const mem0 = process.memoryUsage()
  const cpu0 = process.cpuUsage()
  const child0 = childCpuMs()
  const start = performance.now()
  const value = await fn()
  const wallMs = performance.now() - start
  const cpu = process.cpuUsage(cpu0)
  const mem = process.memoryUsage()
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20)
  return {
    value,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    childCpuMs: childCpuMs() - child0,
    memory: { rssStartMb: mb(mem0.rss), rssEndMb: mb(mem.rss), heapStartMb: mb(mem0.heapUsed), heapEndMb: mb(mem.heapUsed) },
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Runs `worker` for every index in [0, count) on `concurrency` async workers pulling from a queue. */
export async function pool(count: number, concurrency: number, worker: (index: number) => Promise<void>): Promise<void> {
  let next = 0
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) await worker(next++)
  })
  await Promise.all(lanes)
}
