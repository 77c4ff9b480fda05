import { execa } from 'execa'
import { Engine, Node, Workflow, Command, loadConfig } from './dist/index.js'
const n = 400
async function engineRun(pipeMode, flat) {
  let root
  if (flat) root = new Node({ name: 'g', parallel: true, children: Array.from({ length: n }, (_, i) => new Node({ name: `n${i}`, executable: new Command(['true']) })) })
  else for (let i = n; i >= 1; i--) root = new Node({ name: 'n', executable: new Command(['true']), children: root ? [root] : [] })
  const engine = new Engine({ config: loadConfig({ env: {}, overrides: { artifactsDir: `/tmp/chain-${process.pid}`, dbUrl: 'none', maxParallel: 10 } }), handleSignals: false })
  if (pipeMode) engine.on('node:output', () => {})
  const t0 = performance.now(); const c0 = process.cpuUsage()
  await engine.run(new Workflow({ name: 'c', root }))
  const c = process.cpuUsage(c0)
  return `${((performance.now() - t0) / n).toFixed(2)}/${((c.user + c.system) / n / 1000).toFixed(2)}`
}
async function loop(flat) {
  const t0 = performance.now(); const c0 = process.cpuUsage()
  if (flat) { let next = 0; await Promise.all(Array.from({ length: 10 }, async () => { while (next++ < n) await execa('true') })) }
  else for (let i = 0; i < n; i++) await execa('true')
  const c = process.cpuUsage(c0)
  return `${((performance.now() - t0) / n).toFixed(2)}/${((c.user + c.system) / n / 1000).toFixed(2)}`
}
for (let r = 0; r < 2; r++) {
  for (const flat of [false, true]) console.log(flat ? 'parallel' : 'chain   ', 'loop', await loop(flat), 'direct', await engineRun(false, flat), 'pipe', await engineRun(true, flat))
}
