import { setTimeout as sleep } from 'node:timers/promises'
import type { EngineEventMap, EngineEventName, PlanNode } from '@wtflow/core'
import type { CompiledQuery } from 'kysely'
import type { HistoryDatabase } from './history.js'
import { RecordingError } from './errors.js'
import { DEFAULT_HEARTBEAT_MS, runsRecordedHere, thisProcess } from './liveness.js'
import type { NewNodeRow } from './schema.js'
import {
  artifactRows,
  attemptRows,
  heartbeat,
  insertAttempts,
  insertNodes,
  insertRun,
  insertWorkflow,
  markNodeEnded,
  markNodeStarted,
  markRunEnded,
  nodeEndRow,
  nodeRow,
  ordinalsOf,
  pathKey,
  runRow,
  upsertArtifacts,
  upsertNodes,
  wholeRunStatements,
  StatementTemplates,
  templatedRows,
  type ProcessIdentity,
} from './writes.js'

/** What the recorder needs of an engine: `Engine` (or any `TypedEmitter`) fits. */
export interface EngineEvents {
  on<K extends EngineEventName>(name: K, listener: (event: EngineEventMap[K]) => void): unknown
  off<K extends EngineEventName>(name: K, listener: (event: EngineEventMap[K]) => void): unknown
}

export interface RecorderOptions {
  /** How often a running run's heartbeat is written (default 2000 ms): a crashed run's duration ends at its last one. */
  heartbeatMs?: number
  /**
   * Called (once per run) when history says `wtflow cancel` asked a run this recorder records to
   * stop; read with each heartbeat. The caller cancels the run (its AbortSignal).
   */
  onCancelRequest?: (runId: string) => void
  /**
   * A write that fails on a lost connection, a busy database or a full disk is retried: while
   * the recorder records, until it succeeds (the events wait in memory); once `close()` was
   * called, for at most this long more (default 30000 ms), then it is given up.
   */
  retryForMs?: number
  /** Most statements in one transaction (default 500). */
  maxBatch?: number
  /**
   * How long the writer waits after an event for more to join its transaction (default 100 ms):
   * the end of one node and the start of the next share a commit (and a round trip). History
   * lags the run by at most this much; with a quick chain of commands, every SQLite commit
   * also costs the spawns that follow it (a fork gets dearer after the parent wrote memory),
   * so fewer, larger transactions are cheaper than many small ones.
   */
  batchDelayMs?: number
  /** Told about every write that is given up (default: nothing; `flush()` reports them). */
  onError?: (error: unknown) => void
  /** Told each time a write failed for a reason that may pass (a lock, a lost connection, a full disk) and will be tried again. */
  onRetry?: (error: unknown, attempt: number) => void
}

interface Pending {
  /**
   * Builds the statements. Compiling happens in the writer, not in the event handler: the
   * engine goes on (spawns the next process) first, and the writer works while it waits.
   */
  build: () => CompiledQuery[]
  /** Runs once the statements are written (or given up). */
  after?: () => void
  /** Set when a later event makes these statements pointless before they were built. */
  superseded?: boolean
}

interface ActiveRun {
  /** Ordinals of the nodes whose end was seen. */
  ended: Set<number>
  /** node:start writes still queued, by ordinal: a node:end queued after one replaces it. */
  queuedStarts: Map<number, Pending>
}

/**
 * Records runs as they happen: subscribes to an engine's lifecycle events and writes each
 * change to history in the background. Handlers only queue compiled statements, so they never
 * throw into the engine and never wait for the database; a writer sends the queue in order,
 * in transactions, retrying on a fresh connection when one is lost. `node:output` is ignored:
 * output lives in the artifact store.
 *
 * What history shows at any moment is true: the run row (`running`) and every planned node
 * (`pending`) are written at `run:start`, nodes change at `node:start`/`node:attempt`/
 * `node:end`, and the run is finalized at `run:end`.
 *
 * @example
 * const recorder = attachRecorder(engine, db)
 * const result = await engine.run(workflow)
 * await recorder.close()   // everything is written; throws RecordingError if some writes failed
 */
