import type { ArtifactInfo, ExecutableKind, NodeDocument, NodeStatus, PlanDocument, RunDocument, RunStatus, RunSummary, AttemptStatus } from '@wtflow/core'
import { nodeArtifactDir } from '@wtflow/core/internal'
import { sql, type CompiledQuery, type Kysely } from 'kysely'
import { CrashReaper, type CrashReport } from './crash.js'
import type { HistoryDialect } from './dialect/history-dialect.js'
import { AmbiguousRunIdError, NodeNotFoundError, RunNotFinishedError, RunNotFoundError } from './errors.js'
import { DEFAULT_STALE_AFTER_MS, deathOf, thisProcess, type LivenessOptions } from './liveness.js'
import { migrateToLatest } from './migrate.js'
import type { OpenDatabaseOptions } from './open.js'
import {
  RUN_STATUSES,
  iso,
  parentPathOf,
  toError,
  type ArtifactRecord,
  type ListRunsOptions,
  type NodeRecord,
  type NodeSummary,
  type ResumeSource,
  type RetentionResult,
  type RunInfo,
} from './records.js'
import { HistoryCacheStore } from './cache-store.js'
import { claimMaintenance, collectGarbage, type GcOptions, type GcResult } from './gc.js'
import { deleteRunsBefore } from './retention.js'
import type { HistorySchema, RunRow } from './schema.js'
import { pathKey } from './writes.js'

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
  readonly #reaper: CrashReaper
  #closed: Promise<void> | null = null

  constructor(db: Kysely<HistorySchema>, dialect: HistoryDialect, options: LivenessOptions & { onCrash?: (report: CrashReport) => void } = {}) {
    this.db = db
    this.dialect = dialect
    this.#liveness = {
      host: options.host ?? thisProcess().host,
      staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
    }
    this.#reaper = new CrashReaper(db, this.#liveness, options.onCrash, () => this.#now())
  }

  /** `sqlite://path` or the PostgreSQL URL with its password masked. */
  get description(): string {
    return this.dialect.description
  }

  /**
   * Applies the migrations this database lacks; resolves to their names. Concurrent openers
   * (two runs starting on a new file) are safe: a lost race is retried.
   */
  migrateToLatest(options: Pick<OpenDatabaseOptions, 'onUpgrade'> = {}): Promise<string[]> {
    return migrateToLatest(this.db, this.dialect, options.onUpgrade)
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
    const now = rows.some(row => row.status === 'running') ? await this.#now() : 0
    const dead = rows.filter(row => row.status === 'running' && deathOf(row, this.#liveness, now) !== null)
    let marked = false
    for (const row of dead) marked = (await this.#reaper.markCrashed(row, deathOf(row, this.#liveness, now)!)) || marked
    return (marked ? await this.#listRows(options, statuses) : rows).map(row => ({
      id: row.id,
      workflow: row.workflow,
      status: row.status as RunStatus,
      startedAt: iso(row.started_at),
      endedAt: row.ended_at === null ? null : iso(row.ended_at),
      durationMs: row.ended_at === null ? null : row.ended_at - row.started_at,
      ...(row.resumed_from === null ? {} : { resumedFrom: row.resumed_from }),
    }))
  }

  async #listRows(options: ListRunsOptions, statuses: readonly RunStatus[] | undefined) {
    let query = this.db
      .selectFrom('runs')
      .select(['id', 'workflow', 'status', 'started_at', 'ended_at', 'host', 'pid', 'heartbeat_at', 'run_dir', 'process_start', 'resumed_from'])
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
    query = query.orderBy('started_at', 'desc').orderBy('id', 'desc')
    // SQLite takes OFFSET only after a LIMIT; -1 (SQLite) and ALL (PostgreSQL) are not portable.
    if (options.limit === null && (options.offset ?? 0) === 0) return query.execute()
    return query
      .limit(options.limit === null ? Number.MAX_SAFE_INTEGER : (options.limit ?? 50))
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
      ...(run.resumed_from === null ? {} : { resumedFrom: run.resumed_from }),
      nodes: nodes.map(node => ({
        path: node.path,
        name: node.name,
        status: node.status as NodeStatus,
        exitCode: node.exit_code,
        signal: node.signal,
        attempts: node.attempts,
        error: node.error_message,
        skipReason: node.skip_reason,
        ...(node.tolerated === 1 ? { tolerated: true as const } : {}),
        startedAt: node.started_at === null ? null : iso(node.started_at),
        endedAt: node.ended_at === null ? null : iso(node.ended_at),
        artifacts: artifactsOf.get(node.ordinal) ?? [],
        ...(node.reused_from_run === null ? {} : { reusedFrom: { runId: node.reused_from_run, path: node.reused_from_path ?? node.path } }),
      })),
    }
  }

  /**
   * What `wtflow resume` needs of a finished run: where its workflow came from (script, name,
   * inputs) and every node with its status, recorded digest and artifacts (`decideReuse` input).
   * A run still `running` (or `queued`) is a `RunNotFinishedError`.
   */
  async getResumeSource(idOrPrefix: string): Promise<ResumeSource> {
    const run = await this.#findRun(idOrPrefix)
    if (run.status === 'running' || run.status === 'queued') throw new RunNotFinishedError(run.id, run.status)
    const [nodes, artifacts] = await Promise.all([
      this.db.selectFrom('nodes').select(['ordinal', 'path', 'status', 'exit_code']).where('run_id', '=', run.id).orderBy('ordinal').execute(),
      this.#documentArtifacts(run.id),
    ])
    const plan = run.plan === null ? null : (JSON.parse(run.plan) as PlanDocument)
    const digests = new Map<string, string>()
    for (const node of plan?.nodes ?? []) digests.set(node.path, node.digest)
    const artifactsOf = new Map<number, ArtifactInfo[]>()
    for (const a of artifacts) {
      let list = artifactsOf.get(a.node_ordinal)
      if (list === undefined) artifactsOf.set(a.node_ordinal, (list = []))
      list.push({ name: a.name, path: a.path, size: Number(a.size), sha256: a.sha256 })
    }
    return {
      id: run.id,
      workflow: run.workflow,
      status: run.status as RunStatus,
      script: run.script,
      inputs: run.inputs === null ? null : (JSON.parse(run.inputs) as Record<string, unknown>),
      plan,
      flow: run.flow === null ? null : (JSON.parse(run.flow) as { format: string; text: string }),
      nodes: nodes.map(node => ({
        path: node.path,
        status: node.status as NodeStatus,
        digest: digests.get(node.path) ?? null,
        exitCode: node.exit_code,
        artifacts: artifactsOf.get(node.ordinal) ?? [],
      })),
    }
  }

  /**
   * Asks a running (or queued) run to stop: the request is recorded, and the process recording
   * the run reads it with its next heartbeat (every 2 s) and cancels the run as Ctrl-C would.
   * Resolves to the run's metadata (with `cancelRequestedAt` set when the run can still stop).
   *
   * @example
   * const run = await db.requestCancel('3f2a')
   */
  async requestCancel(idOrPrefix: string): Promise<RunInfo> {
    const run = await this.#findRun(idOrPrefix)
    if (run.status === 'running' || run.status === 'queued') {
      await this.db
        .updateTable('runs')
        .set({ cancel_requested_at: await this.#now() })
        .where('id', '=', run.id)
        .where('cancel_requested_at', 'is', null)
        .execute()
    }
    return this.getRunInfo(run.id)
  }

  /** The runs among `ids` whose cancellation was requested (the recorder's heartbeat asks). */
  async cancelRequested(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return []
    const rows = await this.db.selectFrom('runs').select('id').where('id', 'in', ids).where('cancel_requested_at', 'is not', null).execute()
    return rows.map(row => row.id)
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
      processStart: run.process_start,
      cancelRequestedAt: run.cancel_requested_at === null ? null : new Date(run.cancel_requested_at),
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

  /**
   * What each node of a run ran (kind and command line or function name), in tree order: what
   * the run document leaves out.
   */
  async getRunNodes(idOrPrefix: string): Promise<NodeSummary[]> {
    const run = await this.#findRun(idOrPrefix)
    const rows = await this.db.selectFrom('nodes').select(['ordinal', 'path', 'kind', 'display']).where('run_id', '=', run.id).orderBy('ordinal').execute()
    return rows.map(row => ({ ordinal: row.ordinal, path: row.path, kind: row.kind, display: row.display }))
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
  reapCrashedRuns(): Promise<string[]> {
    return this.#reaper.reapAll()
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
    return deleteRunsBefore(this.db, before, options)
  }

  /**
   * Retention (`wtflow gc`): deletes whole runs that ended before `endedBefore`, keeping the
   * newest `keepLast` of each workflow whatever their age, never a running one (crashed runs are
   * marked first and count as ended): rows in batches, then artifact directories; then sweeps run
   * directories history does not know. Interrupted, it leaves no half-deleted run; run it again.
   *
   * @example
   * const freed = await db.collectGarbage({ endedBefore: new Date(Date.now() - 30 * 86_400_000), keepLast: 10, artifactsDir })
   */
  async collectGarbage(options: GcOptions): Promise<GcResult> {
    await this.reapCrashedRuns()
    return collectGarbage(this.db, options)
  }

  /** The cache `cache` nodes use (`engine.run(plan, { cache: { store: db.cacheStore() } })`). */
  cacheStore(): HistoryCacheStore {
    return new HistoryCacheStore(this.db)
  }

  /** A node's recorded cache key and parts, for `wtflow cache explain`; null when the node has no `cache`. */
  async getNodeCache(runIdOrPrefix: string, nodePath: string): Promise<{ runId: string; path: string; status: NodeStatus; key: string; parts: Record<string, string>; hit: boolean; comparedWith: { key: string; runId: string; parts: Record<string, string> } | null } | null> {
    const run = await this.#findRun(runIdOrPrefix)
    const node = await this.#nodeByPath(run.id, nodePath).select(['path', 'status', 'cache_key', 'cache_info']).executeTakeFirst()
    if (node === undefined) {
      const known = await this.db.selectFrom('nodes').select('path').where('run_id', '=', run.id).orderBy('ordinal').execute()
      throw new NodeNotFoundError(run.id, nodePath, known.map(k => k.path))
    }
    if (node.cache_key === null || node.cache_info === null) return null
    const info = JSON.parse(node.cache_info) as { parts: Record<string, string>; hit: boolean; comparedWith: { key: string; runId: string; parts: Record<string, string> } | null }
    return { runId: run.id, path: node.path, status: node.status as NodeStatus, key: node.cache_key, ...info }
  }

  /** Compacts a SQLite file (VACUUM) after deletions; resolves false on PostgreSQL, whose autovacuum does it. */
  async vacuum(): Promise<boolean> {
    if (this.dialect.name !== 'sqlite') return false
    await sql`vacuum`.execute(this.db)
    return true
  }

  /** True for exactly one caller per `everyMs` (across processes): who applies `[retention]` now. */
  claimMaintenance(task: string, everyMs: number): Promise<boolean> {
    return claimMaintenance(this.db, task, everyMs)
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

  /** The database's clock (see `HistoryDialect.clock`), in epoch ms. */
  async #now(): Promise<number> {
    const clock = this.dialect.clock
    if (clock === null) return Date.now()
    const { rows } = await sql<{ now: number }>`select ${clock} as now`.execute(this.db)
    return Number(rows[0]!.now)
  }

  #runById(id: string): Promise<RunRow | undefined> {
    return this.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst()
  }

  #documentNodes(runId: string) {
    return this.db
      .selectFrom('nodes')
      .select(['ordinal', 'path', 'name', 'status', 'exit_code', 'signal', 'attempts', 'error_message', 'skip_reason', 'tolerated', 'started_at', 'ended_at', 'reused_from_run', 'reused_from_path'])
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
    if (run.status === 'running' && (await this.#reaper.reapIfDead(run))) run = (await this.#runById(run.id)) ?? run
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
}
