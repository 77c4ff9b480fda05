/** Resume and retention sides: resuming a failed chain from history, and gc of a big history. */
import fs from 'node:fs/promises'
import path from 'node:path'
import { Command, Node, Workflow, decideReuse, loadConfig } from '@wtflow/core'
import { attachRecorder, openDatabase, type HistoryDatabase } from '@wtflow/db'
import { insertRuns, syntheticRun } from '@wtflow/db/internal'
import { timed } from '../measure.js'
import { assertSucceeded, makeEngine } from './engine.js'
import { num, str } from './params.js'
import type { Side } from './types.js'

/** A chain of `count` argv commands; the last one is `last` (`false` fails the run at node `count`). */
function chain(count: number, last: string): Workflow {
  let node: Node | undefined
  for (let i = count - 1; i >= 0; i--) node = new Node({ name: 'n', executable: new Command([i === count - 1 ? last : 'true']), children: node ? [node] : [] })
  return new Workflow({ name: 'chain', root: node! })
}

async function openSqlite(tmpDir: string): Promise<HistoryDatabase> {
  const db = await openDatabase(loadConfig({ cwd: tmpDir, env: {}, overrides: { dbUrl: `sqlite://${path.join(tmpDir, 'history.db')}` } }).database)
  if (db === null) throw new Error('no database')
  return db
}

/**
 * `mode: full`: the whole chain of `count` recorded in SQLite (the baseline). `mode: resume`:
 * the same chain failed at its last node first (not measured), then the measured part: read the
 * run from history, decide what to reuse, and run the fixed chain (count - 1 nodes reused),
 * recorded, until every row is written.
 */
export const resumeChain: Side = async (params, tmpDir) => {
  const count = num(params, 'count')
  const mode = str(params, 'mode')
  const db = await openSqlite(tmpDir)
  try {
    const record = async (workflow: Workflow, reuse?: Awaited<ReturnType<typeof decideReuse>>) => {
      const engine = makeEngine(tmpDir, 10)
      const recorder = attachRecorder(engine, db)
      const plan = await engine.validate(workflow)
      const result = await engine.run(plan, reuse === undefined ? {} : { reuse })
      await recorder.close()
      return result
    }
    if (mode === 'full') {
      const { value, ...timing } = await timed(() => record(chain(count, 'true')))
      assertSucceeded(value, count)
      return timing
    }
    const failed = await record(chain(count, 'false'))
    if (failed.status !== 'failed') throw new Error(`the first run ${failed.status}, expected failed`)
    const { value, ...timing } = await timed(async () => {
      const plan = await makeEngine(tmpDir, 10).validate(chain(count, 'true'))
      const decision = await decideReuse(plan, await db.getResumeSource(failed.id))
      return record(plan.workflow, decision)
    })
    const cached = value.nodes.filter(node => node.status === 'cached').length
    if (value.status !== 'succeeded' || cached !== count - 1) throw new Error(`resume ${value.status} with ${cached} cached nodes, expected ${count - 1}`)
    return { ...timing, extra: { cached } }
  } finally {
    await db.close()
  }
}

/**
 * gc of a history of `runs` × `nodes` (synthetic rows, each run with a directory of its nodes'
 * files), seeded before the clock starts; measured: `collectGarbage` of every run.
 */
export const gcHistory: Side = async (params, tmpDir) => {
  const runs = num(params, 'runs')
  const nodes = num(params, 'nodes')
  const dbUrl = str(params, 'db')
  const schema = typeof params.schema === 'string' ? params.schema : undefined
  const artifactsDir = path.join(tmpDir, 'artifacts')
  const target = loadConfig({ cwd: tmpDir, env: {}, overrides: { dbUrl: dbUrl === 'sqlite' ? `sqlite://${path.join(tmpDir, 'gc.db')}` : dbUrl } }).database
  const db = await openDatabase(target, { schema })
  if (db === null) throw new Error('no database')
  try {
    const t0 = Date.UTC(2025, 0, 1)
    const batch = Math.max(1, Math.floor(100_000 / nodes))
    for (let done = 0; done < runs; done += batch) {
      const made = Array.from({ length: Math.min(batch, runs - done) }, (_, i) =>
        syntheticRun({ nodes, workflow: `bench-${(done + i) % 7}`, startedAt: new Date(t0 + (done + i) * 60_000), artifactsDir }),
      )
      await insertRuns(db, made)
      for (const run of made) {
        // Each leaf's directory with its two small files, as the engine leaves them.
        for (const node of run.nodes) {
          if (node.artifacts.length === 0) continue
          const dir = path.dirname(node.artifacts[0]!.path)
          await fs.mkdir(dir, { recursive: true })
          for (const artifact of node.artifacts) await fs.writeFile(artifact.path, 'output')
        }
      }
    }
    const { value, ...timing } = await timed(() => db.collectGarbage({ endedBefore: new Date(), artifactsDir }))
    if (value.runs.length !== runs || value.failures.length > 0) throw new Error(`gc deleted ${value.runs.length} of ${runs} runs, ${value.failures.length} failures`)
    const left = await fs.readdir(artifactsDir)
    if (left.length > 0) throw new Error(`${left.length} run directories left`)
    return { ...timing, extra: { runs: value.runs.length, nodes: value.nodes, bytes: value.bytes } }
  } finally {
    await db.close()
  }
}
