import os from 'node:os'
import type { HistoryDatabase } from '@wtflow/db'
import { isPidAlive } from '@wtflow/db'

/** What a queued run was asked for, as `run_requests.request` keeps it. */
export interface StoredRequest {
  inputs: Record<string, unknown>
  /** The flow document of an inline flow. */
  flow?: unknown
  /** A resume: the run it resumes, and the node paths to run again (`--rerun`). */
  resume?: { from: string; rerun: string[] }
}

export interface QueuedRun {
  id: string
  kind: 'workflow' | 'flow'
  workflow: string
  script: string | null
  request: StoredRequest
  queuedAt: number
  claimedBy: string | null
  error: string | null
}

export interface NewQueuedRun {
  id: string
  kind: 'workflow' | 'flow'
  workflow: string
  script: string | null
  request: StoredRequest
  runDir: string
  nodeCount: number
}

/** `host:pid` of this process: what a claim records. */
export function claimerId(): string {
  return `${os.hostname()}:${process.pid}`
}

/** A claim made `cancelled` keeps every server from starting the run. */
const CANCELLED = 'cancelled'

/** A claim this old on a run still queued is given up (its server died before the run started). */
const STALE_CLAIM_MS = 5 * 60_000

/**
 * Runs waiting for a slot of `wtflow serve`, in history (migration `0003_run_requests`): a
 * `runs` row with status `queued` and digest `''` (the start replaces it, see db's
 * `insertRun`), and the request in `run_requests`. A server takes one with an atomic claim, so
 * servers sharing a history never start a run twice.
 */
export class QueueStore {
  constructor(
    readonly db: HistoryDatabase,
    readonly claimer: string = claimerId(),
  ) {}

  /** Records a run as queued, in one transaction. */
  async enqueue(run: NewQueuedRun): Promise<void> {
    const now = Date.now()
    const [host, pid] = splitClaimer(this.claimer)
    await this.db.db.transaction().execute(async tx => {
      // runs.workflow/digest refer to workflows; '' is the digest of a run not started yet.
      await tx.insertInto('workflows').values({ name: run.workflow, digest: '', first_run_at: now }).onConflict(oc => oc.doNothing()).execute()
      await tx
        .insertInto('runs')
        .values({
          id: run.id,
          workflow: run.workflow,
          digest: '',
          status: 'queued',
          exit_code: null,
          started_at: now,
          ended_at: null,
          heartbeat_at: now,
          host,
          pid,
          run_dir: run.runDir,
          config: '{}',
          node_count: run.nodeCount,
        })
        .execute()
      await tx
        .insertInto('run_requests')
        .values({
          run_id: run.id,
          kind: run.kind,
          workflow: run.workflow,
          script: run.script,
          request: JSON.stringify(run.request),
          queued_at: now,
          claimed_by: null,
          claimed_at: null,
          error: null,
        })
        .execute()
    })
  }

  /** The oldest queued, unclaimed runs of these workflows (`null`: any workflow). */
  async waiting(limit: number, workflows: readonly string[] | null, kinds: readonly string[]): Promise<QueuedRun[]> {
    if (limit <= 0 || (workflows !== null && workflows.length === 0) || kinds.length === 0) return []
    let query = this.db.db
      .selectFrom('runs')
      .innerJoin('run_requests', 'run_requests.run_id', 'runs.id')
      .select(['runs.id', 'run_requests.kind', 'run_requests.workflow', 'run_requests.script', 'run_requests.request', 'run_requests.queued_at', 'run_requests.claimed_by', 'run_requests.error'])
      .where('runs.status', '=', 'queued')
      .where('run_requests.claimed_by', 'is', null)
      .where('run_requests.kind', 'in', kinds)
    if (workflows !== null) query = query.where('run_requests.workflow', 'in', workflows)
    const rows = await query.orderBy('runs.started_at').orderBy('runs.id').limit(limit).execute()
    return rows.map(toQueuedRun)
  }

