import { ConfigError, redactUrlPassword } from '@wtflow/core'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import type { HistorySchema } from '../../schema.js'
import type { HistoryDialect } from '../history-dialect.js'
import { inlineBatch } from './postgres-batch.js'
import { explainConnectError, isTransientPostgresError, scrubPassword } from './postgres-errors.js'

export interface PostgresHistoryOptions {
  /** Schema the tables live in; created if missing (default `wtflow`). */
  schema?: string
  /** Where the URL came from, named in connection errors (e.g. `environment variable WTFLOW_DB_URL`). */
  source?: string
  /** Give up connecting after this long (default 5000 ms). */
  connectTimeoutMs?: number
  /** `application_name` of the connections, as `pg_stat_activity` shows it (default `wtflow`). */
  applicationName?: string
  /** Connections in the pool (default 4). */
  poolSize?: number
  /**
   * A statement with no answer after this long fails (and is retried like a lost connection):
   * a server or network that stops answering must not hold a finished run's process forever
   * (default 10000 ms).
   */
  queryTimeoutMs?: number
}

const INT8_OID = 20
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/**
 * History in PostgreSQL through a `pg` pool. Every connection's `search_path` is the history
 * schema, so the shared queries need no schema names. `bigint` columns (times, sizes) come
 * back as numbers: they are epoch milliseconds and byte counts, far below 2^53.
 */
export function postgresHistoryDialect(url: string, options: PostgresHistoryOptions = {}): HistoryDialect {
  const schema = options.schema ?? 'wtflow'
  const source = options.source ?? 'WTFLOW_DB_URL or [database] url'
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000
  const shown = redactUrlPassword(url)
  const password = passwordOf(url)
  if (!SCHEMA_NAME.test(schema)) {
    throw new ConfigError('database.schema', 'option', `"${schema}" is not a valid schema name; use letters, digits and _`)
  }

  return {
    name: 'postgres',
    description: shown,
    schema,
    maxParameters: 65535,
    async connect() {
      const pool = new pg.Pool({
        connectionString: url,
        max: options.poolSize ?? 4,
        connectionTimeoutMillis: connectTimeoutMs,
        query_timeout: options.queryTimeoutMs ?? 10_000,
        idleTimeoutMillis: 30_000,
        keepAlive: true,
        application_name: options.applicationName ?? 'wtflow',
        // synchronous_commit=off: a commit returns before its WAL reaches the disk. A server crash may
        // lose the last fraction of a second of history (never corrupt it); the recorder commits after
        // every few events, and waiting for an fsync each time would cost more than the run itself.
        options: `-c search_path=${schema} -c synchronous_commit=off`,
        types: {
          getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
            oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
        },
      })
      // A connection that dies (server restart, pg_terminate_backend) must not crash the process:
      // an idle one is dropped by the pool ('error' on the pool); one that is checked out but
      // between statements emits 'error' on the client, and its next statement fails, which
      // the recorder retries on a fresh connection.
      pool.on('error', () => {})
      pool.on('connect', client => client.on('error', () => {}))
      try {
        const client = await pool.connect()
        try {
          const found = await client.query('select 1 from pg_namespace where nspname = $1', [schema])
          if (found.rowCount === 0) {
            await client.query(`create schema if not exists "${schema}"`).catch((error: unknown) => {
              // Another process created it at the same moment.
              const code = (error as { code?: unknown }).code
              if (code !== '23505' && code !== '42P06') throw error
            })
          }
        } finally {
          client.release()
        }
      } catch (error) {
        await pool.end().catch(() => {})
        const reason = scrubPassword(explainConnectError(error, connectTimeoutMs), password)
        const code = (error as { code?: unknown }).code
        // The cause is rebuilt so that nothing of the connection config can leak through it.
        const cause = new Error(scrubPassword(error instanceof Error ? error.message : String(error), password))
        if (typeof code === 'string') Object.assign(cause, { code })
        throw new ConfigError('database.url', source, `cannot connect to PostgreSQL at ${shown}: ${reason}`, { cause })
      }
      return new Kysely<HistorySchema>({ dialect: new PostgresDialect({ pool }) })
    },
    isTransientError: isTransientPostgresError,
    clock: sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`,
    async listTables(db) {
      const { rows } = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = ${schema}`.execute(db)
      return rows.map(row => row.name)
    },
    async executeBatch(db, statements) {
      if (statements.length === 0) return
      // Even one statement goes inlined: a simple-protocol query is one message, where a
      // parameterized one is five (parse, bind, describe, execute, sync).
      await db.executeQuery(inlineBatch(statements))
    },
  }
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password)
  } catch {
    return ''
  }
}
