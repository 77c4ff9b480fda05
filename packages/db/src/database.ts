import fs from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type {
  ArtifactInfo,
  AttemptResult,
  AttemptStatus,
  DatabaseTarget,
  ExecutableKind,
  NodeDocument,
  NodeResult,
  NodeStatus,
  RunDocument,
  RunStatus,
  RunSummary,
  SerializedError,
} from '@wtflow/core'
import { encodePathSegment, nodeArtifactDir } from '@wtflow/core'
import { Migrator, sql, type CompiledQuery, type Kysely } from 'kysely'
import type { HistoryDialect } from './dialect/history-dialect.js'
import { AmbiguousRunIdError, MigrationError, NodeNotFoundError, RunNotFoundError } from './errors.js'
import { DEFAULT_STALE_AFTER_MS, deathOf, thisProcess, type LivenessOptions } from './liveness.js'
import { LATEST_MIGRATION, MIGRATIONS, migrationProvider } from './migrations.js'
import type { HistorySchema, RunRow } from './schema.js'
import { pathKey } from './writes.js'

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
   * with their names: upgrading a large history takes a while (10,000 runs × 100 nodes: ~15 s
   * for `0002_ordinal_keys` in SQLite), and whoever waits should be told.
   */
  onUpgrade?: (pending: string[]) => void
  /** PostgreSQL: the schema holding the tables, created if missing (default `wtflow`). */
  schema?: string
  /** PostgreSQL: fail after this long when the server does not answer (default 5000 ms). */
  connectTimeoutMs?: number
  /** PostgreSQL: `application_name` of the connections (default `wtflow`). */
  applicationName?: string
  /** SQLite: how long to wait for another process's write lock (default 5000 ms). */
  busyTimeoutMs?: number
}

/** Filters of `listRuns`. Time bounds apply to the start time: `since` inclusive, `until` exclusive. */
export interface ListRunsOptions {
  workflow?: string
  status?: RunStatus | readonly RunStatus[]
  since?: Date
  until?: Date
  /** Default 50. */
  limit?: number
  offset?: number
}

/** A run's metadata, beyond its document. */
export interface RunInfo {
  id: string
  workflow: string
  /** sha256 of the workflow's tree definition. */
  digest: string
  status: RunStatus
  exitCode: number | null
  startedAt: Date
  endedAt: Date | null
  /** Last sign of life of the recording process. */
  heartbeatAt: Date
  host: string
  pid: number
  /** `<artifacts_dir>/<run id>` */
  runDir: string
  /** The effective configuration of the run, without secrets. */
  config: Record<string, string | number | boolean>
  nodeCount: number
}

/** An artifact as recorded, with the attempt that wrote it when known. */
export interface ArtifactRecord extends ArtifactInfo {
  attempt: number | null
}

/** One recorded attempt of a node: the engine's attempt result, less its artifacts (recorded per node). */
export type AttemptRecord = Omit<AttemptResult, 'artifacts'>

/** Everything recorded about one node of one run: the engine's node result, as history keeps it. */
export interface NodeRecord
  extends Pick<NodeResult, 'path' | 'name' | 'parentPath' | 'kind' | 'display' | 'status' | 'exitCode' | 'signal' | 'error' | 'skipReason' | 'startedAt' | 'endedAt'> {
  runId: string
  /** Attempts made so far (while running, the current one counts). */
  attemptCount: number
  /** Finished attempts, oldest first. */
  attempts: AttemptRecord[]
  artifacts: ArtifactRecord[]
  /**
   * The node's directory in the artifact store, where `stdout.log`/`stderr.log` appear while it
   * runs (before they are recorded as artifacts): what `wtflow logs --follow` tails.
   */
  dir: string
}

/** What `deleteRunsBefore` removed. */
export interface RetentionResult {
  deletedRuns: string[]
  removedDirs: string[]
  /** Artifact directories that could not be removed (the runs' rows are gone all the same). */
  failures: Array<{ path: string; error: string }>
}

const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'crashed']

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

/**
 * A connection to run history: the typed queries of `wtflow runs/show/logs`, retention, and
 * the writes of a `Recorder`. Get one from `openDatabase`.
 *
 * @example
 * const [latest] = await db.listRuns({ limit: 1 })
 * const doc = await db.getRun(latest.id)              // RunDocument
 * const node = await db.getNode(latest.id, doc.nodes[0].path)
 * if (node.status !== 'running') console.log(node.artifacts.map(a => a.path))
 */
