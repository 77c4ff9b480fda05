/** What history keeps for `wtflow resume`: the run's script, inputs, plan and origin; `cached` nodes and where they came from. */
import fs from 'node:fs/promises'
import path from 'node:path'
import { Command, Engine, Node, Workflow, decideReuse, loadConfig, toRunDocument, type RunOptions, type RunResult } from '@wtflow/core'
import { Migrator, sql, type Kysely } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrationProvider } from '../src/migrations.js'
import { attachRecorder, RunNotFinishedError, type HistoryDatabase } from '../src/index.js'
import { DIALECTS, type TestDatabase } from './helpers.js'

describe.each(DIALECTS)('resume history: $label', dialect => {
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

  function engine(secrets: string[] = []): Engine {
    const config = loadConfig({ cwd: t.dir, env: {}, overrides: { artifactsDir: path.join(t.dir, 'artifacts'), dbUrl: 'none' } })
    return new Engine({ config, cwd: t.dir, handleSignals: false, secrets })
  }

  async function record(workflow: Workflow, options: RunOptions = {}): Promise<RunResult> {
    const e = engine(['s3cret'])
    const recorder = attachRecorder(e, db)
    try {
      return await e.run(workflow, options)
    } finally {
      await recorder.close()
    }
  }

  const workflow = (failing: boolean) => {
    const a = new Node({ name: 'a', executable: new Command('echo A; echo s3cret >&2') })
    const b = new Node({ name: 'b', executable: new Command(['sh', '-c', failing ? 'exit 4' : 'cat "$1"', 'sh', a.stdout]) })
    return new Workflow({ name: 'w', root: new Node({ name: 'root', executable: new Command('echo --token=s3cret'), children: [a, b] }) })
  }

  it('records the script, inputs and plan (secrets masked); a resumed run records its origin and each reused node', async () => {
    const failed = await record(workflow(true), { script: '/abs/wf.ts', inputs: { day: 'monday' } })
    expect(failed.status).toBe('failed')
    const source = await db.getResumeSource(failed.id.slice(0, 8))
    expect(source).toMatchObject({ id: failed.id, workflow: 'w', status: 'failed', script: '/abs/wf.ts', inputs: { day: 'monday' } })
    expect(source.plan!.nodes.map(n => n.path)).toEqual(['root', 'root/a', 'root/b'])
    const row = await db.db.selectFrom('runs').select('plan').where('id', '=', failed.id).executeTakeFirstOrThrow()
    expect(row.plan).toContain('--token=***')
    expect(row.plan).not.toContain('s3cret')
    const plan = await engine().validate(workflow(false))
    expect(source.nodes.map(n => [n.path, n.status, n.digest === plan.nodeDigest(plan.nodeAt(n.path)!)])).toEqual([
      ['root', 'succeeded', true],
      ['root/a', 'succeeded', true],
      ['root/b', 'failed', false],
    ])
    expect(source.nodes[1]!.artifacts.map(a => a.name)).toEqual(['stdout', 'stderr'])

    const decision = await decideReuse(plan, source)
    expect([...decision.nodes.keys()]).toEqual(['root', 'root/a'])
    expect(Object.fromEntries([...decision.reasons].map(([p, r]) => [p, r.kind]))).toEqual({ 'root/b': 'changed' })
    const resumed = await record(plan.workflow, { reuse: decision, script: '/abs/wf.ts' })
    expect(resumed.nodes.map(n => n.status)).toEqual(['cached', 'cached', 'succeeded'])
    expect(await fs.readFile(resumed.nodes[2]!.artifacts[0]!.path, 'utf8')).toBe('A\n')
    const doc = await db.getRun(resumed.id)
    expect(doc).toEqual(toRunDocument(resumed))
    expect(doc.resumedFrom).toBe(failed.id)
    expect(doc.nodes[1]!.reusedFrom).toEqual({ runId: failed.id, path: 'root/a' })
    expect((await db.listRuns({ limit: 1 }))[0]).toMatchObject({ id: resumed.id, resumedFrom: failed.id })
    // A cached node of a resumed run can be reused again, from the new run's own files.
    const again = await decideReuse(plan, await db.getResumeSource(resumed.id))
    expect(again.nodes.size).toBe(3)
    expect(again.nodes.get('root/a')!.artifacts[0]!.path).toContain(resumed.id)
  })

  it('a running run cannot be resumed', async () => {
    const e = engine()
    const recorder = attachRecorder(e, db)
    const controller = new AbortController()
    const running = e.run(new Workflow({ name: 'slow', root: new Node({ name: 'r', executable: new Command('sleep 30') }) }), {
      signal: controller.signal,
      beforeNodes: () => recorder.flush(),
    })
    await new Promise<void>(resolve => e.on('node:start', () => resolve()))
    await recorder.flush()
    const [run] = await db.listRuns({ limit: 1 })
    await expect(db.getResumeSource(run!.id)).rejects.toThrow(RunNotFinishedError)
    await expect(db.getResumeSource(run!.id)).rejects.toThrow(`run ${run!.id} is still running; only a finished run can be resumed`)
    controller.abort()
    await running
    await recorder.close()
  })

  it('upgrades a history written by migration 0002: old runs read as before, with nothing to resume from but their rows', async () => {
    const kdb = db.db as unknown as Kysely<Record<string, Record<string, unknown>>>
    for (const table of ['maintenance', 'run_requests', 'artifacts', 'attempts', 'nodes', 'runs', 'workflows', 'kysely_migration', 'kysely_migration_lock']) {
      await sql`drop table if exists ${sql.table(table)}`.execute(kdb)
    }
    const schema = db.dialect.schema
    const migrator = new Migrator({ db: kdb, provider: migrationProvider, ...(schema === undefined ? {} : { migrationTableSchema: schema }) })
    expect((await migrator.migrateTo('0002_ordinal_keys')).error).toBeUndefined()
    // A run as wtflow 0.1 (migration 0002) wrote it.
    await kdb.insertInto('workflows').values({ name: 'old', digest: 'd', first_run_at: 1 }).execute()
    await kdb
      .insertInto('runs')
      .values({ id: 'old-run', workflow: 'old', digest: 'd', status: 'failed', exit_code: 1, started_at: 1000, ended_at: 2000, heartbeat_at: 2000, host: 'h', pid: 1, run_dir: '/x/old-run', config: '{}', node_count: 2 })
      .execute()
    await kdb
      .insertInto('nodes')
      .values([
        { run_id: 'old-run', ordinal: 0, path: 'r', path_key: 'k0', name: 'r', parent_ordinal: null, kind: 'command', display: 'true', status: 'succeeded', attempts: 1, started_at: 1000, ended_at: 1500 },
        { run_id: 'old-run', ordinal: 1, path: 'r/x', path_key: 'k1', name: 'x', parent_ordinal: 0, kind: 'command', display: 'false', status: 'failed', attempts: 1, started_at: 1500, ended_at: 2000 },
      ])
      .execute()
    await kdb.insertInto('artifacts').values({ run_id: 'old-run', node_ordinal: 0, ordinal: 0, name: 'stdout', attempt: 1, path: '/x/old-run/r/stdout.log', size: 3, sha256: 'abc' }).execute()

    expect(await db.migrateToLatest()).toEqual(['0003_milestone_2'])
    const doc = await db.getRun('old-run')
    expect(doc).toMatchObject({ id: 'old-run', status: 'failed', nodes: [{ path: 'r', status: 'succeeded' }, { path: 'r/x', status: 'failed' }] })
    expect(doc.resumedFrom).toBeUndefined()
    expect(doc.nodes[0]!.reusedFrom).toBeUndefined()
    const source = await db.getResumeSource('old-run')
    expect(source).toMatchObject({ script: null, inputs: null, plan: null })
    expect(source.nodes.map(n => [n.path, n.digest, n.artifacts.length])).toEqual([
      ['r', null, 1],
      ['r/x', null, 0],
    ])
    // New runs record everything in the upgraded tables.
    const run = await record(workflow(false), { script: '/abs/new.ts' })
    expect((await db.getResumeSource(run.id)).script).toBe('/abs/new.ts')
  })
})
