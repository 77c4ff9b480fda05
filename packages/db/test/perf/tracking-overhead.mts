/**
 * Tracking overhead: a chain of N `true` commands with tracking off, SQLite and PostgreSQL.
 * Not a test (timings are machine-dependent): `npx tsx test/perf/tracking-overhead.mts [N] [rounds]`.
 * PostgreSQL is measured when WTFLOW_TEST_PG_URL is set.
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Command, Engine, Node, Workflow, loadConfig, type DatabaseTarget } from '@wtflow/core'
import pg from 'pg'
import { attachRecorder, openDatabase } from '../../src/index.js'

const count = Number(process.argv[2] ?? 1000)
const rounds = Number(process.argv[3] ?? 3)
const pgUrl = process.env.WTFLOW_TEST_PG_URL
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-overhead-'))
const schema = `wtflow_overhead_${process.pid}`

const workflow = new Workflow({
  name: 'chain',
  root: new Node({ name: 'root', children: Array.from({ length: count }, (_, i) => new Node({ name: `n${i}`, executable: new Command(['true']) })) }),
})

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
async function cpuOfPid(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100
}

async function backendPids(db: Awaited<ReturnType<typeof openDatabase>>): Promise<number[]> {
  if (db?.dialect.name !== 'postgres') return []
  const { rows } = await db.db.executeQuery<{ pid: number }>({
    sql: "select pid from pg_stat_activity where application_name = 'wtflow-overhead'",
    parameters: [],
    query: { kind: 'RawNode' },
  } as never)
  return rows.map(row => row.pid)
}

const cpu = new Map<string, number[]>()

async function once(target: DatabaseTarget, name = 'warm-up'): Promise<number> {
  const config = loadConfig({ cwd: dir, env: {}, overrides: { artifactsDir: path.join(dir, 'artifacts'), dbUrl: 'none' } })
  const engine = new Engine({ config, cwd: dir, handleSignals: false })
  const db = await openDatabase(target, { schema, applicationName: 'wtflow-overhead', migrate: true })
  const recorder = attachRecorder(engine, db)
  // Connections the pool already holds; the backends' CPU counts too (PostgreSQL does work for us).
  const before = await Promise.all((await backendPids(db)).map(async pid => [pid, await cpuOfPid(pid)] as const))
  const cpuStart = process.cpuUsage()
  const start = performance.now()
  const result = await engine.run(workflow)
  await recorder.close()
  const elapsed = performance.now() - start
  const used = process.cpuUsage(cpuStart)
  let backendCpu = 0
  for (const pid of await backendPids(db)) {
    backendCpu += (await cpuOfPid(pid)) - (before.find(([p]) => p === pid)?.[1] ?? 0)
  }
  if (!cpu.has(name)) cpu.set(name, [])
  cpu.get(name)!.push((used.user + used.system) / 1000 + backendCpu * 1000)
  await db?.close()
  if (result.status !== 'succeeded') throw new Error(`run ${result.status}`)
  return elapsed
}

const targets: Array<[string, DatabaseTarget]> = [
  ['off', { kind: 'none' }],
  ['sqlite', { kind: 'sqlite', path: path.join(dir, 'wtflow.db') }],
]
if (pgUrl) targets.push(['postgres', { kind: 'postgres', url: pgUrl }])
const times = new Map<string, number[]>(targets.map(([name]) => [name, []]))
await once({ kind: 'none' }) // warm-up
for (let r = 0; r < rounds; r++) {
  for (const [name, target] of targets) times.get(name)!.push(await once(target, name))
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const base = median(times.get('off')!)
const baseCpu = median(cpu.get('off')!)
for (const [name, xs] of times) {
  const c = cpu.get(name)!
  console.log(
    `${name.padEnd(9)} wall median ${median(xs).toFixed(0)} ms (${xs.map(x => x.toFixed(0)).join(', ')}) ratio ${(median(xs) / base).toFixed(3)}` +
      ` | cpu median ${median(c).toFixed(0)} ms ratio ${(median(c) / baseCpu).toFixed(3)}`,
  )
}
if (pgUrl) {
  const client = new pg.Client({ connectionString: pgUrl })
  await client.connect()
  await client.query(`drop schema if exists "${schema}" cascade`)
  await client.end()
}
await fs.rm(dir, { recursive: true, force: true })
