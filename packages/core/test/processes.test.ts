import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { Command, Engine, Node, Workflow } from '../src/index.js'
import { isAlive, tempDir, testConfig, waitFor } from './helpers.js'
import { SPAWN_BACKENDS, useSpawnBackend } from './spawn-backends.js'

const here = path.dirname(fileURLToPath(import.meta.url))

/** A command whose child (a grandchild of the engine) keeps running and holds the pipes. */
function withGrandchild(dir: string): string {
  return `sleep 300 & echo $! > ${dir}/grandchild; echo $$ > ${dir}/child; sleep 300`
}

function pidIn(file: string): number {
  return Number(readFileSync(file, 'utf8').trim())
}

for (const backend of SPAWN_BACKENDS) describe(`process groups (${backend} spawn)`, () => {
  useSpawnBackend(backend)

  it('a timeout terminates the child and the grandchild', async () => {
    const dir = tempDir()
    const engine = new Engine({ config: testConfig({ killGraceMs: 500 }), handleSignals: false })
    const result = await engine.run(new Workflow({ name: 'tree', root: new Node({ name: 'sh', executable: new Command(['sh', '-c', withGrandchild(dir)]), timeout: 1000 }) }))
    expect(result.nodes[0]!.status).toBe('timed_out')
    const child = pidIn(`${dir}/child`)
    const grandchild = pidIn(`${dir}/grandchild`)
    expect(isAlive(child)).toBe(false)
    expect(isAlive(grandchild)).toBe(false)
  })

  it('a grandchild that keeps the pipes open does not hang the node, and does not survive it', async () => {
    const dir = tempDir()
    const engine = new Engine({ config: testConfig({ killGraceMs: 500 }), handleSignals: false })
    // The shell exits at once, its background child inherits stdout and would keep it open for 300 s.
    const result = await engine.run(new Workflow({ name: 'pipes', root: new Node({ name: 'bg', executable: new Command(`sleep 300 & echo $! > ${dir}/grandchild; echo done`) }) }))
    expect(result.nodes[0]).toMatchObject({ status: 'succeeded', exitCode: 0 })
    expect(readFileSync(result.nodes[0]!.artifacts[0]!.path, 'utf8')).toBe('done\n')
    expect(isAlive(pidIn(`${dir}/grandchild`))).toBe(false)
  })

  it('SIGTERM ignored: SIGKILL after the grace period', async () => {
    const dir = tempDir()
    const engine = new Engine({ config: testConfig({ killGraceMs: 300 }), handleSignals: false })
    const script = `trap '' TERM; echo $$ > ${dir}/child; while true; do sleep 0.05; done`
    const result = await engine.run(new Workflow({ name: 'stubborn', root: new Node({ name: 'x', executable: new Command(['sh', '-c', script]), timeout: 500 }) }))
    expect(result.nodes[0]).toMatchObject({ status: 'timed_out', signal: 'SIGKILL' })
    expect(isAlive(pidIn(`${dir}/child`))).toBe(false)
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} to the host process terminates every group before it exits`, async () => {
      const dir = tempDir()
      const script = path.join(dir, 'host.mts')
      writeFileSync(
        script,
        `import { Command, Engine, Node, Workflow, loadConfig } from ${JSON.stringify(path.resolve(here, '../src/index.ts'))}
const config = loadConfig({ env: {}, overrides: { artifactsDir: ${JSON.stringify(dir)} + '/artifacts', dbUrl: 'none', killGraceMs: 500 } })
const tree = (name: string) => new Node({ name, executable: new Command(['sh', '-c', ${JSON.stringify(withGrandchild(dir))}.replaceAll('${dir}/', '${dir}/' + name + '-')]) })
const engine = new Engine({ config })
engine.on('run:end', ({ result }) => console.log('run:end', result.status))
await engine.run(new Workflow({ name: 'host', root: new Node({ name: 'root', parallel: true, children: [tree('a'), tree('b')] }) }))
console.log('not reached: the signal is raised again after the run')
`,
      )
      // No wrapper process in between: `--import tsx` (resolved from the package dir) loads TypeScript in-process.
      const host = spawn(process.execPath, ['--import', 'tsx', script], { cwd: path.resolve(here, '..'), stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      host.stdout.on('data', chunk => (out += chunk))
      host.stderr.on('data', chunk => (out += chunk))
      const files = ['a-child', 'a-grandchild', 'b-child', 'b-grandchild'].map(name => `${dir}/${name}`)
      await waitFor(() => files.every(file => existsSync(file) && readFileSync(file, 'utf8').trim() !== ''), 'both commands to start')
      const pids = files.map(pidIn)
      expect(pids.every(isAlive)).toBe(true)
      host.kill(signal)
      const [code, exitSignal] = await new Promise<[number | null, string | null]>(resolve => host.on('exit', (c, s) => resolve([c, s])))
      expect(exitSignal).toBe(signal)
      expect(code).toBeNull()
      expect(out).toContain('run:end cancelled')
      expect(out).not.toContain('not reached')
      expect(pids.filter(isAlive)).toEqual([])
    })
  }
})
