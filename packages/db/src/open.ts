import type { DatabaseTarget } from '@wtflow/core'
import type { HistoryDialect } from './dialect/history-dialect.js'
import { HistoryDatabase } from './history.js'
import type { CrashReport } from './crash.js'
import type { LivenessOptions } from './liveness.js'

export interface OpenDatabaseOptions extends LivenessOptions {
  /**
   * Where the URL came from, named in connection errors: pass `config.sources['database.url']`
   * (e.g. `environment variable WTFLOW_DB_URL` or `/repo/wtflow.ini:3`).
   */
  source?: string
  /** Bring the schema up to date on open (default true). */
  migrate?: boolean
  /**
   * Called before migrations run on a database that already holds history (not on a new one),
   * with their names: upgrading a large history takes a while, and whoever waits should be told.
   */
  onUpgrade?: (pending: string[]) => void
  /** PostgreSQL: the schema holding the tables, created if missing (default `wtflow`). */
  schema?: string
  /** PostgreSQL: fail after this long when the server does not answer (default 5000 ms). */
  connectTimeoutMs?: number
  /** PostgreSQL: `application_name` of the connections (default `wtflow`). */
  applicationName?: string
  /** PostgreSQL: a statement with no answer after this long fails and is retried (default 10000 ms). */
  queryTimeoutMs?: number
  /** SQLite: how long to wait for another process's write lock (default 5000 ms). */
  busyTimeoutMs?: number
  /** Told about each run this handle finds crashed: why, and which processes it left running were stopped. */
  onCrash?: (report: CrashReport) => void
}

// Each dialect is imported when used: a SQLite user never loads pg, nor the reverse.
const importSqliteDialect = () => import('./dialect/sqlite/sqlite-history-dialect.js')
const importPostgresDialect = () => import('./dialect/postgres/postgres-history-dialect.js')

/**
 * Loads the driver `openDatabase(target)` will need, without connecting. A process that is
 * about to register module hooks (the CLI, before tsx) calls it first: imports made after
 * such hooks exist are several times slower.
 */
export async function preloadDatabaseDriver(target: DatabaseTarget): Promise<void> {
  if (target.kind === 'sqlite') await importSqliteDialect()
  else if (target.kind === 'postgres') await importPostgresDialect()
}

/**
 * Opens run history. `none` turns tracking off and resolves to `null` (pass it on to
 * `attachRecorder`, which then records nothing). SQLite files and their parent directories
 * are created; PostgreSQL connection problems fail within `connectTimeoutMs` with a
 * `ConfigError` that names the URL's source and never shows its password.
 *
 * @example
 * const config = loadConfig()
 * const db = await openDatabase(config.database, { source: config.sources['database.url'] })
 * const latest = await db?.listRuns({ limit: 10 })
 * await db?.close()
 */
export async function openDatabase(target: DatabaseTarget, options: OpenDatabaseOptions = {}): Promise<HistoryDatabase | null> {
  let dialect: HistoryDialect
  switch (target.kind) {
    case 'none':
      return null
    case 'sqlite': {
      const { sqliteHistoryDialect } = await importSqliteDialect()
      dialect = sqliteHistoryDialect(target.path, { busyTimeoutMs: options.busyTimeoutMs, source: options.source })
      break
    }
    case 'postgres': {
      const { postgresHistoryDialect } = await importPostgresDialect()
      dialect = postgresHistoryDialect(target.url, options)
      break
    }
  }
  const db = new HistoryDatabase(await dialect.connect(), dialect, options)
  if (options.migrate ?? true) {
    try {
      await db.migrateToLatest({ onUpgrade: options.onUpgrade })
    } catch (error) {
      await db.close()
      throw error
    }
  }
  return db
}