  /** The request of one run, or undefined. */
  async get(id: string): Promise<QueuedRun | undefined> {
    const row = await this.db.db
      .selectFrom('run_requests')
      .select(['run_id as id', 'kind', 'workflow', 'script', 'request', 'queued_at', 'claimed_by', 'error'])
      .where('run_id', '=', id)
      .executeTakeFirst()
    return row === undefined ? undefined : toQueuedRun(row)
  }

  /** Takes a queued run for this server; false when another server (or a cancel) was first. */
  async claim(id: string): Promise<boolean> {
    const result = await this.db.db
      .updateTable('run_requests')
      .set({ claimed_by: this.claimer, claimed_at: Date.now() })
      .where('run_id', '=', id)
      .where('claimed_by', 'is', null)
      .executeTakeFirst()
    return result.numUpdatedRows === 1n
  }

  /**
   * Cancels a run that has not started: true if it was waiting (it is now `cancelled`), false
   * if a server had already taken it.
   */
  async cancelQueued(id: string): Promise<boolean> {
    return this.db.db.transaction().execute(async tx => {
      const claimed = await tx
        .updateTable('run_requests')
        .set({ claimed_by: CANCELLED, claimed_at: Date.now() })
        .where('run_id', '=', id)
        .where('claimed_by', 'is', null)
        .executeTakeFirst()
      if (claimed.numUpdatedRows !== 1n) return false
      await tx.updateTable('runs').set({ status: 'cancelled', exit_code: 130, ended_at: Date.now() }).where('id', '=', id).where('status', '=', 'queued').execute()
      return true
    })
  }

  /** A claimed run that could not start (its workflow is gone, its tree no longer valid): `failed`, with the reason. */
  async failToStart(id: string, error: string): Promise<void> {
    await this.db.db.transaction().execute(async tx => {
      await tx.updateTable('run_requests').set({ error }).where('run_id', '=', id).execute()
      await tx.updateTable('runs').set({ status: 'failed', exit_code: 2, ended_at: Date.now() }).where('id', '=', id).where('status', '=', 'queued').execute()
    })
  }

  /**
   * Gives back the claims of servers that died between claiming a run and starting it: same
   * host and the pid is gone, or (other hosts) the claim is older than a few minutes.
   */
  async releaseDeadClaims(): Promise<number> {
    const claimed = await this.db.db
      .selectFrom('runs')
      .innerJoin('run_requests', 'run_requests.run_id', 'runs.id')
      .select(['runs.id', 'run_requests.claimed_by', 'run_requests.claimed_at'])
      .where('runs.status', '=', 'queued')
      .where('run_requests.claimed_by', 'is not', null)
      .where('run_requests.claimed_by', '!=', CANCELLED)
      .execute()
    const host = os.hostname()
    let released = 0
    for (const row of claimed) {
      const [claimHost, pid] = splitClaimer(row.claimed_by!)
      const dead = claimHost === host ? pid !== process.pid && !isPidAlive(pid) : Date.now() - Number(row.claimed_at ?? 0) > STALE_CLAIM_MS
      if (!dead) continue
      const result = await this.db.db
        .updateTable('run_requests')
        .set({ claimed_by: null, claimed_at: null })
        .where('run_id', '=', row.id)
        .where('claimed_by', '=', row.claimed_by)
        .executeTakeFirst()
      if (result.numUpdatedRows === 1n) released++
    }
    return released
  }
}

function splitClaimer(claimer: string): [string, number] {
  const colon = claimer.lastIndexOf(':')
  return [claimer.slice(0, colon), Number(claimer.slice(colon + 1))]
}

function toQueuedRun(row: {
  id: string
  kind: string
  workflow: string
  script: string | null
  request: string
  queued_at: number
  claimed_by: string | null
  error: string | null
}): QueuedRun {
  return {
    id: row.id,
    kind: row.kind === 'flow' ? 'flow' : 'workflow',
    workflow: row.workflow,
    script: row.script,
    request: JSON.parse(row.request) as StoredRequest,
    queuedAt: Number(row.queued_at),
    claimedBy: row.claimed_by,
    error: row.error,
  }
}
