/** One recorded chain of N `true` commands, for `node --cpu-prof`: `npx tsx test/perf/profile-run.mts sqlite|postgres|none [N]`. */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Command, Engine, Node, Workflow, loadConfig, type DatabaseTarget } from '@wtflow/core'
import { attachRecorder, openDatabase } from '../../src/index.js'

const kind = process.argv[2] ?? 'sqlite'
const count = Number(process.argv[3] ?? 300)
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-profile-'))
const target: DatabaseTarget =
  kind === 'sqlite' ? { kind, path: path.join(dir, 'w.db') } : kind === 'postgres' ? { kind, url: process.env.WTFLOW_TEST_PG_URL! } : { kind: 'none' }
const db = await openDatabase(target, { schema: 'wtflow_profile' })
const config = loadConfig({ cwd: dir, env: {}, overrides: { artifactsDir: path.join(dir, 'artifacts'), dbUrl: 'none' } })
const engine = new Engine({ config, cwd: dir, handleSignals: false })
const recorder = attachRecorder(engine, db)
const workflow = new Workflow({
  name: 'chain',
  root: new Node({ name: 'root', children: Array.from({ length: count }, (_, i) => new Node({ name: `n${i}`, executable: new Command(['true']) })) }),
})
const start = performance.now()
await engine.run(workflow)
await recorder.close()
console.log(`${kind}: ${(performance.now() - start).toFixed(0)} ms`)
if (kind === 'postgres') await db!.db.schema.dropSchema('wtflow_profile').cascade().execute()
await db?.close()
await fs.rm(dir, { recursive: true, force: true })