export class Recorder {
  readonly #engine: EngineEvents
  readonly #db: HistoryDatabase | null
  readonly #who: ProcessIdentity = thisProcess()
  readonly #retryForMs: number
  readonly #maxBatch: number
  readonly #batchDelayMs: number
  readonly #onError: ((error: unknown) => void) | undefined
  readonly #onRetry: ((error: unknown, attempt: number) => void) | undefined
  readonly #queue: Pending[] = []
  readonly #active = new Map<string, ActiveRun>()
  readonly #heartbeat: NodeJS.Timeout | undefined
  readonly #onCancelRequest: ((runId: string) => void) | undefined
  readonly #cancelTold = new Set<string>()
  readonly #templates: StatementTemplates | undefined
  #draining: Promise<void> | null = null
  #scheduled = false
  #lostWrites = 0
  #firstError: unknown = undefined
  #closed = false
  /** When `close()` was called (monotonic ms): the clock of the last retries. */
  #closingSince: number | null = null

  readonly #listeners = {
    'run:start': (event: EngineEventMap['run:start']) => this.#guard(() => this.#onRunStart(event)),
    'node:start': (event: EngineEventMap['node:start']) => this.#guard(() => this.#onNodeStart(event)),
    'node:attempt': (event: EngineEventMap['node:attempt']) => this.#guard(() => this.#onNodeAttempt(event)),
    'node:end': (event: EngineEventMap['node:end']) => this.#guard(() => this.#onNodeEnd(event)),
    'run:end': (event: EngineEventMap['run:end']) => this.#guard(() => this.#onRunEnd(event)),
  }

  constructor(engine: EngineEvents, db: HistoryDatabase | null, options: RecorderOptions = {}) {
    this.#engine = engine
    this.#db = db
    this.#retryForMs = options.retryForMs ?? 30_000
    this.#maxBatch = options.maxBatch ?? 500
    this.#batchDelayMs = options.batchDelayMs ?? 100
    this.#onError = options.onError
    this.#onRetry = options.onRetry
    this.#onCancelRequest = options.onCancelRequest
    if (db === null) return
    this.#templates = new StatementTemplates(db.db)
    engine.on('run:start', this.#listeners['run:start'])
    engine.on('node:start', this.#listeners['node:start'])
    engine.on('node:attempt', this.#listeners['node:attempt'])
    engine.on('node:end', this.#listeners['node:end'])
    engine.on('run:end', this.#listeners['run:end'])
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS)
    this.#heartbeat.unref()
  }

  /** Events queued and not yet written. */
  get pendingWrites(): number {
    return this.#queue.length
  }

  /**
   * Resolves when everything queued so far is written. Rejects with `RecordingError` if some
   * writes were given up since the last flush (the record of the run is then incomplete).
   */
  async flush(): Promise<void> {
    while (this.#draining !== null || this.#queue.length > 0) {
      if (this.#draining === null) this.#drain()
      await this.#draining
    }
    if (this.#lostWrites > 0) {
      const error = new RecordingError(this.#lostWrites, this.#db?.description ?? 'history', { cause: this.#firstError })
      this.#lostWrites = 0
      this.#firstError = undefined
      throw error
    }
  }

  /** Stops listening, stops the heartbeat and flushes. Does not close the database. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.#closingSince = performance.now()
      clearInterval(this.#heartbeat)
      this.#engine.off('run:start', this.#listeners['run:start'])
      this.#engine.off('node:start', this.#listeners['node:start'])
      this.#engine.off('node:attempt', this.#listeners['node:attempt'])
      this.#engine.off('node:end', this.#listeners['node:end'])
      this.#engine.off('run:end', this.#listeners['run:end'])
    }
    await this.flush()
  }

  // -- events ------------------------------------------------------------------------------------

  #onRunStart(event: EngineEventMap['run:start']): void {
    const db = this.#db!
    const { plan } = event
    this.#active.set(event.runId, { ended: new Set(), queuedStarts: new Map() })
    runsRecordedHere.add(event.runId)
    const { runId, workflow, startedAt, runDir, config, script, inputs, resumedFrom, flow, mask } = event
    const nodes = plan.nodes.map(node => pendingNode(event.runId, node, event.mask))
    this.#enqueue(() => {
      // The plan document is built by the writer, off the engine's path (the plan is immutable).
      const planJson = JSON.stringify(maskStrings(plan.toJSON(), mask))
      const run = runRow({ runId, workflow, startedAt, runDir, config, script, inputs, resumedFrom, plan: planJson, flow: flow === undefined ? null : JSON.stringify({ format: flow.format, text: mask(flow.text) }), digest: plan.digest, nodeCount: plan.nodes.length }, this.#who)
      return [insertWorkflow(db.db, workflow, run.digest, startedAt.getTime()), insertRun(db.db, run), ...insertNodes(db.db, nodes, db.dialect.maxParameters)]
    })
  }

  #onNodeStart(event: EngineEventMap['node:start']): void {
    const run = this.#active.get(event.runId)
    if (run === undefined) return
    const { ordinal } = event
    const templates = this.#templates!
    const pending: Pending = {
      build: () => {
        run.queuedStarts.delete(ordinal)
        return [markNodeStarted(templates, event, ordinal)]
      },
    }
    run.queuedStarts.set(ordinal, pending)
    this.#enqueue(pending)
  }

  #onNodeAttempt(event: EngineEventMap['node:attempt']): void {
    if (!this.#active.has(event.runId)) return
    const db = this.#db!
    const rows = attemptRows(event.runId, { attempts: [event.attempt] }, event.ordinal)
    const templates = this.#templates!
    this.#enqueue(() => templatedRows(templates, 'attempts', rows, (kdb, part) => insertAttempts(kdb, part, db.dialect.maxParameters)))
  }

  #onNodeEnd(event: EngineEventMap['node:end']): void {
    const run = this.#active.get(event.runId)
    if (run === undefined) return
    const { ordinal } = event
    const db = this.#db!
    run.ended.add(ordinal)
    // Its start is not written yet (a quick node): the end row says all the start would.
    const start = run.queuedStarts.get(ordinal)
    if (start !== undefined) {
      start.superseded = true
      run.queuedStarts.delete(ordinal)
    }
    // The rows are taken now (the engine's node state may change after the event); compiling waits for the writer.
    const row = nodeEndRow(event.runId, event.node, ordinal)
    const artifacts = artifactRows(event.runId, event.node, ordinal)
    const templates = this.#templates!
    this.#enqueue(() => [
      markNodeEnded(templates, row),
      ...templatedRows(templates, 'artifacts', artifacts, (kdb, part) => upsertArtifacts(kdb, part, db.dialect.maxParameters)),
    ])
  }

  #onRunEnd({ result }: EngineEventMap['run:end']): void {
    const db = this.#db!
    const run = this.#active.get(result.id)
    this.#active.delete(result.id)
    const max = db.dialect.maxParameters
    if (run === undefined) {
      // We missed the start (attached mid-run): write the whole result at once.
      this.#enqueue(() => wholeRunStatements(db.db, result, this.#who, max))
      return
    }
    // Nodes whose end we did not see (none, normally) are written from the final result.
    const missed = result.nodes.filter(node => !run.ended.has(node.ordinal))
    const ordinals = missed.length === 0 ? null : ordinalsOf(result.nodes)
    const parentOf = (parentPath: string | null) => (parentPath === null ? null : (ordinals!.get(parentPath) ?? null))
    const nodes = missed.map(node => nodeRow(result.id, node, node.ordinal, parentOf(node.parentPath)))
    const attempts = missed.flatMap(node => attemptRows(result.id, node, node.ordinal))
    const artifacts = missed.flatMap(node => artifactRows(result.id, node, node.ordinal))
    this.#enqueue(
      () => [
        ...upsertNodes(db.db, nodes, max),
        ...insertAttempts(db.db, attempts, max),
        ...upsertArtifacts(db.db, artifacts, max),
        markRunEnded(db.db, result),
      ],
      // Until its end is written, a reader in this process must still see the run as alive.
      () => runsRecordedHere.delete(result.id),
    )
  }

  #beat(): void {
    if (this.#active.size === 0) return
    const templates = this.#templates!
    const ids = [...this.#active.keys()]
    const clock = this.#db!.dialect.clock
    this.#enqueue(() => [heartbeat(templates, ids, clock)])
    const onCancelRequest = this.#onCancelRequest
    if (onCancelRequest === undefined) return
    const asking = ids.filter(id => !this.#cancelTold.has(id))
    this.#db!.cancelRequested(asking).then(
      requested => {
        for (const id of requested) {
          if (this.#cancelTold.has(id)) continue
          this.#cancelTold.add(id)
          onCancelRequest(id)
        }
      },
      // A failed read is tried again with the next heartbeat.
      () => {},
    )
  }

  // -- writer ------------------------------------------------------------------------------------

  /** Event handlers must never throw into the engine: a failure here only costs history. */
  #guard(handler: () => void): void {
    try {
      handler()
    } catch (error) {
      this.#fail(1, error)
    }
  }

  #enqueue(work: Pending | (() => CompiledQuery[]), after?: () => void): void {
    const pending = typeof work === 'function' ? { build: work } : work
    if (after !== undefined) pending.after = after
    this.#queue.push(pending)
    if (this.#draining === null && !this.#scheduled) {
      // Wait a little for more events, so that they share a transaction.
      this.#scheduled = true
      setTimeout(() => {
        this.#scheduled = false
        if (this.#draining === null) this.#drain()
      }, this.#batchDelayMs)
    }
  }

  #drain(): void {
    this.#draining = (async () => {
      while (this.#queue.length > 0) {
        const statements: CompiledQuery[] = []
        const done: Array<() => void> = []
        while (this.#queue.length > 0 && statements.length < this.#maxBatch) {
          const item = this.#queue.shift()!
          try {
            if (!item.superseded) statements.push(...item.build())
          } catch (error) {
            this.#fail(1, error)
          }
          if (item.after !== undefined) done.push(item.after)
        }
        await this.#write(statements)
        for (const after of done) after()
      }
    })().finally(() => {
      this.#draining = null
    })
  }

  /** Writes statements, retrying transient failures (see `retryForMs`); never rejects. */
  async #write(statements: CompiledQuery[]): Promise<void> {
    if (statements.length === 0) return
    const db = this.#db!
    for (let attempt = 0; ; attempt++) {
      try {
        await db.execute(statements)
        return
      } catch (error) {
        const transient = db.dialect.isTransientError(error)
        if (transient && !this.#givingUp()) {
          this.#tell(this.#onRetry, error, attempt + 1)
          await sleep(Math.min(50 * 2 ** attempt, 1000))
          continue
        }
        if (statements.length > 1 && !transient) {
          // One bad statement must not take the others down with it.
          for (const statement of statements) await this.#write([statement])
          return
        }
        this.#fail(statements.length, error)
        return
      }
    }
  }

  /** True once closing has waited `retryForMs` for writes that keep failing. */
  #givingUp(): boolean {
    return this.#closingSince !== null && performance.now() - this.#closingSince > this.#retryForMs
  }

  #fail(lost: number, error: unknown): void {
    this.#lostWrites += lost
    this.#firstError ??= error
    this.#tell(this.#onError, error, 0)
  }

  #tell(callback: ((error: unknown, attempt: number) => void) | undefined, error: unknown, attempt: number): void {
    try {
      callback?.(error, attempt)
    } catch {
      // A throwing callback must not stop the writer.
    }
  }
}

