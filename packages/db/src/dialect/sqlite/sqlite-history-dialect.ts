import fs from 'node:fs'
import path from 'node:path'
import { ConfigError } from '@wtflow/core'
import Database from 'better-sqlite3'
import { Kysely, SqliteAdapter, SqliteDialect, sql, type DialectAdapter } from 'kysely'
import type { HistorySchema } from '../../schema.js'
import type { HistoryDialect } from '../history-dialect.js'
import { pathKey } from '../../writes.js'
import { isTransientSqliteError } from './sqlite-errors.js'
import { StatementCache } from './statement-cache.js'

export interface SqliteHistoryOptions {
  /** Where the path came from, named in errors (e.g. `environment variable WTFLOW_DB_URL`). */
  source?: string | undefined
  /** How long a statement waits for another process's lock before failing (default 5000 ms). */
  busyTimeoutMs?: number | undefined
}

/**
 * History in an SQLite file through better-sqlite3. WAL lets readers and one writer work at
 * once; `synchronous = NORMAL` is safe with WAL (a power cut may lose the last commits, never
 * corrupt the file) and skips an fsync per commit; the busy timeout makes concurrent writers
 * (two runs at once) wait their turn instead of failing.
 */
export function sqliteHistoryDialect(file: string, options: SqliteHistoryOptions = {}): HistoryDialect {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  let cache: StatementCache | undefined
  return {
    name: 'sqlite',
    description: `sqlite://${file}`,
    schema: undefined,
    // SQLITE_MAX_VARIABLE_NUMBER of the SQLite that better-sqlite3 bundles.
    maxParameters: 32766,
    async connect() {
      let db: Database.Database
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true })
        db = new Database(file, { timeout: busyTimeoutMs })
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        throw new ConfigError('database.url', options.source ?? 'WTFLOW_DB_URL or [database] url', `cannot open the SQLite database ${file}: ${reason}`, {
          cause: error,
        })
      }
      try {
        db.pragma(`busy_timeout = ${busyTimeoutMs}`)
        db.pragma('journal_mode = WAL')
        db.pragma('synchronous = NORMAL')
        db.pragma('foreign_keys = ON')
        // SQLite's own default page cache (better-sqlite3 builds with a larger one): every MB this
        // process holds makes each fork (every command of a run) slower, and history queries stay
        // far under their targets with it.
        db.pragma('cache_size = -2000')
        // For migration 0002, which fills nodes.path_key from existing paths in SQL.
        db.function('wtflow_path_key', { deterministic: true }, (path: unknown) => pathKey(String(path)))
      } catch (error) {
        db.close()
        throw error
      }
      cache = new StatementCache(db, { busyTimeoutMs })
      return new Kysely<HistorySchema>({ dialect: new TransactionalDdlSqliteDialect({ database: cache }) })
    },
    async executeBatch(kysely, statements) {
      if (statements.length === 0) return
      // Kysely's connection is held (no other query or transaction runs meanwhile); the
      // statements then run synchronously in better-sqlite3, without a promise per statement.
      await kysely.connection().execute(async () => cache!.runInTransaction(statements))
    },
    isTransientError: isTransientSqliteError,
    clock: null,
    async listTables(db) {
      const { rows } = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db)
      return rows.map(row => row.name)
    },
  }
}

/**
 * SQLite's DDL is transactional, but kysely's adapter says otherwise, so its `Migrator` would
 * run migrations statement by statement. Saying so makes a migration (and the check of which
 * ones are applied) one `begin immediate` transaction: a process that opens the file while
 * another migrates waits for it, then finds the migration done; one that fails half-way
 * leaves nothing behind.
 */
class TransactionalDdlSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter()
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true
  }
}
