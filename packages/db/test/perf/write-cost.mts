/** Time of the recorder's writes for N synthetic nodes (no processes): `npx tsx test/perf/write-cost.mts [N]`. */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { TypedEmitter, type DatabaseTarget, type EngineEventMap, type EngineEventName } from '@wtflow/core'
import { attachRecorder, openDatabase } from '../../src/index.js'
import { syntheticPlan, syntheticRun } from '../../src/internal.js'

class Fake extends TypedEmitter {
  fire<K extends EngineEventName>(name: K, event: EngineEventMap[K]): void {
    this.emit(name, event)
  }
}
const n = Number(process.argv[2] ?? 1000)
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-wc-'))
const targets: DatabaseTarget[] = [{ kind: 'sqlite', path: path.join(dir, 'w.db') }]
if (process.env.WTFLOW_TEST_PG_URL) targets.push({ kind: 'postgres', url: process.env.WTFLOW_TEST_PG_URL })
for (const target of targets) {
  const db = (await openDatabase(target, { schema: 'wtflow_wc' }))!
  const run = syntheticRun({ nodes: n })
  const engine = new Fake()
  const recorder = attachRecorder(engine, db)
  const t0 = performance.now()
  engine.fire('run:start', { runId: run.id, workflow: run.workflow, plan: await syntheticPlan(run), startedAt: run.startedAt, runDir: run.runDir, config: {}, inputs: {}, mask: (text: string) => text })
  await recorder.flush()
  const t1 = performance.now()
  for (const node of run.nodes) {
    engine.fire('node:start', { runId: run.id, ordinal: node.ordinal, path: node.path, attempt: 1, startedAt: node.startedAt! })
    await recorder.flush()
    for (const attempt of node.attempts) engine.fire('node:attempt', { runId: run.id, ordinal: node.ordinal, path: node.path, attempt, retryInMs: null })
    engine.fire('node:end', { runId: run.id, ordinal: node.ordinal, node })
    await recorder.flush()
  }
  engine.fire('run:end', { result: run })
  await recorder.close()
  const t2 = performance.now()
  console.log(`${target.kind}: run:start ${(t1 - t0).toFixed(1)} ms; ${n} nodes ${(t2 - t1).toFixed(0)} ms = ${((t2 - t1) / n).toFixed(3)} ms/node`)
  if (target.kind === 'postgres') await db.db.schema.dropSchema('wtflow_wc').cascade().execute()
  await db.close()
}
await fs.rm(dir, { recursive: true, force: true })
