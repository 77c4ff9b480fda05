/**
 * `wtflow gc`: deletes whole runs (history rows, then artifact directories) and sweeps run
 * directories history no longer knows. Safe to interrupt and run again: a batch of runs leaves
 * history in one statement (their nodes, attempts and artifacts cascade with it), so no run is
 * ever half there; directories go after their rows, and one left behind by an interrupted gc is
 * an orphan the next gc sweeps.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { RunStatus } from '@wtflow/core'
import { encodePathSegment } from '@wtflow/core/internal'
import { sql, type Kysely } from 'kysely'
import type { HistorySchema } from './schema.js'

export interface GcOptions {
  /** Delete runs that ended before this moment (a crashed run without an end: by its last heartbeat). */
  endedBefore?: Date
  /** Keep the newest N runs of each workflow, whatever their age. Alone (no `endedBefore`): delete every older run. */
  keepLast?: number
  /** Only runs with these statuses (never `running` or `queued`). */
  statuses?: readonly RunStatus[]
  /** Report what would be deleted; delete nothing. */
  dryRun?: boolean
  /** The artifact store: run directories under it that history does not know are swept. */
  artifactsDir?: string
  /**
   * An orphan directory is swept only when it was last changed before this (default:
   * `endedBefore`, else an hour ago): a run's directory exists a moment before its row does.
   */
  orphansBefore?: Date
  /** Runs per delete statement (default 500). */
  batchSize?: number
}

export interface GcResult {
  dryRun: boolean
  /** The runs deleted (or that would be). */
  runs: Array<{ id: string; workflow: string; status: string; endedAt: string | null }>
  /** Nodes of those runs. */
  nodes: number
  /** Bytes of their recorded artifacts plus the orphan directories' files. */
  bytes: number
  /** Run directories history did not know, removed (or that would be). */
  orphanDirs: string[]
  /** Directories that could not be removed (their runs' rows are gone all the same). */
  failures: Array<{ path: string; error: string }>
}

const NEVER: readonly string[] = ['running', 'queued']

/** Deletes what `options` select; see `GcOptions`. Crashed runs must have been reaped first. */
export async function collectGarbage(db: Kysely<HistorySchema>, options: GcOptions): Promise<GcResult> {
  const doomed = await selectRuns(db, options)
  const result: GcResult = {
    dryRun: options.dryRun === true,
    runs: doomed.map(run => ({ id: run.id, workflow: run.workflow, status: run.status, endedAt: run.ended_at === null ? null : new Date(Number(run.ended_at)).toISOString() })),
    nodes: doomed.reduce((sum, run) => sum + Number(run.node_count), 0),
    bytes: 0,
    orphanDirs: [],
    failures: [],
  }
  const batch = options.batchSize ?? 500
  for (let i = 0; i < doomed.length; i += batch) {
    const ids = doomed.slice(i, i + batch).map(run => run.id)
    const { bytes } = await db
      .selectFrom('artifacts')
      .select(sql<string | number | null>`sum(size)`.as('bytes'))
      .where('run_id', 'in', ids)
      .executeTakeFirstOrThrow()
    result.bytes += Number(bytes ?? 0)
    if (result.dryRun) continue
    // Never a run that started again meanwhile (a queued placeholder, a run id reused): the status is checked in the same statement.
    await db.deleteFrom('runs').where('id', 'in', ids).where('status', 'not in', NEVER).execute()
  }
  if (!result.dryRun) {
    for (const run of doomed) await removeRunDir(run.run_dir, run.id, result)
  }
  if (options.artifactsDir !== undefined) await sweepOrphans(db, options, result)
  return result
}

