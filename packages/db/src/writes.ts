/**
 * Every write history makes, as compiled statements. All of them are idempotent (inserts ignore
 * or overwrite their own earlier copy, updates set absolute values), so a batch that failed
 * half-way, or whose commit was lost with its connection, can simply be sent again.
 */
import { createHash } from 'node:crypto'
import type { EngineEventMap, NodeResult, RunResult, SerializedError } from '@wtflow/core'
import { sql, type CompiledQuery, type Kysely, type RawBuilder } from 'kysely'
import type { HistorySchema, NewArtifactRow, NewAttemptRow, NewNodeRow, NewRunRow, NodeUpdate } from './schema.js'

type Db = Kysely<HistorySchema>

/** Which process writes a run: how crash detection finds out that it died. */
export interface ProcessIdentity {
  host: string
  pid: number
  /** See `processStart`. */
  start: string | null
}

export function errorColumns(error: SerializedError | null): { error_message: string | null; error_detail: string | null } {
  if (error === null) return { error_message: null, error_detail: null }
  const { name, stack, code } = error
  return { error_message: error.message, error_detail: JSON.stringify({ name, stack, code }) }
}

/**
 * What `nodes` indexes a node path by (unique in a run): the first 32 hex digits (128 bits) of
 * its sha256. PostgreSQL cannot index a value over ~2.7 KB (a deep tree's paths are longer), and
 * in SQLite long keys spill to overflow pages. Lookups compare the path itself too.
 * The same as `left(encode(sha256(convert_to(path, 'UTF8')), 'hex'), 32)` in PostgreSQL.
 */
export function pathKey(path: string): string {
  return createHash('sha256').update(path).digest('hex').slice(0, 32)
}

export function millis(date: Date | null): number | null {
  return date === null ? null : date.getTime()
}

/** Splits rows so that each insert stays under the dialect's bind-parameter limit. */
export function chunk<T extends object>(rows: readonly T[], maxParameters: number): T[][] {
  if (rows.length === 0) return []
  const perRow = Object.keys(rows[0]!).length
  const size = Math.max(1, Math.floor(maxParameters / perRow))
  const chunks: T[][] = []
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size))
  return chunks
}

/**
 * Compiles each statement shape once and afterwards only binds new parameters: the recorder
 * writes the same few statements for every node, and compiling is most of their cost here.
 * A shape is compiled with unique placeholder strings, which tells where each value goes.
 */
export class StatementTemplates {
  readonly #db: Db
  readonly #cache = new Map<string, { compiled: CompiledQuery; order: number[] } | null>()
  /** Shapes that could not be templated (a value did not become one parameter): compiled every time. */
  readonly untemplated = new Set<string>()

  constructor(db: Db) {
    this.#db = db
  }

  get db(): Db {
    return this.#db
  }

