import { existsSync, statSync } from 'node:fs'
import path from 'node:path'
import { isWtflowError, type WtflowConfig } from '@wtflow/core'
import type { CrashReport, HistoryDatabase } from '@wtflow/db'
import { CliError } from './errors.js'
import { writeOut } from './terminal.js'

/**
 * Reads the configuration (`--config`, `WTFLOW_*`, `wtflow.ini`); a bad value is a `ConfigError`
 * (exit 2). Without `--config` or `WTFLOW_CONFIG`, the project root is found like git finds
 * `.git`: the nearest directory, from here up, holding `wtflow.ini` or `.wtflow/`. Its INI is read
 * and default paths (`.wtflow/wtflow.db`, `.wtflow/artifacts`) resolve there, so a command typed
 * in a subdirectory sees the same history.
 */
export async function readConfig(configFile: string | undefined): Promise<WtflowConfig> {
  const { loadConfig } = await import('@wtflow/core')
  if (configFile !== undefined) return loadConfig({ configFile: path.resolve(configFile) })
  const explicit = process.env.WTFLOW_CONFIG !== undefined && process.env.WTFLOW_CONFIG !== ''
  return loadConfig(explicit ? {} : { cwd: findProjectRoot(process.cwd()) ?? process.cwd() })
}

/** The nearest directory from `dir` up holding `wtflow.ini` or `.wtflow/`; null if none does. */
export function findProjectRoot(dir: string): string | null {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (existsSync(path.join(current, 'wtflow.ini')) || isDirectory(path.join(current, '.wtflow'))) return current
    if (path.dirname(current) === current) return null
  }
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory()
  } catch {
    return false
  }
}

/**
 * Opens run history for `wtflow run`: null when tracking is off (`database.url = none`).
 * A database that cannot be opened is a one-paragraph error (exit 2) before anything runs.
 */
export async function openHistoryForRun(config: WtflowConfig): Promise<HistoryDatabase | null> {
  if (config.database.kind === 'none') return null
  return open(config)
}

/**
 * Opens run history for `runs`, `show` and `logs`. Null when there is no history yet (the
 * SQLite file does not exist: reading must not create it). Tracking off is an error that says
 * how to turn it on.
 */
export async function openHistoryForReading(config: WtflowConfig): Promise<HistoryDatabase | null> {
  if (config.database.kind === 'none') {
    throw new CliError(
      `run history is off (database.url is "none", from ${config.sources['database.url']}), so there is nothing to read. ` +
        'Unset it to use the default SQLite file .wtflow/wtflow.db, or point WTFLOW_DB_URL at your database.',
    )
  }
  if (config.database.kind === 'sqlite' && !existsSync(config.database.path)) return null
  return open(config)
}

async function open(config: WtflowConfig): Promise<HistoryDatabase> {
  const { openDatabase } = await import('@wtflow/db')
  const { describeDatabase } = await import('@wtflow/core')
  const source = config.sources['database.url']
  try {
    const onUpgrade = (pending: string[]) =>
      writeOut(process.stderr, `wtflow: upgrading the run history ${describeDatabase(config.database)} to the current schema (${pending.join(', ')}); on a large history this takes a while…\n`)
    const onCrash = (report: CrashReport) => {
      const stopped = report.stopped.map(({ pid, command }) => `pid ${pid} (${command.length > 60 ? `${command.slice(0, 59)}…` : command})`)
      writeOut(
        process.stderr,
        `wtflow: run ${report.runId.slice(0, 8)} crashed: ${report.reason}; it is recorded as crashed${stopped.length === 0 ? '' : `, and the ${stopped.length === 1 ? 'process' : `${stopped.length} processes`} it left running ${stopped.length === 1 ? 'was' : 'were'} stopped: ${stopped.join(', ')}`}\n`,
      )
    }
    const db = await openDatabase(config.database, { source, onUpgrade, onCrash })
    if (db === null) throw new Error('tracking is off')
    return db
  } catch (error) {
    // Connection problems already come as ConfigError (key, source, what to check).
    if (isWtflowError(error, 'WTFLOW_CONFIG') || isWtflowError(error, 'WTFLOW_DB_NEWER') || isWtflowError(error, 'WTFLOW_DB_FOREIGN')) throw error
    const message = error instanceof Error ? error.message : String(error)
    throw new CliError(
      `cannot open the run history database ${describeDatabase(config.database)} (database.url from ${source}): ${message}. ` +
        'Check the URL and that the database is reachable and writable, or set WTFLOW_DB_URL=none to run without history.',
      { cause: error },
    )
  }
}
