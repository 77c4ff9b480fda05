import fs from 'node:fs/promises'
import path from 'node:path'
import { WtflowError, toRunDocument } from '@wtflow/core'
import { Migrator, sql, type Kysely } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { migrationProvider } from '../src/migrations.js'
import { artifactRows, attemptRows, nodeRow } from '../src/writes.js'
import {
  AmbiguousRunIdError,
  LATEST_MIGRATION,
  NodeNotFoundError,
  RunNotFoundError,
  type HistoryDatabase,
} from '../src/index.js'
import { insertRuns, syntheticRun } from '../src/internal.js'
import { DIALECTS, type TestDatabase } from './helpers.js'

const T0 = Date.parse('2031-05-01T00:00:00.000Z')
const minutes = (n: number) => new Date(T0 + n * 60_000)

describe.each(DIALECTS)('history queries: $label', dialect => {
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

  it('migrates once; opening again changes nothing', async () => {
    expect(await db.migrateToLatest()).toEqual([])
    const again = await t.open()
    expect(await again.migrateToLatest()).toEqual([])
    expect(LATEST_MIGRATION).toBe('0003_milestone_2')
  })

  it('upgrades a history written with path keys (0001) to ordinal keys, keeping every row', async () => {
    // Back to the 0001 schema, with a run written as 0001 stored it.
    // The 0001 tables are not in HistorySchema: rows of any shape.
    const kdb = db.db as unknown as Kysely<Record<string, Record<string, unknown>>>
    const dropAll = async () => {
      for (const table of ['maintenance', 'run_requests', 'artifacts', 'attempts', 'nodes', 'runs', 'workflows', 'kysely_migration', 'kysely_migration_lock']) {
        await sql`drop table if exists ${sql.table(table)}`.execute(kdb)
      }
    }
    const told: string[][] = []
    const onUpgrade = (pending: string[]) => told.push(pending)
    // A new database is set up without a word; only an existing history is "upgraded".
    await dropAll()
    await db.migrateToLatest({ onUpgrade })
    expect(told).toEqual([])
    await dropAll()
    const schema = db.dialect.schema
    const migrator = new Migrator({ db: kdb, provider: migrationProvider, ...(schema === undefined ? {} : { migrationTableSchema: schema }) })
    expect((await migrator.migrateTo('0001_initial')).error).toBeUndefined()
    const run = syntheticRun({ id: 'old-run', nodes: 8, failAt: 5, startedAt: minutes(0) })
    await kdb.insertInto('workflows').values({ name: run.workflow, digest: '', first_run_at: T0 }).execute()
    await kdb
      .insertInto('runs')
      .values({ id: run.id, workflow: run.workflow, digest: '', status: run.status, exit_code: run.exitCode, started_at: T0, ended_at: run.endedAt.getTime(), heartbeat_at: T0, host: 'h', pid: 1, run_dir: run.runDir, config: '{}', node_count: run.nodes.length })
      .execute()
    for (const [i, node] of run.nodes.entries()) {
      const { ordinal: _, parent_ordinal: __, path_key: ___, reused_from_run: ____, reused_from_path: _____, tolerated: ______, ...columns } = nodeRow(run.id, node, i, null)
      await kdb.insertInto('nodes').values({ ...columns, ordinal: i, parent_path: node.parentPath }).execute()
      for (const { node_ordinal: _, ...attempt } of attemptRows(run.id, node, i)) await kdb.insertInto('attempts').values({ ...attempt, node_path: node.path }).execute()
      for (const { node_ordinal: _, ...artifact } of artifactRows(run.id, node, i)) await kdb.insertInto('artifacts').values({ ...artifact, node_path: node.path }).execute()
    }

    expect(await db.migrateToLatest({ onUpgrade })).toEqual(['0002_ordinal_keys', '0003_milestone_2'])
    expect(told).toEqual([['0002_ordinal_keys', '0003_milestone_2']])
    expect(await db.getRun(run.id)).toEqual(toRunDocument(run))
    const leaf = run.nodes[5]!
    const node = await db.getNode(run.id, leaf.path)
    expect(node.parentPath).toBe(leaf.parentPath)
    expect(node.attempts.map(a => a.status)).toEqual(leaf.attempts.map(a => a.status))
    expect(node.artifacts.map(a => a.path)).toEqual(leaf.artifacts.map(a => a.path))
    const parents = await db.db.selectFrom('nodes').select(['ordinal', 'parent_ordinal']).where('run_id', '=', run.id).orderBy('ordinal').execute()
    expect(parents.map(p => p.parent_ordinal)).toEqual(run.nodes.map(n => (n.parentPath === null ? null : run.nodes.findIndex(m => m.path === n.parentPath))))
    // The keys hold: a node path is unique in its run, and a deleted run takes its rows along.
    await expect(db.db.insertInto('nodes').values({ ...nodeRow(run.id, leaf, 99, null) }).execute()).rejects.toThrow()
    await db.deleteRunsBefore(minutes(1), { removeArtifacts: false })
    expect(await db.db.selectFrom('attempts').select('attempt').execute()).toEqual([])
  })

  it('lists runs newest first, filtered by workflow, status and time, paged', async () => {
    const runs = [
      syntheticRun({ id: 'run-a', workflow: 'build', startedAt: minutes(0), nodes: 3 }),
      syntheticRun({ id: 'run-b', workflow: 'deploy', startedAt: minutes(1), nodes: 3, failAt: 2 }),
      syntheticRun({ id: 'run-c', workflow: 'build', startedAt: minutes(2), nodes: 3, failAt: 1 }),
      syntheticRun({ id: 'run-d', workflow: 'build', startedAt: minutes(3), nodes: 3 }),
    ]
    await insertRuns(db, runs)
    const ids = async (options: Parameters<HistoryDatabase['listRuns']>[0]) => (await db.listRuns(options)).map(r => r.id)

    expect(await ids({})).toEqual(['run-d', 'run-c', 'run-b', 'run-a'])
    expect(await ids({ workflow: 'build' })).toEqual(['run-d', 'run-c', 'run-a'])
    expect(await ids({ status: 'failed' })).toEqual(['run-c', 'run-b'])
    expect(await ids({ status: ['failed', 'succeeded'], workflow: 'build' })).toEqual(['run-d', 'run-c', 'run-a'])
    expect(await ids({ status: [] })).toEqual([])
    expect(await ids({ since: minutes(1), until: minutes(3) })).toEqual(['run-c', 'run-b'])
    expect(await ids({ limit: 2 })).toEqual(['run-d', 'run-c'])
    expect(await ids({ limit: 2, offset: 2 })).toEqual(['run-b', 'run-a'])
    await expect(db.listRuns({ status: 'exploded' as never })).rejects.toThrow('unknown run status "exploded"')

    const [latest] = await db.listRuns({ limit: 1 })
    expect(latest).toEqual({
      id: 'run-d',
      workflow: 'build',
      status: 'succeeded',
      startedAt: runs[3]!.startedAt.toISOString(),
      endedAt: runs[3]!.endedAt.toISOString(),
      durationMs: runs[3]!.endedAt.getTime() - runs[3]!.startedAt.getTime(),
    })
    expect(await db.getRun('run-c')).toEqual(toRunDocument(runs[2]!))
  })

  it('accepts a unique prefix of a run id, with clear errors otherwise', async () => {
    await insertRuns(db, [
      syntheticRun({ id: 'abc123', nodes: 2 }),
      syntheticRun({ id: 'abd456', nodes: 2 }),
      syntheticRun({ id: 'abd789', nodes: 2 }),
      syntheticRun({ id: 'ABE000', nodes: 2 }),
    ])
    expect((await db.getRun('abc')).id).toBe('abc123')
    expect(await db.resolveRunId('abd4')).toBe('abd456')
    expect(await db.resolveRunId('ABE')).toBe('ABE000')

    const ambiguous = await db.getRun('abd').catch((error: unknown) => error)
    expect(ambiguous).toBeInstanceOf(AmbiguousRunIdError)
    expect(ambiguous).toBeInstanceOf(WtflowError)
    expect(ambiguous).toMatchObject({
      code: 'WTFLOW_RUN_AMBIGUOUS',
      candidates: ['abd456', 'abd789'],
      message: 'run id prefix "abd" matches several runs (abd456, abd789); give more characters',
    })

    for (const missing of ['abe', 'zzz', '', 'a%', 'ab_']) {
      const error = await db.getRun(missing).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(RunNotFoundError)
      expect(error).toMatchObject({ code: 'WTFLOW_RUN_NOT_FOUND', message: `no run with id "${missing}"; \`wtflow runs\` lists the recorded runs` })
    }
  })

  it('gets a node with its attempts and artifacts, and names the nodes when the path is wrong', async () => {
    const run = syntheticRun({ id: 'node-run', nodes: 3 })
    await insertRuns(db, [run])
    const leaf = run.nodes[2]!
    const node = await db.getNode('node', leaf.path)
    expect(node).toEqual({
      runId: 'node-run',
      path: leaf.path,
      name: leaf.name,
      parentPath: leaf.parentPath,
      kind: 'command',
      display: leaf.display,
      status: 'succeeded',
      exitCode: 0,
      signal: null,
      error: null,
      skipReason: null,
      attemptCount: 1,
      attempts: [{ attempt: 1, status: 'succeeded', exitCode: 0, signal: null, error: null, startedAt: leaf.startedAt, endedAt: leaf.endedAt }],
      startedAt: leaf.startedAt,
      endedAt: leaf.endedAt,
      artifacts: leaf.artifacts.map(a => ({ ...a, attempt: 1 })),
      dir: path.join(run.runDir, ...leaf.path.split('/')),
    })
    const error = await db.getNode('node-run', 'root/nope').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NodeNotFoundError)
    expect(error).toMatchObject({
      code: 'WTFLOW_NODE_NOT_FOUND',
      message: `run node-run has no node "root/nope"; its nodes are ${run.nodes.map(n => `"${n.path}"`).join(', ')}`,
    })
  })

  it('deletes runs older than a date with their records and artifact directories', async () => {
    const artifactsDir = path.join(t.dir, 'artifacts')
    const runs = [0, 1, 2, 3].map(i => syntheticRun({ id: `old-or-new-${i}`, startedAt: minutes(i * 10), nodes: 4, artifactsDir }))
    for (const run of runs) {
      await fs.mkdir(path.join(run.runDir, 'root'), { recursive: true })
      await fs.writeFile(path.join(run.runDir, 'root', 'stdout.log'), 'x')
    }
    const stray = path.join(artifactsDir, 'not-a-run')
    await fs.mkdir(stray)
    await insertRuns(db, runs)

    const result = await db.deleteRunsBefore(minutes(15))
    expect(result).toEqual({ deletedRuns: ['old-or-new-0', 'old-or-new-1'], removedDirs: [runs[0]!.runDir, runs[1]!.runDir], failures: [] })
    expect((await db.listRuns()).map(r => r.id)).toEqual(['old-or-new-3', 'old-or-new-2'])
    await expect(fs.stat(runs[0]!.runDir)).rejects.toThrow(/ENOENT/)
    expect((await fs.stat(runs[2]!.runDir)).isDirectory()).toBe(true)
    expect((await fs.stat(stray)).isDirectory()).toBe(true)
    for (const table of ['nodes', 'attempts', 'artifacts'] as const) {
      const rows = await db.db.selectFrom(table).select('run_id').distinct().orderBy('run_id').execute()
      expect(rows.map(r => r.run_id)).toEqual(['old-or-new-2', 'old-or-new-3'])
    }
    expect(await db.deleteRunsBefore(minutes(15))).toEqual({ deletedRuns: [], removedDirs: [], failures: [] })
  })

  it('never deletes a running run, nor a directory not named after its run', async () => {
    const odd = syntheticRun({ id: 'odd', startedAt: minutes(0), nodes: 2 })
    odd.runDir = t.dir
    await insertRuns(db, [odd])
    await db.db.updateTable('runs').set({ status: 'running', heartbeat_at: Date.now(), pid: process.pid, host: 'elsewhere' }).execute()
    expect((await db.deleteRunsBefore(minutes(5))).deletedRuns).toEqual([])

    await db.db.updateTable('runs').set({ status: 'failed' }).execute()
    const result = await db.deleteRunsBefore(minutes(5))
    expect(result).toEqual({
      deletedRuns: ['odd'],
      removedDirs: [],
      failures: [{ path: t.dir, error: 'not removed: the directory is not named after run odd' }],
    })
    expect((await fs.stat(t.dir)).isDirectory()).toBe(true)
  })
})