export class HistoryDatabase {
  /** The kysely instance, for queries this API lacks. */
  readonly db: Kysely<HistorySchema>
  readonly dialect: HistoryDialect
  readonly #liveness: Required<LivenessOptions>
  #closed: Promise<void> | null = null

  constructor(db: Kysely<HistorySchema>, dialect: HistoryDialect, options: LivenessOptions = {}) {
    this.db = db
    this.dialect = dialect
    this.#liveness = {
      host: options.host ?? thisProcess().host,
      staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
    }
  }

  /** `sqlite://path` or the PostgreSQL URL with its password masked. */
  get description(): string {
    return this.dialect.description
  }

  /**
   * Applies the migrations this database lacks; resolves to their names. Concurrent openers
   * (two runs starting on a new file) are safe: a lost race is retried.
   */
  async migrateToLatest(options: Pick<OpenDatabaseOptions, 'onUpgrade'> = {}): Promise<string[]> {
    // The common case, an up-to-date database, costs one small query (kysely's Migrator
    // introspects every schema of the database first).
    const applied = await this.#appliedMigrations()
    if (applied?.includes(LATEST_MIGRATION)) return []
    if (applied !== null && applied.length > 0) options.onUpgrade?.(Object.keys(MIGRATIONS).sort().filter(name => !applied.includes(name)))
    for (let attempt = 1; ; attempt++) {
      const migrator = new Migrator({
        db: this.db,
        provider: migrationProvider,
        // Kysely looks for its tables in every schema unless told which one is ours.
        ...(this.dialect.schema === undefined ? {} : { migrationTableSchema: this.dialect.schema }),
      })
      const { error, results } = await migrator.migrateToLatest()
      if (error === undefined) {
        return (results ?? []).filter(r => r.status === 'Success').map(r => r.migrationName)
      }
      if ((await this.#appliedMigrations())?.includes(LATEST_MIGRATION)) return []
      // A lost race with another process migrating (or a schema dropped while kysely scanned the
      // catalog) is worth another try; each migration runs in one transaction, so a failed one
      // left nothing behind.
      if (attempt < 5) {
        await sleep(50 * attempt)
        continue
      }
      const failed = results?.find(r => r.status === 'Error')?.migrationName ?? null
      throw new MigrationError(failed, this.description, { cause: error })
    }
  }

  /** The names of the applied migrations; null for a database without the migration table (a new one). */
  async #appliedMigrations(): Promise<string[] | null> {
    try {
      return (await sql<{ name: string }>`select name from kysely_migration`.execute(this.db)).rows.map(row => row.name)
    } catch {
      return null
    }
  }

  /**
   * Runs, newest first. Runs whose recording process died are reported (and stored) as
   * `crashed` first.
   *
   * @example
   * const failed = await db.listRuns({ workflow: 'ci', status: 'failed', limit: 20 })
   */
  async listRuns(options: ListRunsOptions = {}): Promise<RunSummary[]> {
    const statuses: readonly RunStatus[] | undefined = typeof options.status === 'string' ? [options.status] : options.status
    // Filtering on running/crashed needs every dead run marked first; otherwise only the
    // running runs of the page are checked, which costs nothing when there are none.
    if (statuses?.some(status => status === 'running' || status === 'crashed')) await this.reapCrashedRuns()
    const rows = await this.#listRows(options, statuses)
    const now = Date.now()
    const dead = rows.filter(row => row.status === 'running' && deathOf(row, this.#liveness, now) !== null)
    let marked = false
    for (const row of dead) marked = (await this.#markCrashed(row, deathOf(row, this.#liveness, now)!)) || marked
    return (marked ? await this.#listRows(options, statuses) : rows).map(row => ({
      id: row.id,
      workflow: row.workflow,
      status: row.status as RunStatus,
      startedAt: iso(row.started_at),
      endedAt: row.ended_at === null ? null : iso(row.ended_at),
      durationMs: row.ended_at === null ? null : row.ended_at - row.started_at,
    }))
  }

  async #listRows(options: ListRunsOptions, statuses: readonly RunStatus[] | undefined) {
    let query = this.db
      .selectFrom('runs')
      .select(['id', 'workflow', 'status', 'started_at', 'ended_at', 'host', 'pid', 'heartbeat_at'])
    if (options.workflow !== undefined) query = query.where('workflow', '=', options.workflow)
    if (statuses !== undefined) {
      for (const status of statuses) {
        if (!RUN_STATUSES.includes(status)) throw new TypeError(`unknown run status "${status}"; expected one of ${RUN_STATUSES.join(', ')}`)
      }
      if (statuses.length === 0) return []
      query = statuses.length === 1 ? query.where('status', '=', statuses[0]!) : query.where('status', 'in', statuses)
    }
    if (options.since !== undefined) query = query.where('started_at', '>=', options.since.getTime())
    if (options.until !== undefined) query = query.where('started_at', '<', options.until.getTime())
    return query
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit ?? 50)
      .offset(options.offset ?? 0)
      .execute()
  }

  /**
   * One run as the JSON document of `wtflow show --json`: nodes in tree order. `idOrPrefix`
   * may be any unique prefix of the id.
   *
   * @example
   * const doc = await db.getRun('3f2a')   // RunNotFoundError / AmbiguousRunIdError otherwise
   */
  async getRun(idOrPrefix: string): Promise<RunDocument> {
    // One round trip in the common case (a full id): the run and its rows are fetched at once.
    let [run, nodes, artifacts] = await Promise.all([
      this.#runById(idOrPrefix),
      this.#documentNodes(idOrPrefix),
      this.#documentArtifacts(idOrPrefix),
    ])
    if (run === undefined || run.status === 'running') {
      const found = await this.#findRun(idOrPrefix, run)
      if (run === undefined || found.status !== run.status) {
        ;[nodes, artifacts] = await Promise.all([this.#documentNodes(found.id), this.#documentArtifacts(found.id)])
      }
      run = found
    }
    const artifactsOf = new Map<number, NodeDocument['artifacts']>()
    for (const a of artifacts) {
      let list = artifactsOf.get(a.node_ordinal)
      if (list === undefined) artifactsOf.set(a.node_ordinal, (list = []))
      list.push({ name: a.name, path: a.path, size: a.size, sha256: a.sha256 })
    }
    return {
      id: run.id,
      workflow: run.workflow,
      status: run.status as RunStatus,
      exitCode: run.exit_code,
      startedAt: iso(run.started_at),
      endedAt: run.ended_at === null ? null : iso(run.ended_at),
      nodes: nodes.map(node => ({
        path: node.path,
        name: node.name,
        status: node.status as NodeStatus,
        exitCode: node.exit_code,
        signal: node.signal,
        attempts: node.attempts,
        error: node.error_message,
        skipReason: node.skip_reason,
        startedAt: node.started_at === null ? null : iso(node.started_at),
        endedAt: node.ended_at === null ? null : iso(node.ended_at),
        artifacts: artifactsOf.get(node.ordinal) ?? [],
      })),
    }
  }

  /** A run's metadata: host, pid, artifact directory, configuration, digest. */
  async getRunInfo(idOrPrefix: string): Promise<RunInfo> {
    const run = await this.#findRun(idOrPrefix)
    return {
      id: run.id,
      workflow: run.workflow,
      digest: run.digest,
      status: run.status as RunStatus,
      exitCode: run.exit_code,
      startedAt: new Date(run.started_at),
      endedAt: run.ended_at === null ? null : new Date(run.ended_at),
      heartbeatAt: new Date(run.heartbeat_at),
      host: run.host,
      pid: run.pid,
      runDir: run.run_dir,
      config: JSON.parse(run.config) as RunInfo['config'],
      nodeCount: run.node_count,
    }
  }

  /**
   * Everything recorded about one node: status (so `logs --follow` knows when it ended),
   * attempts, and artifacts with their file paths.
   *
   * @example
   * const node = await db.getNode(runId, 'Root Node/Node 1')
   * const stdout = node.artifacts.find(a => a.name === 'stdout')?.path
   */
  async getNode(runIdOrPrefix: string, nodePath: string): Promise<NodeRecord> {
    const run = await this.#findRun(runIdOrPrefix)
    const [node, attempts, artifacts] = await Promise.all([
      this.#nodeByPath(run.id, nodePath).selectAll().executeTakeFirst(),
      this.db
        .selectFrom('attempts')
        .selectAll()
        .where('run_id', '=', run.id)
        .where('node_ordinal', '=', this.#ordinalOf(run.id, nodePath))
        .orderBy('attempt')
        .execute(),
      this.#artifactRows(run.id, nodePath),
    ])
    if (node === undefined) {
      const known = await this.db.selectFrom('nodes').select('path').where('run_id', '=', run.id).orderBy('ordinal').execute()
      throw new NodeNotFoundError(run.id, nodePath, known.map(k => k.path))
    }
    return {
      runId: run.id,
      path: node.path,
      name: node.name,
      parentPath: parentPathOf(node.path),
      kind: node.kind as ExecutableKind,
      display: node.display,
      status: node.status as NodeStatus,
      exitCode: node.exit_code,
      signal: node.signal,
      error: toError(node.error_message, node.error_detail),
      skipReason: node.skip_reason,
      attemptCount: node.attempts,
      attempts: attempts.map(a => ({
        attempt: a.attempt,
        status: a.status as AttemptStatus,
        exitCode: a.exit_code,
        signal: a.signal,
        error: toError(a.error_message, a.error_detail),
        startedAt: new Date(a.started_at),
        endedAt: new Date(a.ended_at),
      })),
      startedAt: node.started_at === null ? null : new Date(node.started_at),
      endedAt: node.ended_at === null ? null : new Date(node.ended_at),
      artifacts,
      dir: nodeArtifactDir(run.run_dir, node.path),
    }
  }

  /** The artifacts of one node with their absolute file paths (what `wtflow logs` reads). */
  async getNodeArtifacts(runIdOrPrefix: string, nodePath: string): Promise<ArtifactRecord[]> {
    return (await this.getNode(runIdOrPrefix, nodePath)).artifacts
  }

  /** The full id of the run that `idOrPrefix` names; throws `RunNotFoundError` or `AmbiguousRunIdError`. */
  async resolveRunId(idOrPrefix: string): Promise<string> {
    return (await this.#findRun(idOrPrefix)).id
  }

  /**
   * Marks every `running` run whose process is gone as `crashed` (see `LivenessOptions`);
   * its running nodes become `cancelled` and its pending nodes `skipped`, each saying why.
   * Resolves to the ids it marked. `listRuns` and `getRun` call it for you.
   */
  async reapCrashedRuns(): Promise<string[]> {
    const running = await this.db
      .selectFrom('runs')
      .select(['id', 'host', 'pid', 'heartbeat_at', 'started_at'])
      .where('status', '=', 'running')
      .execute()
    const reaped: string[] = []
    const now = Date.now()
    for (const run of running) {
      const reason = deathOf(run, this.#liveness, now)
      if (reason !== null && (await this.#markCrashed(run, reason))) reaped.push(run.id)
    }
    return reaped
  }

  /**
   * Retention: deletes the runs that started before `before` (never one still running),
   * with their nodes, attempts, artifact records and (unless `removeArtifacts: false`) their
   * artifact directories.
   *
   * @example
   * await db.deleteRunsBefore(new Date(Date.now() - 30 * 86_400_000))
   */
  async deleteRunsBefore(before: Date, options: { removeArtifacts?: boolean } = {}): Promise<RetentionResult> {
    await this.reapCrashedRuns()
    const doomed = await this.db
      .selectFrom('runs')
      .select(['id', 'run_dir'])
      .where('started_at', '<', before.getTime())
      // Neither a running run nor one still waiting for a server slot.
      .where('status', 'not in', ['running', 'queued'])
      .execute()
    const result: RetentionResult = { deletedRuns: [], removedDirs: [], failures: [] }
    for (let i = 0; i < doomed.length; i += 500) {
      const ids = doomed.slice(i, i + 500).map(run => run.id)
      // Foreign keys cascade to nodes, attempts and artifacts.
      await this.db.deleteFrom('runs').where('id', 'in', ids).execute()
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

  /**
   * Executes statements in order, atomically (see `HistoryDialect.executeBatch`).
   * @internal The recorder's write path.
   */
  async execute(statements: readonly CompiledQuery[]): Promise<void> {
    await this.dialect.executeBatch(this.db, statements)
  }

  /** Closes the connection (pool). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.db.destroy()
    return this.#closed
  }

  // -- internals ---------------------------------------------------------------------------------

  #runById(id: string): Promise<RunRow | undefined> {
    return this.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst()
  }

  #documentNodes(runId: string) {
    return this.db
      .selectFrom('nodes')
      .select(['ordinal', 'path', 'name', 'status', 'exit_code', 'signal', 'attempts', 'error_message', 'skip_reason', 'started_at', 'ended_at'])
      .where('run_id', '=', runId)
      .orderBy('ordinal')
      .execute()
  }

  #documentArtifacts(runId: string) {
    return this.db
      .selectFrom('artifacts')
      .select(['node_ordinal', 'name', 'path', 'size', 'sha256'])
      .where('run_id', '=', runId)
      .orderBy('node_ordinal')
      .orderBy('ordinal')
      .execute()
  }

  /** The run an id or unique prefix names, marked crashed first if its process is gone. */
  async #findRun(idOrPrefix: string, exact: RunRow | undefined | null = null): Promise<RunRow> {
    // `exact`: the caller already looked the id up (undefined: no such id).
    let run = exact === null ? await this.#runById(idOrPrefix) : exact
    if (run === undefined) {
      if (idOrPrefix === '') throw new RunNotFoundError(idOrPrefix)
      const matches = await this.db
        .selectFrom('runs')
        .selectAll()
        .where(sql<string>`substr(id, 1, ${idOrPrefix.length})`, '=', idOrPrefix)
        .orderBy('id')
        .limit(6)
        .execute()
      if (matches.length === 0) throw new RunNotFoundError(idOrPrefix)
      if (matches.length > 1) throw new AmbiguousRunIdError(idOrPrefix, matches.map(m => m.id))
      run = matches[0]!
    }
    if (run.status === 'running') {
      const reason = deathOf(run, this.#liveness, Date.now())
      if (reason !== null) {
        await this.#markCrashed(run, reason)
        run = (await this.#runById(run.id)) ?? run
      }
    }
    return run
  }

  async #artifactRows(runId: string, nodePath: string): Promise<ArtifactRecord[]> {
    const rows = await this.db
      .selectFrom('artifacts')
      .select(['name', 'path', 'size', 'sha256', 'attempt'])
      .where('run_id', '=', runId)
      .where('node_ordinal', '=', this.#ordinalOf(runId, nodePath))
      .orderBy('ordinal')
      .execute()
    return rows.map(({ name, path, size, sha256, attempt }) => ({ name, path, size, sha256, attempt }))
  }

  /** The ordinal of a node, as a subquery: attempts and artifacts are keyed by it. */
  #ordinalOf(runId: string, nodePath: string) {
    return this.#nodeByPath(runId, nodePath).select('ordinal')
  }

  #nodeByPath(runId: string, nodePath: string) {
    return this.db.selectFrom('nodes').where('run_id', '=', runId).where('path_key', '=', pathKey(nodePath)).where('path', '=', nodePath)
  }

  /** Marks one run crashed; false if another reader (or the run's end) got there first. */
  async #markCrashed(run: { id: string; heartbeat_at: number; started_at: number }, reason: string): Promise<boolean> {
    const last = await this.db
      .selectFrom('nodes')
      .select(eb => [eb.fn.max('started_at').as('started'), eb.fn.max('ended_at').as('ended')])
      .where('run_id', '=', run.id)
      .executeTakeFirst()
    // The last moment the process is known to have been alive.
    const endedAt = Math.max(run.started_at, run.heartbeat_at, Number(last?.started ?? 0), Number(last?.ended ?? 0))
    const crash = JSON.stringify({ name: 'RunCrashed', code: 'WTFLOW_RUN_CRASHED' })
    return this.db.transaction().execute(async tx => {
      const marked = await tx
        .updateTable('runs')
        .set({ status: 'crashed', ended_at: endedAt })
        .where('id', '=', run.id)
        .where('status', '=', 'running')
        .executeTakeFirst()
      if (marked.numUpdatedRows === 0n) return false
      await tx
        .updateTable('nodes')
        .set({ status: 'cancelled', error_message: `${reason} while this node was running`, error_detail: crash, ended_at: endedAt })
        .where('run_id', '=', run.id)
        .where('status', '=', 'running')
        .execute()
      await tx
        .updateTable('nodes')
        .set({ status: 'skipped', skip_reason: `${reason} before this node started` })
        .where('run_id', '=', run.id)
        .where('status', '=', 'pending')
        .execute()
      return true
    })
  }
}

/** Names cannot contain `/`: a node's parent path is its own path less the last segment. */
function parentPathOf(nodePath: string): string | null {
  const slash = nodePath.lastIndexOf('/')
  return slash === -1 ? null : nodePath.slice(0, slash)
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

function toError(message: string | null, detail: string | null): SerializedError | null {
  if (message === null) return null
  const extra = detail === null ? {} : (JSON.parse(detail) as Partial<SerializedError>)
  const error: SerializedError = { name: extra.name ?? 'Error', message }
  if (extra.stack !== undefined) error.stack = extra.stack
  if (extra.code !== undefined) error.code = extra.code
  return error
}
