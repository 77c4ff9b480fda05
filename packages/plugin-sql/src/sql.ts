import { Executable, NodeFailure, isRef, serializeError, type ExecutableCapabilities, type ExecutableSpec, type ExecutionContext, type ExecutionOutcome, type Ref } from '@wtflow/core'
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, type Dialect } from 'kysely'
import { parseSqlUrl, passwordOf, showUrl, type SqlTarget } from './database-url.js'

export interface SqlOptions {
  /** `sqlite:path.db` (relative to the node's `cwd`), `sqlite:///abs/path.db`, `sqlite::memory:`, or `postgres://user:pass@host/db`. */
  url: string
  /** One SQL statement; parameters as the database writes them: `?` for SQLite, `$1, $2…` for PostgreSQL. */
  query: string
  /** The parameters' values; a node's `result` (its value) or `stdout`/`artifact()` (the file's path) may stand for one. */
  params?: readonly unknown[]
}

/** A row as the database returns it (column name → value). */
export type SqlRow = Record<string, unknown>

const SQL_CAPABILITIES: ExecutableCapabilities = Object.freeze({ result: true, cwd: true })

/**
 * Runs one SQL statement against SQLite or PostgreSQL through kysely; the rows it returns are
 * the node's result (`[]` for a statement that returns none), and stdout says how many.
 * A relative SQLite path is relative to the node's `cwd`. A password in the URL is masked
 * wherever the run shows text. SQLite queries run on the engine's thread: keep them short.
 *
 * @example
 * const count = new Node({ name: 'count', executable: new Sql({ url: 'sqlite:app.db', query: 'select count(*) as n from users' }) })
 */
export class Sql<Row extends SqlRow = SqlRow> extends Executable<Row[]> {
  readonly kind = 'sql'
  override readonly capabilities: ExecutableCapabilities = SQL_CAPABILITIES
  readonly options: Readonly<SqlOptions>

  constructor(options: SqlOptions) {
    super()
    this.options = Object.freeze({ ...options })
  }

  describe(): string {
    const { url, query } = this.options as { url?: unknown; query?: unknown }
    const oneLine = typeof query === 'string' ? query.replace(/\s+/g, ' ').trim() : '(no query)'
    return `${typeof url === 'string' ? showUrl(url) : '(no url)'}: ${oneLine.length > 120 ? `${oneLine.slice(0, 119)}…` : oneLine}`
  }

  references(): Ref[] {
    return (this.options.params ?? []).filter(isRef)
  }

  override secrets(): readonly string[] {
    const password = typeof this.options.url === 'string' ? passwordOf(this.options.url) : null
    return password === null ? [] : [password]
  }

  override toSpec(): ExecutableSpec {
    return { uses: 'sql', with: this.options.params === undefined ? { url: this.options.url, query: this.options.query } : { ...this.options } }
  }

  override async prepare(): Promise<void> {
    const { url, query, params } = this.options as { url?: unknown; query?: unknown; params?: unknown }
    if (typeof url !== 'string') throw new Error('sql: url must be a string (sqlite:PATH or postgres://…)')
    try {
      parseSqlUrl(url, process.cwd())
    } catch (error) {
      throw new Error(`sql: ${(error as Error).message}`)
    }
    if (typeof query !== 'string' || query.trim() === '') throw new Error('sql: the query must be a non-empty string')
    if (params !== undefined && !Array.isArray(params)) throw new Error('sql: params must be an array')
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const shown = showUrl(this.options.url)
    let db: Kysely<unknown> | undefined
    const stop = () => void db?.destroy().catch(() => {})
    const unlisten = ctx.onStop(stop)
    try {
      const params: unknown[] = []
      for (const param of this.options.params ?? []) params.push(isRef(param) ? await valueOf(ctx, param) : param)
      const target = parseSqlUrl(this.options.url, ctx.cwd)
      db = new Kysely<unknown>({ dialect: await dialectFor(target) })
      const result = await db.executeQuery<Row>(CompiledQuery.raw(this.options.query, target.kind === 'sqlite' ? params.map(sqliteValue) : params))
      const affected = result.numAffectedRows === undefined ? '' : `, ${result.numAffectedRows} affected`
      ctx.stdout.write(`${result.rows.length} row${result.rows.length === 1 ? '' : 's'}${affected}\n`)
      return { exitCode: 0, signal: null, error: null, resultJson: JSON.stringify(result.rows, jsonValue) }
    } catch (error) {
      if (ctx.stopReason !== null) return { exitCode: null, signal: null, error: null }
      const message = error instanceof Error ? error.message : String(error)
      return { exitCode: null, signal: null, error: serializeError(new NodeFailure(`query on ${shown} failed: ${message}`, { code: 'WTFLOW_EXECUTABLE_FAILED' }, { cause: error })) }
    } finally {
      unlisten()
      await db?.destroy().catch(() => {})
    }
  }
}

/** The kysely dialect for a target; drivers are loaded when first needed. */
async function dialectFor(target: SqlTarget): Promise<Dialect> {
  if (target.kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3')
    return new SqliteDialect({ database: new Database(target.file) })
  }
  const { default: pg } = await import('pg')
  return new PostgresDialect({ pool: new pg.Pool({ connectionString: target.url, max: 1 }) })
}

async function valueOf(ctx: ExecutionContext, ref: Ref): Promise<unknown> {
  const resolved = await ctx.resolve(ref)
  return resolved.kind === 'artifact' ? resolved.path : resolved.value
}

/** better-sqlite3 binds numbers, strings, bigints, buffers and null: booleans become 1/0, objects JSON. */
function sqliteValue(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value === undefined) return null
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) return JSON.stringify(value)
  return value
}

/** JSON for what drivers return: a bigint as a string (JSON has no exact form for it), bytes as base64. */
function jsonValue(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  const raw = (this as Record<string, unknown>)[key]
  if (raw instanceof Uint8Array) return Buffer.from(raw).toString('base64')
  return value
}
