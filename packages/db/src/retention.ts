import fs from 'node:fs/promises'
import path from 'node:path'
import { encodePathSegment } from '@wtflow/core/internal'
import type { Kysely } from 'kysely'
import type { RetentionResult } from './records.js'
import type { HistorySchema } from './schema.js'

/**
 * Deletes the runs that started before `before` (never one still running) with their nodes,
 * attempts and artifact records, then (unless `removeArtifacts: false`) their artifact
 * directories. Crashed runs must have been reaped first (the caller does).
 */
export async function deleteRunsBefore(db: Kysely<HistorySchema>, before: Date, options: { removeArtifacts?: boolean } = {}): Promise<RetentionResult> {
  const doomed = await db.selectFrom('runs').select(['id', 'run_dir']).where('started_at', '<', before.getTime()).where('status', 'not in', ['running', 'queued']).execute()
  const result: RetentionResult = { deletedRuns: [], removedDirs: [], failures: [] }
  for (let i = 0; i < doomed.length; i += 500) {
    const ids = doomed.slice(i, i + 500).map(run => run.id)
    // Foreign keys cascade to nodes, attempts and artifacts.
    await db.deleteFrom('runs').where('id', 'in', ids).execute()
    result.deletedRuns.push(...ids)
  }
  if (options.removeArtifacts ?? true) {
    for (const run of doomed) {
      // Only ever a directory named after the run: a damaged row must not remove anything else.
      if (!path.isAbsolute(run.run_dir) || path.basename(run.run_dir) !== encodePathSegment(run.id)) {
        result.failures.push({ path: run.run_dir, error: `not removed: the directory is not named after run ${run.id}` })
        continue
      }
      try {
        await fs.rm(run.run_dir, { recursive: true, force: true })
        result.removedDirs.push(run.run_dir)
      } catch (error) {
        result.failures.push({ path: run.run_dir, error: error instanceof Error ? error.message : String(error) })
      }
    }
  }
  return result
}