  bind(key: string, values: readonly unknown[], build: (db: Db, values: readonly unknown[]) => CompiledQuery): CompiledQuery {
    let template = this.#cache.get(key)
    if (template === undefined) {
      const placeholders = values.map((_, i) => `\u0000wtflow:${i}\u0000`)
      const compiled = build(this.#db, placeholders)
      const order = compiled.parameters.map(parameter => placeholders.indexOf(parameter as string))
      // Only a shape where every value became exactly one parameter can be reused.
      const exact = order.length === values.length && !order.includes(-1) && new Set(order).size === order.length
      template = exact ? { compiled, order } : null
      this.#cache.set(key, template)
    }
    if (template === null) {
      this.untemplated.add(key)
      return build(this.#db, values)
    }
    return { ...template.compiled, parameters: template.order.map(i => values[i]) }
  }
}

// -- row builders ------------------------------------------------------------------------------

/** What a run's row is made of. */
export interface RunStart {
  runId: string
  workflow: string
  digest: string
  startedAt: Date
  runDir: string
  config: Record<string, string | number | boolean>
  nodeCount: number
  /** Absolute path of the script, when known. */
  script?: string | null
  inputs?: Record<string, unknown> | undefined
  /** JSON of the plan document, secrets masked. */
  plan?: string | null
  resumedFrom?: string | null
  /** JSON of a flow's document. */
  flow?: string | null
}

export function runRow(event: RunStart, who: ProcessIdentity): NewRunRow {
  return {
    id: event.runId,
    workflow: event.workflow,
    digest: event.digest,
    status: 'running',
    exit_code: null,
    started_at: event.startedAt.getTime(),
    ended_at: null,
    heartbeat_at: Date.now(),
    host: who.host,
    pid: who.pid,
    process_start: who.start,
    run_dir: event.runDir,
    config: JSON.stringify(event.config),
    node_count: event.nodeCount,
    script: event.script ?? null,
    inputs: event.inputs === undefined || Object.keys(event.inputs).length === 0 ? null : JSON.stringify(event.inputs),
    plan: event.plan ?? null,
    resumed_from: event.resumedFrom ?? null,
    flow: event.flow ?? null,
  }
}

/** `ordinal` and `parentOrdinal` are the node's and its parent's positions in the run's plan. */
export function nodeRow(runId: string, node: NodeResult, ordinal: number, parentOrdinal: number | null): NewNodeRow {
  return {
    ...nodeEndRow(runId, node, ordinal),
    path: node.path,
    path_key: pathKey(node.path),
    name: node.name,
    parent_ordinal: parentOrdinal,
    kind: node.kind,
    display: node.display,
  }
}

/** The node's key and the columns its end sets (what `markNodeEnded` writes). */
export function nodeEndRow(runId: string, node: NodeResult, ordinal: number): NodeEndRow {
  return {
    run_id: runId,
    ordinal,
    status: node.status,
    exit_code: node.exitCode,
    signal: node.signal,
    ...errorColumns(node.error),
    skip_reason: node.skipReason,
    tolerated: node.tolerated === true ? 1 : 0,
    attempts: node.attempts.length,
    started_at: millis(node.startedAt),
    ended_at: millis(node.endedAt),
    reused_from_run: node.reusedFrom?.runId ?? null,
    reused_from_path: node.reusedFrom?.path ?? null,
    cache_key: node.cache?.key ?? null,
    cache_info: node.cache == null ? null : JSON.stringify({ parts: node.cache.parts, hit: node.cache.hit, comparedWith: node.cache.comparedWith }),
  }
}

export function attemptRows(runId: string, node: Pick<NodeResult, 'attempts'>, ordinal: number): NewAttemptRow[] {
  return node.attempts.map(attempt => ({
    run_id: runId,
    node_ordinal: ordinal,
    attempt: attempt.attempt,
    status: attempt.status,
    exit_code: attempt.exitCode,
    signal: attempt.signal,
    ...errorColumns(attempt.error),
    started_at: attempt.startedAt.getTime(),
    ended_at: attempt.endedAt.getTime(),
  }))
}

/** The node's final artifacts, each tagged with the attempt that wrote it when that is known. */
export function artifactRows(runId: string, node: Pick<NodeResult, 'attempts' | 'artifacts'>, nodeOrdinal: number): NewArtifactRow[] {
  const attemptOf = new Map<string, number>()
  for (const attempt of node.attempts) for (const artifact of attempt.artifacts) attemptOf.set(artifact.path, attempt.attempt)
  return node.artifacts.map((artifact, ordinal) => ({
    run_id: runId,
    node_ordinal: nodeOrdinal,
    ordinal,
    name: artifact.name,
    attempt: attemptOf.get(artifact.path) ?? null,
    path: artifact.path,
    size: artifact.size,
    sha256: artifact.sha256,
  }))
}

// -- statements --------------------------------------------------------------------------------

export function insertWorkflow(db: Db, name: string, digest: string, at: number): CompiledQuery {
  return db
    .insertInto('workflows')
    .values({ name, digest, first_run_at: at })
    .onConflict(oc => oc.columns(['name', 'digest']).doNothing())
    .compile()
}

/**
 * The run row written at `run:start`. A row already there is kept (a batch sent again), unless
 * it is the `queued` placeholder `wtflow serve` wrote while the run waited for a slot: the start
 * replaces it.
 */
export function insertRun(db: Db, row: NewRunRow): CompiledQuery {
  return db
    .insertInto('runs')
    .values(row)
    .onConflict(oc =>
      oc
        .column('id')
        .doUpdateSet(eb => ({
          digest: eb.ref('excluded.digest'),
          status: eb.ref('excluded.status'),
          exit_code: eb.ref('excluded.exit_code'),
          started_at: eb.ref('excluded.started_at'),
          ended_at: eb.ref('excluded.ended_at'),
          heartbeat_at: eb.ref('excluded.heartbeat_at'),
          host: eb.ref('excluded.host'),
          pid: eb.ref('excluded.pid'),
          process_start: eb.ref('excluded.process_start'),
          run_dir: eb.ref('excluded.run_dir'),
          config: eb.ref('excluded.config'),
          node_count: eb.ref('excluded.node_count'),
          script: eb.ref('excluded.script'),
          inputs: eb.ref('excluded.inputs'),
          plan: eb.ref('excluded.plan'),
          resumed_from: eb.ref('excluded.resumed_from'),
          flow: eb.ref('excluded.flow'),
        }))
        .where('runs.status', '=', 'queued'),
    )
    .compile()
}

export function insertNodes(db: Db, rows: readonly NewNodeRow[], maxParameters: number): CompiledQuery[] {
  return chunk(rows, maxParameters).map(part =>
    db
      .insertInto('nodes')
      .values(part)
      .onConflict(oc => oc.columns(['run_id', 'ordinal']).doNothing())
      .compile(),
  )
}

/** Like `insertNodes`, but an existing row takes the new values (final results overwrite progress). */
export function upsertNodes(db: Db, rows: readonly NewNodeRow[], maxParameters: number): CompiledQuery[] {
  return chunk(rows, maxParameters).map(part =>
    db
      .insertInto('nodes')
      .values(part)
      .onConflict(oc =>
        oc.columns(['run_id', 'ordinal']).doUpdateSet(eb => ({
          status: eb.ref('excluded.status'),
          exit_code: eb.ref('excluded.exit_code'),
          signal: eb.ref('excluded.signal'),
          error_message: eb.ref('excluded.error_message'),
          error_detail: eb.ref('excluded.error_detail'),
          skip_reason: eb.ref('excluded.skip_reason'),
          tolerated: eb.ref('excluded.tolerated'),
          attempts: eb.ref('excluded.attempts'),
          started_at: eb.ref('excluded.started_at'),
          ended_at: eb.ref('excluded.ended_at'),
          reused_from_run: eb.ref('excluded.reused_from_run'),
          reused_from_path: eb.ref('excluded.reused_from_path'),
          cache_key: eb.ref('excluded.cache_key'),
          cache_info: eb.ref('excluded.cache_info'),
        })),
      )
      .compile(),
  )
}

export function insertAttempts(db: Db, rows: readonly NewAttemptRow[], maxParameters: number): CompiledQuery[] {
  return chunk(rows, maxParameters).map(part =>
    db
      .insertInto('attempts')
      .values(part)
      .onConflict(oc => oc.columns(['run_id', 'node_ordinal', 'attempt']).doNothing())
      .compile(),
  )
}

export function upsertArtifacts(db: Db, rows: readonly NewArtifactRow[], maxParameters: number): CompiledQuery[] {
  return chunk(rows, maxParameters).map(part =>
    db
      .insertInto('artifacts')
      .values(part)
      .onConflict(oc =>
        oc.columns(['run_id', 'node_ordinal', 'ordinal']).doUpdateSet(eb => ({
          name: eb.ref('excluded.name'),
          attempt: eb.ref('excluded.attempt'),
          path: eb.ref('excluded.path'),
          size: eb.ref('excluded.size'),
          sha256: eb.ref('excluded.sha256'),
        })),
      )
      .compile(),
  )
}

/** An attempt starts: the node is running (its first start time is kept across retries). */
export function markNodeStarted(t: StatementTemplates, event: EngineEventMap['node:start'], ordinal: number): CompiledQuery {
  return t.bind('node:start', ['running', event.attempt, event.startedAt.getTime(), event.runId, ordinal], (db, [running, attempt, at, runId, ordinal]) =>
    db
      .updateTable('nodes')
      .set(eb => ({
        status: running as string,
        attempts: attempt as number,
        started_at: eb.fn.coalesce('started_at', sql.val(at as number)),
      }))
      .where('run_id', '=', runId as string)
      .where('ordinal', '=', ordinal as number)
      .compile(),
  )
}

const NODE_END_COLUMNS = [
  'status', 'exit_code', 'signal', 'error_message', 'error_detail', 'skip_reason', 'tolerated', 'attempts', 'started_at', 'ended_at', 'reused_from_run', 'reused_from_path', 'cache_key', 'cache_info',
] as const

type NodeEndRow = Pick<NewNodeRow, 'run_id' | 'ordinal' | (typeof NODE_END_COLUMNS)[number]>

/** A node reached its final status (`row`: from `nodeEndRow`, or a whole `nodeRow`). */
export function markNodeEnded(t: StatementTemplates, row: NodeEndRow): CompiledQuery {
  const values = [...NODE_END_COLUMNS.map(column => row[column]), row.run_id, row.ordinal]
  return t.bind('node:end', values, (db, v) =>
    db
      .updateTable('nodes')
      .set(Object.fromEntries(NODE_END_COLUMNS.map((column, i) => [column, v[i]])) as NodeUpdate)
      .where('run_id', '=', v[NODE_END_COLUMNS.length] as string)
      .where('ordinal', '=', v[NODE_END_COLUMNS.length + 1] as number)
      .compile(),
  )
}

/** Rows through a template keyed by table and row count (the recorder's inserts are small). */
export function templatedRows<R extends object>(
  t: StatementTemplates,
  key: string,
  rows: readonly R[],
  build: (db: Db, rows: readonly R[]) => CompiledQuery[],
): CompiledQuery[] {
  if (rows.length === 0) return []
  if (rows.length > 20) return build(t.db, rows)
  const columns = Object.keys(rows[0]!) as (keyof R)[]
  const values = rows.flatMap(row => columns.map(column => row[column]))
  return [
    t.bind(`${key}:${rows.length}:${columns.join(',')}`, values, (db, v) => {
      const rebuilt = rows.map((_, r) => Object.fromEntries(columns.map((column, c) => [column, v[r * columns.length + c]])) as R)
      const [statement] = build(db, rebuilt)
      return statement!
    }),
  ]
}

export function markRunEnded(db: Db, result: RunResult): CompiledQuery {
  return db
    .updateTable('runs')
    .set({
      status: result.status,
      exit_code: result.exitCode,
      ended_at: result.endedAt.getTime(),
      heartbeat_at: Date.now(),
    })
    .where('id', '=', result.id)
    .compile()
}

export function heartbeat(t: StatementTemplates, runIds: readonly string[], clock: RawBuilder<number> | null): CompiledQuery {
  const values = clock === null ? ['running', Date.now(), ...runIds] : ['running', ...runIds]
  return t.bind(`heartbeat:${clock === null ? 'client' : 'server'}:${runIds.length}`, values, (db, [running, ...rest]) =>
    db
      .updateTable('runs')
      .set({ heartbeat_at: clock ?? (rest[0] as number) })
      .where('id', 'in', (clock === null ? rest.slice(1) : rest) as string[])
      .where('status', '=', running as string)
      .compile(),
  )
}

/** Everything a finished run consists of, for a run whose progress was not recorded (and for seeding). */
export function wholeRunStatements(db: Db, result: RunResult, who: ProcessIdentity, maxParameters: number, config: Record<string, string | number | boolean> = {}): CompiledQuery[] {
  const run = runRow({ runId: result.id, workflow: result.workflow, digest: '', startedAt: result.startedAt, runDir: result.runDir, config, nodeCount: result.nodes.length }, who)
  const ordinals = ordinalsOf(result.nodes)
  return [
    insertWorkflow(db, result.workflow, '', result.startedAt.getTime()),
    insertRun(db, run),
    ...upsertNodes(db, result.nodes.map((node, i) => nodeRow(result.id, node, i, node.parentPath === null ? null : (ordinals.get(node.parentPath) ?? null))), maxParameters),
    ...insertAttempts(db, result.nodes.flatMap((node, i) => attemptRows(result.id, node, i)), maxParameters),
    ...upsertArtifacts(db, result.nodes.flatMap((node, i) => artifactRows(result.id, node, i)), maxParameters),
    markRunEnded(db, result),
  ]
}

/** Ordinals by node path, for nodes listed in tree order (a run's result). */
export function ordinalsOf(nodes: ReadonlyArray<{ path: string }>): Map<string, number> {
  return new Map(nodes.map((node, i) => [node.path, i]))
}
