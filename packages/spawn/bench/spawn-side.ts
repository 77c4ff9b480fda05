/**
 * One measured process of the spawn benchmark: allocates `heapMb` of live JS objects, then
 * times `count` spawns of `true` (sequential, or `parallel` at a time) with one method, each
 * with Command's options (own process group, stdout to a file descriptor, stderr through a
 * pipe, the whole environment, a working directory). Prints one JSON line.
 *
 * Usage: node spawn-side.js <native|child_process|execa> <heapMb> <count> <parallel>
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { execa } from 'execa'
import { spawnProcess } from '@wtflow/spawn'

type Method = 'native' | 'child_process' | 'execa'

const [method, heapMb, count, parallel] = [
  process.argv[2] as Method,
  Number(process.argv[3]),
  Number(process.argv[4]),
  Number(process.argv[5]),
]

/** Live objects, kept reachable until the end: what a long run's engine holds. */
function allocateHeap(megabytes: number): unknown[] {
  const keep: unknown[] = []
  const target = megabytes * 1024 * 1024
  let i = 0
  while (process.memoryUsage().heapUsed < target) {
    for (let j = 0; j < 100_000; j++, i++) keep.push({ id: i, name: `node-${i}`, tags: [i, i + 1] })
  }
  return keep
}

function closed(stream: Readable): Promise<void> {
  return new Promise(resolve => {
    stream.once('close', resolve)
    stream.resume()
  })
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'wtflow-spawn-bench-'))
const fd = openSync(path.join(dir, 'stdout'), 'w')
const env = { ...process.env }

const runOne: Record<Method, () => Promise<void>> = {
  async native() {
    const child = await spawnProcess({ file: 'true', cwd: dir, env, stdout: fd, stderr: 'pipe', backend: 'native' })
    await Promise.all([child.exited, closed(child.stderr!)])
  },
  async child_process() {
    const child = spawn('true', [], { cwd: dir, env, detached: true, stdio: ['ignore', fd, 'pipe'] })
    await Promise.all([new Promise(resolve => child.once('close', resolve)), closed(child.stderr!)])
  },
  async execa() {
    const child = execa('true', [], {
      cwd: dir,
      env,
      extendEnv: false,
      detached: true,
      cleanup: false,
      stdin: 'ignore',
      stdout: fd as unknown as 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      encoding: 'buffer',
      stripFinalNewline: false,
    })
    child.stderr.resume()
    await child
  },
}

const heap = allocateHeap(heapMb)
const heapUsedMb = process.memoryUsage().heapUsed / 1024 / 1024
// One warm-up spawn: loads the addon, or execa's lazy parts.
await runOne[method]()
const cpuBefore = process.cpuUsage()
const start = process.hrtime.bigint()
let next = 0
await Promise.all(
  Array.from({ length: parallel }, async () => {
    while (next < count) {
      next++
      await runOne[method]()
    }
  }),
)
const wallMs = Number(process.hrtime.bigint() - start) / 1e6
const cpu = process.cpuUsage(cpuBefore)
closeSync(fd)
rmSync(dir, { recursive: true, force: true })
console.log(JSON.stringify({ method, heapUsedMb: Math.round(heapUsedMb), wallMs, cpuMs: (cpu.user + cpu.system) / 1000, kept: heap.length }))
