/**
 * History queries on a big database: seeds RUNS runs of NODES nodes (via `insertRuns`), then
 * times `listRuns({ limit: 50 })`, `getRun(id)` and friends. Not a test (machine-dependent):
 * `npx tsx test/perf/history-timing.mts [runs] [nodes]`. PostgreSQL when WTFLOW_TEST_PG_URL is set.
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { DatabaseTarget } from '@wtflow/core'
import { openDatabase, type HistoryDatabase } from '../../src/index.js'
import { insertRuns, syntheticRun } from '../../src/internal.js'

const runs = Number(process.argv[2] ?? 10_000)
const nodes = Number(process.argv[3] ?? 100)
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-timing-'))
const schema = `wtflow_timing_${process.pid}`
const targets: DatabaseTarget[] = [{ kind: 'sqlite', path: path.join(dir, 'wtflow.db') }]
if (process.env.WTFLOW_TEST_PG_URL) targets.push({ kind: 'postgres', url: process.env.WTFLOW_TEST_PG_URL })
const only = process.env.ONLY
const t0 = Date.parse('2030-01-01T00:00:00Z')

async function time(label: string, iterations: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 5; i++) await fn(i) // warm-up
  const samples: number[] = []
  for (let i = 0; i < iterations; i++) {
    const start = performance.now()
    await fn(i)
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!.toFixed(2)
  console.log(`  ${label.padEnd(40)} median ${q(0.5)} ms   p90 ${q(0.9)} ms`)
}

for (const target of targets) {
  if (only !== undefined && only !== target.kind) continue
  const db = (await openDatabase(target, { schema })) as HistoryDatabase
  const ids: string[] = []
  const seedStart = performance.now()
  const batch = 200
  for (let b = 0; b < runs; b += batch) {
    const part = Array.from({ length: Math.min(batch, runs - b) }, (_, i) =>
      syntheticRun({ workflow: `wf-${(b + i) % 20}`, nodes, startedAt: new Date(t0 + (b + i) * 60_000), failAt: (b + i) % 7 === 0 ? 5 : undefined }),
    )
    await insertRuns(db, part)
    ids.push(...part.map(run => run.id))
  }
  console.log(`${target.kind}: seeded ${runs} runs x ${nodes} nodes in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`)
  if (target.kind === 'postgres') await db.db.executeQuery({ sql: 'analyze', parameters: [], query: { kind: 'RawNode' } } as never)
  const pick = (i: number) => ids[(i * 7919) % ids.length]!
  await time('listRuns({ limit: 50 })', 100, () => db.listRuns({ limit: 50 }))
  await time('listRuns({ workflow, limit: 50 })', 100, i => db.listRuns({ workflow: `wf-${i % 20}`, limit: 50 }))
  await time('listRuns({ status: failed, limit: 50 })', 100, () => db.listRuns({ status: 'failed', limit: 50 }))
  await time('listRuns({ limit: 50, offset: 5000 })', 50, () => db.listRuns({ limit: 50, offset: 5000 }))
  await time(`getRun(id) (${nodes} nodes)`, 100, i => db.getRun(pick(i)))
  await time('getRun(8-char prefix)', 100, i => db.getRun(pick(i).slice(0, 8)))
  await time('getNode(id, path)', 100, i => db.getNode(pick(i), 'root/group 1/task 2'))
  if (target.kind === 'postgres' && !process.env.KEEP) await db.db.schema.dropSchema(schema).cascade().execute()
  await db.close()
}
await fs.rm(dir, { recursive: true, force: true })
