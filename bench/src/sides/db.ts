/** Run history sides: tracked runs, seeding a big history, and history queries. */
import { loadConfig, type DatabaseTarget } from '@wtflow/core'
import { attachRecorder, openDatabase, type HistoryDatabase } from '@wtflow/db'
import { insertRuns, syntheticRun } from '@wtflow/db/internal'
import path from 'node:path'
import { median, timed } from '../measure.js'
import { assertSucceeded, chainWorkflow, makeEngine } from './engine.js'
import type { Side } from './types.js'
import { num, str } from './params.js'

/** `none`, `sqlite` (a fresh file in the side's scratch directory, or `file`), or a postgres URL. */
function target(params: Record<string, unknown>, tmpDir: string): { dbUrl: string; schema: string | undefined } {
  const db = str(params, 'db')
  const schema = typeof params.schema === 'string' ? params.schema : undefined
  if (db === 'sqlite') return { dbUrl: `sqlite://${typeof params.file === 'string' ? params.file : path.join(tmpDir, 'history.db')}`, schema }
  return { dbUrl: db, schema }
}

async function open(params: Record<string, unknown>, tmpDir: string): Promise<HistoryDatabase> {
  const { dbUrl, schema } = target(params, tmpDir)
  const database: DatabaseTarget = loadConfig({ cwd: tmpDir, env: {}, overrides: { dbUrl } }).database
  const db = await openDatabase(database, { schema })
  if (db === null) throw new Error(`no database for ${dbUrl}`)
  return db
}

/**
 * A chain of `count` argv `true` commands with history recorded (`db` ≠ `none`) or not. The
 * database is opened (and migrated) before the clock starts; the measured part is the run
 * plus the recorder's final flush, so that every row is written when the clock stops.
 */
export const engineChainTracked: Side = async (params, tmpDir) => {
  const count = num(params, 'count')
  const { dbUrl } = target(params, tmpDir)
  const engine = makeEngine(tmpDir, 10, dbUrl)
  const db = dbUrl === 'none' ? null : await open(params, tmpDir)
  try {
    const { value: result, ...timing } = await timed(async () => {
      const recorder = db === null ? null : attachRecorder(engine, db)
      const result = await engine.run(chainWorkflow(count, 'short'))
      await recorder?.close()
      return result
    })
    assertSucceeded(result, count)
    if (db !== null) {
      const recorded = await db.getRun(result.id)
      if (recorded.nodes.length !== count || recorded.status !== 'succeeded') {
        throw new Error(`history has ${recorded.nodes.length} nodes, status ${recorded.status}, for a run of ${count} succeeded nodes`)
      }
    }
    return timing
  } finally {
    await db?.close()
  }
}

/** Fills a history with `runs` finished runs of `nodes` nodes (synthetic, in batches). */
export const dbSeed: Side = async (params, tmpDir) => {
  const runs = num(params, 'runs')
  const nodes = num(params, 'nodes')
  const batch = Math.max(1, Math.floor(200_000 / nodes))
  const db = await open(params, tmpDir)
  try {
    if (params.reuse === true && (await db.listRuns({ limit: 1, offset: runs - 1 })).length === 1) {
      return { wallMs: 0, cpuMs: 0, childCpuMs: 0, extra: { runs, nodes, reused: true } }
    }
    const t0 = Date.UTC(2025, 0, 1)
    const timing = await timed(async () => {
      for (let done = 0; done < runs; done += batch) {
        const size = Math.min(batch, runs - done)
        const made = Array.from({ length: size }, (_, i) =>
          syntheticRun({ nodes, workflow: `bench-${(done + i) % 7}`, startedAt: new Date(t0 + (done + i) * 60_000), failAt: (done + i) % 13 === 0 ? 5 : undefined }),
        )
        await insertRuns(db, made)
        if (done === 0 || Math.floor((done + size) / 1000) > Math.floor(done / 1000)) {
          process.stderr.write(`[bench seed] ${done + size}/${runs} runs\n`)
        }
      }
    })
    const newest = await db.listRuns({ limit: 1 })
    if (newest.length !== 1) throw new Error('the seeded history lists no run')
    return { ...timing, extra: { runs, nodes } }
  } finally {
    await db.close()
  }
}

/**
 * History queries on a seeded database: `list` (the newest 50 runs) or `get` (one whole run,
 * at a random place in history), `iterations` times after a warm-up; wall = median latency.
 */
export const dbQuery: Side = async (params, tmpDir) => {
  const op = str(params, 'op')
  const iterations = num(params, 'iterations')
  const seededRuns = num(params, 'runs')
  const db = await open(params, tmpDir)
  try {
    // Ids spread over the whole history (found before any measurement).
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      const [run] = await db.listRuns({ limit: 1, offset: Math.floor((i * seededRuns) / 20) })
      if (run) ids.push(run.id)
    }
    if (ids.length === 0) throw new Error('the history is empty: was it seeded?')
    const query = async (i: number): Promise<number> => {
      if (op === 'list') return (await db.listRuns({ limit: 50 })).length
      return (await db.getRun(ids[i % ids.length]!)).nodes.length
    }
    for (let i = 0; i < 5; i++) await query(i)
    const latencies: number[] = []
    let rows = 0
    const timing = await timed(async () => {
      for (let i = 0; i < iterations; i++) {
        const start = performance.now()
        rows = await query(i)
        latencies.push(performance.now() - start)
      }
    })
    latencies.sort((a, b) => a - b)
    const p95 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.95))]!
    return {
      wallMs: median(latencies),
      cpuMs: timing.cpuMs / iterations,
      childCpuMs: 0,
      extra: { op, iterations, rows, p95Ms: p95, minMs: latencies[0], maxMs: latencies.at(-1), totalMs: timing.wallMs },
    }
  } finally {
    await db.close()
  }
}