/**
 * Records the engine's runs in `db` until `close()`. With `db === null` (tracking off) it
 * records nothing and `flush()`/`close()` resolve at once.
 *
 * @example
 * const db = await openDatabase(config.database, { source: config.sources['database.url'] })
 * const recorder = attachRecorder(engine, db)
 * try { await engine.run(workflow) } finally { await recorder.close(); await db?.close() }
 */
export function attachRecorder(engine: EngineEvents, db: HistoryDatabase | null, options: RecorderOptions = {}): Recorder {
  return new Recorder(engine, db, options)
}

/** A copy of a JSON value with `mask` applied to every string in it (a plan document holds executables' secrets in clear). */
function maskStrings(value: unknown, mask: (text: string) => string): unknown {
  if (typeof value === 'string') return mask(value)
  if (Array.isArray(value)) return value.map(item => maskStrings(item, mask))
  if (typeof value === 'object' && value !== null) {
    const masked: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) masked[key] = maskStrings(item, mask)
    return masked
  }
  return value
}

function pendingNode(runId: string, node: PlanNode, mask: (text: string) => string): NewNodeRow {
  return {
    run_id: runId,
    ordinal: node.ordinal,
    path: node.path,
    path_key: pathKey(node.path),
    name: node.name,
    parent_ordinal: node.parent?.ordinal ?? null,
    kind: node.kind,
    display: node.display === null ? null : mask(node.display),
    status: 'pending',
    exit_code: null,
    signal: null,
    error_message: null,
    error_detail: null,
    skip_reason: null,
    attempts: 0,
    started_at: null,
    ended_at: null,
    reused_from_run: null,
    reused_from_path: null,
    cache_key: null,
    cache_info: null,
  }
}
