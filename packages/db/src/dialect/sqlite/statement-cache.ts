import type BetterSqlite3 from 'better-sqlite3'
import type { SqliteDatabase, SqliteStatement } from 'kysely'

/**
 * Kysely's SQLite driver prepares every statement anew. The recorder and the history queries
 * repeat the same few SQL texts, so this wrapper keeps their prepared statements (bounded,
 * oldest dropped first). It also turns kysely's `begin` into `begin immediate`: a write
 * transaction takes the write lock up front, so the busy timeout applies instead of failing
 * with SQLITE_BUSY when another process wrote since our snapshot.
 */
export class StatementCache implements SqliteDatabase {
  readonly #db: BetterSqlite3.Database
  readonly #limit: number
  readonly #statements = new Map<string, SqliteStatement>()

  readonly #busyTimeoutMs: number

  constructor(db: BetterSqlite3.Database, options: { limit?: number; busyTimeoutMs: number }) {
    this.#db = db
    this.#limit = options.limit ?? 256
    this.#busyTimeoutMs = options.busyTimeoutMs
  }

  prepare(sql: string): SqliteStatement {
    const text = sql === 'begin' ? 'begin immediate' : sql
    let statement = this.#statements.get(text)
    if (statement === undefined) {
      statement = this.#db.prepare(text)
      if (this.#statements.size >= this.#limit) {
        this.#statements.delete(this.#statements.keys().next().value!)
      }
      this.#statements.set(text, statement)
    }
    return statement
  }

  /**
   * Runs statements in one `begin immediate` transaction, synchronously. Call it only while
   * holding kysely's connection (`db.connection().execute`), so no kysely transaction is open.
   * It never waits for another process's lock (better-sqlite3 would wait on the event loop's
   * thread, freezing a run's timeouts and signals): it fails with SQLITE_BUSY at once, and the
   * caller retries later.
   */
  runInTransaction(statements: ReadonlyArray<{ sql: string; parameters: ReadonlyArray<unknown> }>): void {
    this.#db.pragma('busy_timeout = 0')
    try {
      this.#transaction(statements)
    } finally {
      this.#db.pragma(`busy_timeout = ${this.#busyTimeoutMs}`)
    }
  }

  readonly #transaction = (statements: ReadonlyArray<{ sql: string; parameters: ReadonlyArray<unknown> }>): void => {
    this.#batch ??= this.#db.transaction((list: typeof statements) => {
      for (const { sql, parameters } of list) this.prepare(sql).run(parameters)
    })
    this.#batch.immediate(statements)
  }

  #batch: BetterSqlite3.Transaction<(list: ReadonlyArray<{ sql: string; parameters: ReadonlyArray<unknown> }>) => void> | undefined

  close(): void {
    this.#statements.clear()
    this.#db.close()
  }
}
