import path from 'node:path'
import { Command, Engine, Node, Workflow, loadConfig, toRunDocument } from '@wtflow/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { attachRecorder, type HistoryDatabase } from '../src/index.js'
import { DIALECTS, type TestDatabase } from './helpers.js'

/** `wtflow serve` writes a `queued` placeholder row before a run starts; its start replaces it. */
describe.each(DIALECTS)('queued runs: $label', dialect => {
  let t: TestDatabase & { dispose(): Promise<void> }
  let db: HistoryDatabase

  beforeEach(async ctx => {
    if (dialect.skip) return ctx.skip()
    t = await dialect.create()
    db = t.db
  })
  afterEach(async () => {
    await t?.dispose()
  })

  async function queue(id: string, workflow: string, at: number): Promise<void> {
    await db.db.insertInto('workflows').values({ name: workflow, digest: '', first_run_at: at }).onConflict(oc => oc.doNothing()).execute()
    await db.db
      .insertInto('runs')
      .values({
        id, workflow, digest: '', status: 'queued', exit_code: null, started_at: at, ended_at: null, heartbeat_at: at,
        host: 'elsewhere', pid: 1, run_dir: '/nowhere', config: '{}', node_count: 0,
      })
      .execute()
    await db.db
      .insertInto('run_requests')
      .values({ run_id: id, kind: 'workflow', workflow, script: '/x/wtfile.ts', request: '{"inputs":{}}', queued_at: at, claimed_by: null, claimed_at: null, error: null })
      .execute()
  }

  it('lists a queued run, never reaps it, keeps it from retention, and replaces it with the real run at its start', async () => {
    const id = '00000000-0000-4000-8000-000000000001'
    await queue(id, 'w', Date.now() - 120_000)
    expect(await db.listRuns({ status: 'queued' })).toMatchObject([{ id, status: 'queued', endedAt: null }])
    expect(await db.reapCrashedRuns()).toEqual([])
    expect((await db.deleteRunsBefore(new Date())).deletedRuns).toEqual([])
    expect(await db.getRun(id)).toMatchObject({ id, status: 'queued', nodes: [] })

    const config = loadConfig({ cwd: t.dir, env: {}, overrides: { artifactsDir: path.join(t.dir, 'artifacts'), dbUrl: 'none' } })
    const engine = new Engine({ config, cwd: t.dir, handleSignals: false })
    const recorder = attachRecorder(engine, db)
    const result = await engine.run(new Workflow({ name: 'w', root: new Node({ name: 'root', executable: new Command(['true']) }) }), { runId: id })
    await recorder.close()
    expect(await db.getRun(id)).toEqual(toRunDocument(result))
    const info = await db.getRunInfo(id)
    expect(info).toMatchObject({ status: 'succeeded', host: (await import('node:os')).hostname(), pid: process.pid, runDir: result.runDir, nodeCount: 1 })
    expect(info.digest).not.toBe('')
    // The request stays with the run (and goes with it: cascade).
    expect(await db.db.selectFrom('run_requests').select('run_id').execute()).toEqual([{ run_id: id }])
    await db.deleteRunsBefore(new Date(Date.now() + 1000))
    expect(await db.db.selectFrom('run_requests').select('run_id').execute()).toEqual([])
  })

  it('does not let a run start overwrite a run that is not queued', async () => {
    const id = '00000000-0000-4000-8000-000000000002'
    await queue(id, 'w', Date.now())
    await db.db.updateTable('runs').set({ status: 'cancelled', ended_at: Date.now(), exit_code: 130 }).where('id', '=', id).execute()
    const config = loadConfig({ cwd: t.dir, env: {}, overrides: { artifactsDir: path.join(t.dir, 'artifacts'), dbUrl: 'none' } })
    const engine = new Engine({ config, cwd: t.dir, handleSignals: false })
    const recorder = attachRecorder(engine, db)
    await engine.run(new Workflow({ name: 'w', root: new Node({ name: 'root', executable: new Command(['true']) }) }), { runId: id })
    await recorder.close().catch(() => {})
    expect((await db.getRunInfo(id)).host).toBe('elsewhere')
  })
})
