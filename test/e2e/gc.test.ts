/** `wtflow gc` and `[retention]` on real runs, both databases. */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { RunDocument } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_DATABASES, REPO_ROOT, makeWorkspace, parseJson, unavailable, waitFor, type Workspace } from '../helpers/cli.js'

const CORE = path.join(REPO_ROOT, 'packages/core/dist/index.js')

const SCRIPT = `import { Command, Node, Workflow } from ${JSON.stringify(CORE)}
export default new Workflow({ name: 'w', root: new Node({ name: 'root', children: [
  new Node({ name: 'a', executable: new Command('echo a') }),
  new Node({ name: 'b', executable: new Command('if [ -f hang ]; then touch hanging; while [ -f hang ]; do sleep 0.05; done; fi; echo b') }),
] }) })
`

for (const kind of ALL_DATABASES) describe.skipIf(unavailable(kind))(`wtflow gc on ${kind}`, () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  const runs = async () => parseJson<Array<{ id: string; status: string }>>((await ws.run(['runs', '--json'])).stdout)

  it('bad durations and statuses are usage errors; with nothing to select it says what to give', async () => {
    ws = await makeWorkspace(kind)
    const bad = await ws.run(['gc', '--older-than', '3x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("option '--older-than <duration>' argument '3x' is invalid. expected a number and a unit: 45s, 90m, 12h, 30d or 2w.")
    const status = await ws.run(['gc', '--keep-last', '1', '--status', 'running'])
    expect(status.code).toBe(2)
    expect(status.stderr).toContain('a running run is never deleted')
    const none = await ws.run(['gc'])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('say what to delete: --older-than DURATION')
  })

  it('under a concurrent wtflow run deletes nothing of it; --dry-run deletes nothing; --keep-last keeps the newest', async () => {
    ws = await makeWorkspace(kind)
    await writeFile(path.join(ws.dir, 'wf.mts'), SCRIPT)
    const first = parseJson<RunDocument>((await ws.run(['run', 'wf.mts', '--json'])).stdout)
    const second = parseJson<RunDocument>((await ws.run(['run', 'wf.mts', '--json'])).stdout)
    await writeFile(path.join(ws.dir, 'hang'), '')
    const cli = ws.start(['run', 'wf.mts', '--json'])
    await waitFor(() => existsSync(path.join(ws.dir, 'hanging')), { what: 'the run to be under way' })

    const dry = await ws.run(['gc', '--keep-last', '0', '--dry-run', '--json'])
    expect(dry.code, dry.stderr).toBe(0)
    expect(parseJson<{ runs: Array<{ id: string }> }>(dry.stdout).runs.map(r => r.id).sort()).toEqual([first.id, second.id].sort())
    expect((await runs()).length).toBe(3)

    const gc = await ws.run(['gc', '--keep-last', '0', '--vacuum'])
    expect(gc.code, gc.stderr).toBe(0)
    expect(gc.stdout).toContain('deleted 2 runs (6 nodes), freed')
    const left = await runs()
    expect(left.map(r => r.status)).toEqual(['running'])
    const runDir = path.join(ws.dir, '.wtflow/artifacts', left[0]!.id)
    expect(existsSync(runDir)).toBe(true)
    expect(existsSync(path.join(ws.dir, '.wtflow/artifacts', first.id))).toBe(false)

    await import('node:fs/promises').then(fs => fs.rm(path.join(ws.dir, 'hang')))
    const ended = await cli.exited
    expect(ended.code, ended.stderr).toBe(0)
    const doc = parseJson<RunDocument>(ended.stdout)
    expect(doc.nodes.map(n => n.status)).toEqual(['succeeded', 'succeeded', 'succeeded'])
    const shown = parseJson<RunDocument>((await ws.run(['show', doc.id, '--json'])).stdout)
    expect(shown).toEqual(doc)
    expect(existsSync(doc.nodes[2]!.artifacts[0]!.path)).toBe(true)
  })

  it('[retention] keep_last applies after a run, at most once an hour', async () => {
    ws = await makeWorkspace(kind)
    await writeFile(path.join(ws.dir, 'wf.mts'), SCRIPT)
    await writeFile(path.join(ws.dir, 'wtflow.ini'), '[retention]\nkeep_last = 1\n')
    await ws.run(['run', 'wf.mts'])
    const second = await ws.run(['run', 'wf.mts'])
    expect(second.code, second.stderr).toBe(0)
    // The first run's pass claimed the hour (and found nothing to delete): the second leaves both.
    expect((await runs()).length).toBe(2)
    // A pass that is due (the env beats the INI file; an hour has passed for this history) deletes the older run.
    const { openDatabase } = await import('@wtflow/db')
    const { loadConfig } = await import('@wtflow/core')
    const db = (await openDatabase(loadConfig({ cwd: ws.dir, env: { WTFLOW_DB_URL: ws.dbUrl } }).database))!
    await db.db.updateTable('maintenance').set({ last_at: 0 }).execute()
    await db.close()
    const third = await ws.run(['run', 'wf.mts'])
    expect(third.stderr).toContain('wtflow: retention: deleted 2 runs (6 nodes), freed')
    expect((await runs()).length).toBe(1)
  })
})