async function selectRuns(db: Kysely<HistorySchema>, options: GcOptions) {
  const { endedBefore, keepLast, statuses } = options
  if (endedBefore === undefined && keepLast === undefined) throw new TypeError('collectGarbage needs endedBefore or keepLast')
  // Newest first within each workflow: the rank says which are the newest N.
  const ranked = db
    .selectFrom('runs')
    .select(['id', 'workflow', 'status', 'ended_at', 'heartbeat_at', 'run_dir', 'node_count', sql<number>`row_number() over (partition by workflow order by started_at desc, id desc)`.as('rank')])
    .as('ranked')
  let query = db.selectFrom(ranked).selectAll().where('status', 'not in', NEVER)
  if (keepLast !== undefined) query = query.where('rank', '>', keepLast)
  if (endedBefore !== undefined) query = query.where(sql<number>`coalesce(ended_at, heartbeat_at)`, '<', endedBefore.getTime())
  if (statuses !== undefined) {
    const wanted = statuses.filter(status => !NEVER.includes(status))
    if (wanted.length === 0) return []
    query = query.where('status', 'in', wanted)
  }
  return query.orderBy('ended_at').orderBy('id').execute()
}

/** Removes a run's directory: only ever one named after the run (a damaged row must not remove anything else). */
async function removeRunDir(dir: string, runId: string, result: GcResult): Promise<void> {
  if (!path.isAbsolute(dir) || path.basename(dir) !== encodePathSegment(runId)) {
    result.failures.push({ path: dir, error: `not removed: the directory is not named after run ${runId}` })
    return
  }
  try {
    await fs.rm(dir, { recursive: true, force: true })
  } catch (error) {
    result.failures.push({ path: dir, error: error instanceof Error ? error.message : String(error) })
  }
}

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Run directories (named like run ids) that history does not know and that nothing changed since the cutoff. */
async function sweepOrphans(db: Kysely<HistorySchema>, options: GcOptions, result: GcResult): Promise<void> {
  const root = options.artifactsDir!
  let entries: string[]
  try {
    entries = (await fs.readdir(root, { withFileTypes: true })).filter(entry => entry.isDirectory() && RUN_ID.test(entry.name)).map(entry => entry.name)
  } catch {
    return
  }
  const cutoff = (options.orphansBefore ?? options.endedBefore ?? new Date(Date.now() - 3_600_000)).getTime()
  for (let i = 0; i < entries.length; i += 500) {
    const names = entries.slice(i, i + 500)
    const known = new Set((await db.selectFrom('runs').select('id').where('id', 'in', names).execute()).map(row => row.id))
    for (const name of names) {
      if (known.has(name)) continue
      const dir = path.join(root, name)
      const { newest, bytes } = await scan(dir)
      if (newest >= cutoff) continue
      result.orphanDirs.push(dir)
      result.bytes += bytes
      if (!result.dryRun) await removeRunDir(dir, name, result)
    }
  }
}

/** The newest change time and the total size of the files under a directory. */
async function scan(dir: string): Promise<{ newest: number; bytes: number }> {
  let newest = 0
  let bytes = 0
  const stack = [dir]
  while (stack.length > 0) {
    const current = stack.pop()!
    const stat = await fs.lstat(current).catch(() => null)
    if (stat === null) continue
    newest = Math.max(newest, stat.mtimeMs)
    if (stat.isDirectory()) {
      for (const entry of await fs.readdir(current).catch(() => [] as string[])) stack.push(path.join(current, entry))
    } else {
      bytes += stat.size
    }
  }
  return { newest, bytes }
}

/** Claims the hourly retention pass: true for exactly one caller per `everyMs` across processes. */
export async function claimMaintenance(db: Kysely<HistorySchema>, task: string, everyMs: number, now = Date.now()): Promise<boolean> {
  await db.insertInto('maintenance').values({ task, last_at: 0 }).onConflict(oc => oc.column('task').doNothing()).execute()
  const updated = await db.updateTable('maintenance').set({ last_at: now }).where('task', '=', task).where('last_at', '<=', now - everyMs).executeTakeFirst()
  return Number(updated.numUpdatedRows) === 1
}
