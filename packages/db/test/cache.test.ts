/** Caching across runs (`cache` on a node), its store in history, on both dialects. */
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Command, Engine, Node, Workflow, loadConfig, type RunCache, type RunResult } from '@wtflow/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { attachRecorder, type HistoryDatabase } from '../src/index.js'
import { DIALECTS, type TestDatabase } from './helpers.js'

describe.each(DIALECTS)('cache: $label', dialect => {
  let t: TestDatabase & { dispose(): Promise<void> }
  let db: HistoryDatabase
  let warnings: string[]

  beforeEach(async ctx => {
    if (dialect.skip) return ctx.skip()
    t = await dialect.create()
    db = t.db
    warnings = []
  })
  afterEach(async () => {
    await t?.dispose()
  })

  async function run(workflow: Workflow, mode: RunCache['mode'] = 'use'): Promise<RunResult> {
    const config = loadConfig({ cwd: t.dir, env: {}, overrides: { artifactsDir: path.join(t.dir, 'artifacts'), dbUrl: 'none' } })
    const engine = new Engine({ config, cwd: t.dir, handleSignals: false })
    const recorder = attachRecorder(engine, db)
    try {
      return await engine.run(workflow, { cache: { store: db.cacheStore(), mode, onWarning: message => warnings.push(message) } })
    } finally {
      await recorder.close()
    }
  }
  const marks = async () => (existsSync(path.join(t.dir, 'marks')) ? (await fs.readFile(path.join(t.dir, 'marks'), 'utf8')).trim().split('\n') : [])
  const clearMarks = () => fs.rm(path.join(t.dir, 'marks'), { force: true })

  /** a: hashes a.txt, writes out.bin (declared); b: hashes b.txt; c: takes a's stdout. */
  const workflow = (env: Record<string, string> = {}) => {
    const a = new Node({
      name: 'a',
      executable: new Command('echo a >> marks; cat a.txt a.txt > out.bin; echo A'),
      artifacts: ['out.bin'],
      cache: { files: ['a.txt'], env: ['TOKEN'] },
      env,
    })
    const b = new Node({ name: 'b', executable: new Command('echo b >> marks'), cache: { files: ['b*.txt'] } })
    const c = new Node({ name: 'c', executable: new Command(['sh', '-c', 'echo c >> marks; cat "$1"', 'sh', a.stdout]), cache: true })
    return new Workflow({ name: 'w', root: new Node({ name: 'root', children: [a, b, c] }) })
  }

  it('a hit restores the declared output byte for byte; a changed file re-runs exactly its node; a hit whose files are gone is a miss', async () => {
    await fs.writeFile(path.join(t.dir, 'a.txt'), Buffer.from([0, 1, 2, 255, 10]))
    await fs.writeFile(path.join(t.dir, 'b1.txt'), 'b')
    const first = await run(workflow())
    expect(first.status).toBe('succeeded')
    expect(await marks()).toEqual(['a', 'b', 'c'])
    const produced = await fs.readFile(path.join(t.dir, 'out.bin'))
    await fs.rm(path.join(t.dir, 'out.bin'))

    await clearMarks()
    const second = await run(workflow())
    expect(await marks()).toEqual([])
    expect(second.nodes.map(n => n.status)).toEqual(['succeeded', 'cached', 'cached', 'cached'])
    expect(second.nodes[1]!.reusedFrom).toEqual({ runId: first.id, path: 'root/a' })
    expect(await fs.readFile(path.join(t.dir, 'out.bin'))).toEqual(produced)
    expect((await db.getRun(second.id)).nodes[1]!.reusedFrom).toEqual({ runId: first.id, path: 'root/a' })

    // b's input changed: only b runs (a's stdout is the same, so c is still a hit).
    await fs.writeFile(path.join(t.dir, 'b2.txt'), 'more')
    await clearMarks()
    const third = await run(workflow())
    expect(await marks()).toEqual(['b'])
    const explained = await db.getNodeCache(third.id, 'root/b')
    expect(explained).toMatchObject({ hit: false, comparedWith: { runId: first.id } })
    expect(Object.keys(explained!.parts).filter(part => explained!.parts[part] !== explained!.comparedWith!.parts[part])).toEqual(['files:b*.txt'])

    // The entry's copy of a's files is gone: a miss, a runs again.
    await fs.rm(path.dirname(first.nodes[1]!.artifacts[0]!.path), { recursive: true })
    await clearMarks()
    await run(workflow())
    expect(await marks()).toEqual(['a'])

    // refresh runs every cached node again.
    await clearMarks()
    await run(workflow(), 'refresh')
    expect(await marks()).toEqual(['a', 'b', 'c'])
  })

  it('secrets never enter a key in clear; a glob matching nothing is a warning; concurrent runs store one entry', async () => {
    await fs.writeFile(path.join(t.dir, 'a.txt'), 'x')
    const [one, two] = await Promise.all([run(workflow({ TOKEN: 's3cret-value' })), run(workflow({ TOKEN: 's3cret-value' }))])
    expect([one.status, two.status]).toEqual(['succeeded', 'succeeded'])
    expect(warnings).toContain('"root/b": cache.files glob "b*.txt" matches no file in ' + t.dir)
    const entries = await db.db.selectFrom('cache_entries').selectAll().execute()
    // a, b and c: one entry per key, however many runs computed it.
    expect(entries.filter(e => e.node_path === 'root/a')).toHaveLength(1)
    const nodes = await db.db.selectFrom('nodes').select(['cache_key', 'cache_info']).execute()
    expect(JSON.stringify([entries, nodes])).not.toContain('s3cret-value')
    // A changed secret is a changed key.
    await clearMarks()
    await run(workflow({ TOKEN: 'other' }))
    expect(await marks()).toEqual(['a'])
  })

  it('files that change while the node runs are not stored', async () => {
    await fs.writeFile(path.join(t.dir, 'in.txt'), '1')
    const node = new Node({ name: 'n', executable: new Command('echo n >> marks; echo 2 > in.txt'), cache: { files: ['in.txt'] } })
    await run(new Workflow({ name: 'v', root: node }))
    expect(warnings.some(w => w.includes('not cached: files of "in.txt" changed while it ran'))).toBe(true)
    expect(await db.db.selectFrom('cache_entries').select('key').execute()).toEqual([])
  })
})
