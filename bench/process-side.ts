/** Whole-process timings, measured by the orchestrator: spawn to exit. */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { applyNice } from './nice.js'
import type { SideResult } from './src/protocol.js'

export interface ProcessRun {
  tmpDir: string
  buildDir: string
  timeoutMs: number
}

/** The bench's environment without its WTFLOW_* variables, plus `extra`: what every measured process gets. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('WTFLOW_')) env[key] = value
  return Object.assign(env, extra)
}

/**
 * Runs `node [--import rss-probe] ...args` and returns its wall time (spawn → exit) and peak
 * RSS. WTFLOW_* variables of the caller are removed; `env` adds the ones wanted.
 */
export async function timeNodeProcess(args: string[], options: ProcessRun & { cwd?: string; env?: Record<string, string>; stdoutToDevNull?: boolean }): Promise<SideResult> {
  fs.mkdirSync(options.tmpDir, { recursive: true })
  const rssFile = path.join(options.tmpDir, `rss-${process.hrtime.bigint()}.txt`)
  const env = childEnv({ ...options.env, BENCH_RSS_FILE: rssFile })
  const probe = pathToFileURL(path.join(options.buildDir, 'rss-probe.js')).href
  let output = ''
  const start = performance.now()
  const devNull = options.stdoutToDevNull === true ? fs.openSync('/dev/null', 'w') : null
  const child = spawn(process.execPath, ['--import', probe, ...args], { cwd: options.cwd ?? options.tmpDir, env, stdio: ['ignore', devNull ?? 'pipe', 'pipe'] })
  if (devNull !== null) fs.closeSync(devNull)
  applyNice(child.pid)
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)))
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (c, s) => resolve([c, s]))
  }).finally(() => clearTimeout(timer))
  const wallMs = performance.now() - start
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${signal ?? `code ${code}`}: ${output.trim().slice(-1000)}`)
  const probed = (fs.existsSync(rssFile) ? JSON.parse(fs.readFileSync(rssFile, 'utf8')) : {}) as { rssKb?: number; cpuMs?: number }
  return { wallMs, rssKb: probed.rssKb ?? NaN, cpuMs: probed.cpuMs, childCpuMs: 0, extra: { output: output.trim().slice(-300) } }
}
