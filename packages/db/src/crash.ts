import { createHash } from 'node:crypto'
import { createReadStream, readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { findMarkedProcesses, nodeArtifactDir, terminateMarkedProcesses } from '@wtflow/core/internal'
import type { Kysely } from 'kysely'
import { deathOf, type LivenessOptions } from './liveness.js'
import type { HistorySchema, NewArtifactRow } from './schema.js'

/** A `running` run as crash detection reads it. */
export interface LiveRunRow {
  id: string
  host: string
  pid: number
  heartbeat_at: number
  started_at: number
  run_dir: string
  process_start: string | null
}

/** What was done about a run found crashed: told to `OpenDatabaseOptions.onCrash`. */
export interface CrashReport {
  runId: string
  /** Why its process is considered dead. */
  reason: string
  /** Processes the run had left running (found by its marker on this host), now stopped. */
  stopped: Array<{ pid: number; command: string }>
}

/** How long a crashed run's leftovers get between SIGTERM and SIGKILL. */
const LEFTOVER_GRACE_MS = 2000

/**
 * Finds runs whose process died and records the truth about them: the run `crashed`, its running
 * nodes `cancelled` (with what they had written as artifacts), its pending ones `skipped`; and,
 * on the host that ran it, the processes it left behind are stopped, so that `cancelled` is true.
 */
export class CrashReaper {
  constructor(
    readonly db: Kysely<HistorySchema>,
    readonly liveness: Required<LivenessOptions>,
    readonly onCrash: ((report: CrashReport) => void) | undefined,
    /** The clock heartbeats are judged by (the database's). */
    readonly now: () => Promise<number>,
  ) {}

  /** Marks every dead `running` run; resolves to the ids it marked. */
  async reapAll(): Promise<string[]> {
    const running = await this.db.selectFrom('runs').select(['id', 'host', 'pid', 'heartbeat_at', 'started_at', 'run_dir', 'process_start']).where('status', '=', 'running').execute()
    const reaped: string[] = []
    if (running.length === 0) return reaped
    const now = await this.now()
    for (const run of running) if (await this.reapIfDead(run, now)) reaped.push(run.id)
    return reaped
  }

  /** Marks the run crashed if its process is gone; true if it did (the caller reads the row again). */
  async reapIfDead(run: LiveRunRow, now?: number): Promise<boolean> {
    const reason = deathOf(run, this.liveness, now ?? (await this.now()))
    return reason !== null && (await this.markCrashed(run, reason))
  }

  /** Marks one run crashed; false if another reader (or the run's end) got there first. */
  async markCrashed(run: LiveRunRow, reason: string): Promise<boolean> {
    const db = this.db
    const last = await db
      .selectFrom('nodes')
      .select(eb => [eb.fn.max('started_at').as('started'), eb.fn.max('ended_at').as('ended')])
      .where('run_id', '=', run.id)
      .executeTakeFirst()
    // The last moment the process is known to have been alive.
    const endedAt = Math.max(run.started_at, run.heartbeat_at, Number(last?.started ?? 0), Number(last?.ended ?? 0))
    const running = await db.selectFrom('nodes').select(['ordinal', 'path']).where('run_id', '=', run.id).where('status', '=', 'running').execute()
    const artifacts = await leftArtifacts(run, running)
    const crash = JSON.stringify({ name: 'RunCrashed', code: 'WTFLOW_RUN_CRASHED' })
    const marked = await db.transaction().execute(async tx => {
      const updated = await tx.updateTable('runs').set({ status: 'crashed', ended_at: endedAt }).where('id', '=', run.id).where('status', '=', 'running').executeTakeFirst()
      if (updated.numUpdatedRows === 0n) return false
      await tx
        .updateTable('nodes')
        .set({ status: 'cancelled', error_message: `${reason} while this node was running`, error_detail: crash, ended_at: endedAt })
        .where('run_id', '=', run.id)
        .where('status', '=', 'running')
        .execute()
      await tx.updateTable('nodes').set({ status: 'skipped', skip_reason: `${reason} before this node started` }).where('run_id', '=', run.id).where('status', '=', 'pending').execute()
      if (artifacts.length > 0) await tx.insertInto('artifacts').values(artifacts).onConflict(oc => oc.doNothing()).execute()
      return true
    })
    if (!marked) return false
    const stopped = run.host === this.liveness.host ? await stopLeftovers(run.id) : []
    await removeEmptySpool(run.run_dir)
    this.onCrash?.({ runId: run.id, reason, stopped })
    return true
  }
}

/** Stops what the run left running on this host (found by its marker, so never a reused pid). */
async function stopLeftovers(runId: string): Promise<Array<{ pid: number; command: string }>> {
  const prefix = `${runId}:`
  const found = findMarkedProcesses(prefix).map(pid => ({ pid, command: commandOf(pid) }))
  if (found.length > 0) await terminateMarkedProcesses(prefix, LEFTOVER_GRACE_MS)
  return found
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || '?'
  } catch {
    return '?'
  }
}

/** The stdout/stderr files the crashed run's running nodes had written, as artifact rows. */
async function leftArtifacts(run: LiveRunRow, running: ReadonlyArray<{ ordinal: number; path: string }>): Promise<NewArtifactRow[]> {
  const rows: NewArtifactRow[] = []
  for (const node of running) {
    const dir = nodeArtifactDir(run.run_dir, node.path)
    for (const stream of ['stdout', 'stderr'] as const) {
      const file = path.join(dir, `${stream}.log`)
      const hashed = await hashFile(file)
      if (hashed === null) continue
      rows.push({ run_id: run.id, node_ordinal: node.ordinal, ordinal: rows.filter(row => row.node_ordinal === node.ordinal).length, name: stream, attempt: null, path: file, size: hashed.size, sha256: hashed.sha256 })
    }
  }
  return rows
}

async function hashFile(file: string): Promise<{ size: number; sha256: string } | null> {
  const hash = createHash('sha256')
  let size = 0
  try {
    for await (const chunk of createReadStream(file)) {
      hash.update(chunk as Buffer)
      size += (chunk as Buffer).length
    }
  } catch {
    return null
  }
  return { size, sha256: hash.digest('hex') }
}

/**
 * The run's spool holds the files of commands that wrote straight to disk and had not printed
 * yet (they move out with their first byte): empty ones are nobody's output.
 */
async function removeEmptySpool(runDir: string): Promise<void> {
  const spool = path.join(runDir, '%spool')
  let entries: string[]
  try {
    entries = await fs.readdir(spool)
  } catch {
    return
  }
  for (const entry of entries) {
    const file = path.join(spool, entry)
    const stat = await fs.stat(file).catch(() => null)
    if (stat !== null && stat.size === 0) await fs.rm(file, { force: true })
  }
  await fs.rmdir(spool).catch(() => {})
}
