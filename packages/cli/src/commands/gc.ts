import type { WtflowConfig } from '@wtflow/core'
import type { GcOptions, GcResult, HistoryDatabase } from '@wtflow/db'
import { CliError, ExitCode } from '../errors.js'
import { openHistoryForReading, readConfig } from '../history.js'
import type { GcCommandOptions } from '../main.js'
import { formatBytes, outputFor, writeOut } from '../terminal.js'

const HOUR_MS = 3_600_000

/** `wtflow gc [--older-than 30d] [--keep-last N] [--status S]… [--dry-run] [--json] [--vacuum]` */
export async function gcCommand(options: GcCommandOptions): Promise<number> {
  const config = await readConfig(options.config)
  const olderThan = options.olderThan ?? (options.keepLast === undefined ? config.retentionOlderThan : null)
  const keepLast = options.keepLast ?? (options.olderThan === undefined ? config.retentionKeepLast : null)
  if (olderThan === null && keepLast === null) {
    throw new CliError('say what to delete: --older-than DURATION (e.g. 30d) and/or --keep-last N, or set [retention] older_than / keep_last (WTFLOW_RETENTION_OLDER_THAN, WTFLOW_RETENTION_KEEP_LAST). Add --dry-run to see what would go.')
  }
  const db = await openHistoryForReading(config)
  if (db === null) {
    if (options.json === true) writeOut(process.stdout, `${JSON.stringify(emptyResult(options.dryRun === true), null, 2)}\n`)
    else writeOut(process.stdout, 'nothing to delete: no run has been recorded yet\n')
    return ExitCode.ok
  }
  try {
    const gc: GcOptions = { artifactsDir: config.artifactsDir, dryRun: options.dryRun === true }
    if (olderThan !== null) gc.endedBefore = new Date(Date.now() - olderThan)
    if (keepLast !== null) gc.keepLast = keepLast
    if (options.status !== undefined) gc.statuses = options.status as GcOptions['statuses']
    const result = await db.collectGarbage(gc)
    let vacuumed = false
    if (options.vacuum === true && result.dryRun === false) vacuumed = await db.vacuum()
    if (options.json === true) {
      writeOut(process.stdout, `${JSON.stringify(result, null, 2)}\n`)
    } else {
      const out = outputFor(process.stdout)
      if (result.dryRun) for (const run of result.runs) out.write(`would delete run ${run.id}  ${run.workflow}  ${run.status}  ended ${run.endedAt ?? 'unknown'}\n`)
      for (const dir of result.orphanDirs) out.write(out.style.dim(`${result.dryRun ? 'would remove' : 'removed'} ${dir}: a run directory history does not know\n`))
      out.write(`${summarize(result)}\n`)
      if (options.vacuum === true && !result.dryRun) out.write(out.style.dim(vacuumed ? 'the SQLite file was compacted (VACUUM)\n' : '--vacuum applies to SQLite; PostgreSQL reclaims the space itself (autovacuum)\n'))
      for (const failure of result.failures) out.write(out.style.yellow(`could not remove ${failure.path}: ${failure.error}\n`))
    }
    return result.failures.length > 0 ? ExitCode.failed : ExitCode.ok
  } finally {
    await db.close()
  }
}

/** `deleted 12 runs (340 nodes), freed 1.2 MB` */
export function summarize(result: GcResult): string {
  const runs = `${result.runs.length} run${result.runs.length === 1 ? '' : 's'} (${result.nodes} node${result.nodes === 1 ? '' : 's'})`
  const orphans = result.orphanDirs.length === 0 ? '' : ` and ${result.orphanDirs.length} orphan run director${result.orphanDirs.length === 1 ? 'y' : 'ies'}`
  return result.dryRun ? `would delete ${runs}${orphans}, freeing ${formatBytes(result.bytes)} (dry run: nothing was deleted)` : `deleted ${runs}${orphans}, freed ${formatBytes(result.bytes)}`
}

function emptyResult(dryRun: boolean): GcResult {
  return { dryRun, runs: [], nodes: 0, bytes: 0, orphanDirs: [], failures: [] }
}

/**
 * `[retention]` after a `wtflow run`: at most once an hour across every process on this history
 * (the first to claim it does it). Never fails the run: a problem is one warning line.
 */
export async function applyRetention(db: HistoryDatabase, config: WtflowConfig, note: (line: string) => void): Promise<void> {
  const { retentionOlderThan: olderThan, retentionKeepLast: keepLast } = config
  if (olderThan === null && keepLast === null) return
  try {
    if (!(await db.claimMaintenance('retention', HOUR_MS))) return
    const gc: GcOptions = { artifactsDir: config.artifactsDir }
    if (olderThan !== null) gc.endedBefore = new Date(Date.now() - olderThan)
    if (keepLast !== null) gc.keepLast = keepLast
    const result = await db.collectGarbage(gc)
    if (result.runs.length > 0 || result.orphanDirs.length > 0) note(`retention: ${summarize(result)}`)
  } catch (error) {
    note(`warning: retention ([retention] settings) could not run: ${error instanceof Error ? error.message : String(error)}; the run itself is recorded`)
  }
}


