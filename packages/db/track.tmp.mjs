import { Engine, Node, Workflow, Command, loadConfig, preloadCommandRuntime } from '@wtflow/core'
import { attachRecorder, openDatabase } from './dist/index.js'
await preloadCommandRuntime()
const n = 1000
const dir = `/tmp/track-${process.pid}`
async function go(tracked, flat) {
  let root
  if (flat) root = new Node({ name: 'g', children: Array.from({ length: n }, (_, i) => new Node({ name: `n${i}`, executable: new Command(['true']) })) })
  else for (let i = n; i >= 1; i--) root = new Node({ name: 'n', executable: new Command(['true']), children: root ? [root] : [] })
  const config = loadConfig({ env: {}, overrides: { artifactsDir: `${dir}/art`, dbUrl: `sqlite:${dir}/h-${Math.random()}.db`, maxParallel: 10 } })
  const engine = new Engine({ config, handleSignals: false })
  const db = tracked ? await openDatabase(config.database) : null
  const t0 = performance.now(); const c0 = process.cpuUsage()
  const rec = db ? attachRecorder(engine, db) : null
  await engine.run(new Workflow({ name: 'c', root }))
  await rec?.close()
  const c = process.cpuUsage(c0)
  await db?.close()
  return `${((performance.now() - t0) / n).toFixed(2)}/${((c.user + c.system) / n / 1000).toFixed(2)}`
}
for (let r = 0; r < 2; r++) for (const flat of [false]) console.log(flat ? 'seq-flat' : 'chain   ', 'off', await go(false, flat), 'sqlite', await go(true, flat))
