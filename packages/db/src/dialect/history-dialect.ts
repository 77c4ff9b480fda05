import type { CompiledQuery, Kysely, RawBuilder } from 'kysely'
import type { HistorySchema } from '../schema.js'

/** The dialects history can live in. */
export type DialectName = 'sqlite' | 'postgres'

/**
 * What differs between the databases, and nothing else: how to connect, how many bind
 * parameters one statement may carry, and which errors are worth a retry. Queries are shared.
 */
export interface HistoryDialect {
  readonly name: DialectName
  /** Where the database is, for messages; never contains a password. */
  readonly description: string
  /** The schema the tables live in, where the database has schemas (PostgreSQL). */
  readonly schema: string | undefined
  /** Bind parameters one statement may carry; bulk inserts are chunked to fit. */
  readonly maxParameters: number
  /** Opens the connection (or pool) and checks that it works. */
  connect(): Promise<Kysely<HistorySchema>>
  /**
   * Runs statements in order, atomically, as cheaply as the database allows: one round trip
   * in PostgreSQL, one synchronous transaction in SQLite.
   */
  executeBatch(db: Kysely<HistorySchema>, statements: readonly CompiledQuery[]): Promise<void>
  /** True when a failed statement may succeed on a retry (lost connection, busy database). */
  isTransientError(error: unknown): boolean
  /** The tables that exist where history's tables go (SQLite: the file; PostgreSQL: the schema). */
  listTables(db: Kysely<HistorySchema>): Promise<string[]>
  /**
   * The database's clock, in epoch ms, as SQL: heartbeats are written and judged by one clock
   * (a PostgreSQL server's, shared by every host), not by each host's. Null where the database
   * lives on the one host that uses it (SQLite): its clock is that host's.
   */
  readonly clock: RawBuilder<number> | null
}
