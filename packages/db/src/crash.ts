import type { Kysely } from 'kysely'
import { deathOf, type LivenessOptions } from './liveness.js'
import type { HistorySchema } from './schema.js'

/** A `running` run as crash detection reads it. */
export interface LiveRunRow {
  id: string
  host: string
  pid: number
  heartbeat_at: number
  started_at: number
}

/**
 * Marks every `running` run whose process is gone as `crashed` (see `LivenessOptions`); its
 * running nodes become `cancelled` and its pending nodes `skipped`, each saying why. Resolves to
 * the ids it marked.
 */
export async function reapCrashedRuns(db: Kysely<HistorySchema>, liveness: Required<LivenessOptions>): Promise<string[]> {
  const running = await db.selectFrom('runs').select(['id', 'host', 'pid', 'heartbeat_at', 'started_at']).where('status', '=', 'running').execute()
  const reaped: string[] = []
  const now = Date.now()
  for (const run of running) {
    const reason = deathOf(run, liveness, now)
    if (reason !== null && (await markCrashed(db, run, reason))) reaped.push(run.id)
  }
  return reaped
}

/** Marks one run crashed; false if another reader (or the run's end) got there first. */
export async function markCrashed(db: Kysely<HistorySchema>, run: Pick<LiveRunRow, 'id' | 'heartbeat_at' | 'started_at'>, reason: string): Promise<boolean> {
  const last = await db
    .selectFrom('nodes')
    .select(eb => [eb.fn.max('started_at').as('started'), eb.fn.max('ended_at').as('ended')])
    .where('run_id', '=', run.id)
    .executeTakeFirst()
  // The last moment the process is known to have been alive.
  const endedAt = Math.max(run.started_at, run.heartbeat_at, Number(last?.started ?? 0), Number(last?.ended ?? 0))
  const crash = JSON.stringify({ name: 'RunCrashed', code: 'WTFLOW_RUN_CRASHED' })
  return db.transaction().execute(async tx => {
    const marked = await tx
      .updateTable('runs')
      .set({ status: 'crashed', ended_at: endedAt })
      .where('id', '=', run.id)
      .where('status', '=', 'running')
      .executeTakeFirst()
    if (marked.numUpdatedRows === 0n) return false
    await tx
      .updateTable('nodes')
      .set({ status: 'cancelled', error_message: `${reason} while this node was running`, error_detail: crash, ended_at: endedAt })
      .where('run_id', '=', run.id)
      .where('status', '=', 'running')
      .execute()
    await tx
      .updateTable('nodes')
      .set({ status: 'skipped', skip_reason: `${reason} before this node started` })
      .where('run_id', '=', run.id)
      .where('status', '=', 'pending')
      .execute()
    return true
  })
}

/** Marks the run crashed if its process is gone; true if it did (the caller reads the row again). */
export async function reapIfDead(db: Kysely<HistorySchema>, run: LiveRunRow, liveness: Required<LivenessOptions>): Promise<boolean> {
  const reason = deathOf(run, liveness, Date.now())
  return reason !== null && (await markCrashed(db, run, reason))
}
