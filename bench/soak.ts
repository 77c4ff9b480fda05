/**
 * The reliability soak (issue 13): many `wtflow run`s of a 20-node workflow on a PostgreSQL
 * history, two at a time, with faults — `wtflow` killed with SIGKILL at a random moment, every
 * backend of the history terminated (`pg_terminate_backend`) during a run, Funcs that throw,
 * exit or leave a throwing timer behind. Afterwards one `wtflow runs` (which records dead runs
 * as crashed and stops what they left) and the checks: no process of the soak left, no run left
 * `running`, and every node's recorded status true to its marker file.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { childEnv } from './process-side.js'
import type { SideResult } from './src/protocol.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const script = path.join(here, 'src', 'fixtures', 'soak-wtfile.ts')
const COMMAND_NODES = ['prep', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 't1', 't2', 't3']
const FUNC_NODES = ['f1', 'f2', 'f3', 'f4']

export interface SoakOptions {
  cliBin: string
  adminUrl: string
  tmpDir: string
  runs: number
  /** Wall-clock bound of the whole soak: it stops starting runs past it. */
  maxMs: number
  log(message: string): void
}

interface NodeRow {
  path: string
  status: string
}

/** Runs the soak; `extra` holds the counts and every violation found (none is a pass). */
export async function soak(options: SoakOptions): Promise<SideResult> {
  fs.mkdirSync(options.tmpDir, { recursive: true })
  const dbName = `wtflow_soak_${process.pid}`
  const admin = new pg.Client({ connectionString: options.adminUrl, application_name: 'wtflow-bench-admin' })
  await admin.connect()
  await admin.query(`drop database if exists ${dbName}`)
  await admin.query(`create database ${dbName}`)
  const url = new URL(options.adminUrl)
  url.pathname = `/${dbName}`
  const env = { WTFLOW_DB_URL: url.href, WTFLOW_ARTIFACTS_DIR: path.join(options.tmpDir, 'artifacts'), WTFLOW_KILL_GRACE_MS: '500' }
  const marks = path.join(options.tmpDir, 'marks')
  const counts = { runs: 0, killed: 0, terminated: 0 }
  const start = performance.now()
  try {
    // The history exists before the first fault.
    await wtflow(options, ['runs'], env)
    let next = 0
    const worker = async () => {
      while (next < options.runs && performance.now() - start < options.maxMs) {
        const tag = String(next++)
        fs.mkdirSync(path.join(marks, tag), { recursive: true })
        const fault = Math.random()
        const log = fs.openSync(path.join(marks, `${tag}.log`), 'w')
        const child = spawn(process.execPath, [options.cliBin, 'run', script], {
          cwd: options.tmpDir,
          env: childEnv({ ...env, SOAK_TAG: tag, SOAK_SEED: String(1 + Math.floor(Math.random() * 1e6)), SOAK_MARK_DIR: path.join(marks, tag) }),
          stdio: ['ignore', log, log],
        })
        fs.closeSync(log)
        const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
        if (fault < 0.25) {
          counts.killed++
          setTimeout(() => child.kill('SIGKILL'), Math.random() * 1500).unref()
        } else if (fault < 0.35) {
          counts.terminated++
          setTimeout(() => {
            void admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [dbName]).catch(() => {})
          }, Math.random() * 800).unref()
        }
        await exited
        counts.runs++
        if (counts.runs % 50 === 0) options.log(`soak: ${counts.runs} runs (${counts.killed} killed, ${counts.terminated} with backends terminated)`)
      }
    }
    await Promise.all([worker(), worker()])
    const wallMs = performance.now() - start
    // Reading history records dead runs as crashed and stops what they left.
    await wtflow(options, ['runs', '--all'], env)
    const violations = await check(url.href, marks, counts.runs)
    return { wallMs, rssKb: NaN, extra: { ...counts, violations: violations.slice(0, 20), violationCount: violations.length } }
  } finally {
    await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => {})
    await admin.end()
  }
}

function wtflow(options: SoakOptions, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.cliBin, ...args], { cwd: options.tmpDir, env: childEnv(env), stdio: 'ignore' })
    child.once('error', reject)
    child.once('exit', code => (code === 0 ? resolve() : reject(new Error(`wtflow ${args.join(' ')} exited with ${code}`))))
  })
}

/** Every way history and the machine disagree with what happened. */
async function check(url: string, marks: string, runs: number): Promise<string[]> {
  const violations: string[] = []
  // 1. No process of the soak is left: every command it started had SOAK_TAG in its environment.
  for (const pid of processesWith('SOAK_TAG=')) violations.push(`process ${pid} of the soak is still running: ${commandOf(pid)}`)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const rows = (await client.query<{ id: string; workflow: string; status: string }>('select id, workflow, status from wtflow.runs')).rows
    const byTag = new Map(rows.map(row => [row.workflow.replace(/^soak-/, ''), row]))
    for (let i = 0; i < runs; i++) {
      const tag = String(i)
      const run = byTag.get(tag)
      const marked = new Set(fs.readdirSync(path.join(marks, tag)))
      const output = () => fs.readFileSync(path.join(marks, `${tag}.log`), 'utf8').trim().split('\n').slice(-3).join(' | ')
      if (run === undefined) {
        // Killed before its row was written: then nothing of it may have run.
        if (marked.size > 0) violations.push(`run ${tag}: no history, but nodes ran (${[...marked].join(', ')}); it printed: ${output()}`)
        continue
      }
      // 2. No run is left running.
      if (run.status === 'running') violations.push(`run ${tag} (${run.id}) is still recorded running`)
      const nodes = (await client.query<NodeRow>('select path, status from wtflow.nodes where run_id = $1', [run.id])).rows
      const status = new Map(nodes.map(node => [node.path.split('/').pop()!, node.status]))
      // 3. Every node's status true to its marker.
      for (const name of [...COMMAND_NODES, ...FUNC_NODES]) {
        const recorded = status.get(name) ?? '(no row)'
        const ran = marked.has(name)
        if (recorded === 'succeeded' && !ran) violations.push(`run ${tag}: ${name} recorded succeeded, but it did not finish`)
        // A node of a crashed run may finish after wtflow died and before it was stopped.
        if (ran && recorded !== 'succeeded' && run.status !== 'crashed') violations.push(`run ${tag} (${run.status}): ${name} finished, but is recorded ${recorded}`)
      }
    }
  } finally {
    await client.end()
  }
  return violations
}

function processesWith(needle: string): number[] {
  const found: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      if (fs.readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').some(item => item.startsWith(needle))) found.push(Number(entry))
    } catch {
      // gone, or not ours
    }
  }
  return found
}

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
  } catch {
    return '?'
  }
}
