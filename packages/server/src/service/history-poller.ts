import type { NodeDocument, NodeStatus } from '@wtflow/core'
import type { HistoryDatabase } from '@wtflow/db'
import type { EventHub } from './event-hub.js'

export interface HistoryPollerOptions {
  /** Time between two looks at history (default 500 ms). */
  intervalMs?: number
  /** Runs reported by the engine itself: the poller leaves them alone. */
  isLocal(runId: string): boolean
  /** Told about a poll that failed (the next one tries again). */
  onError?(error: unknown): void
}

interface KnownRun {
  status: string
  workflow: string
  /** ordinal → "status/attempts" last reported. */
  nodes: Map<number, string>
}

const ACTIVE = ['queued', 'running']
const ENDED_NODE: ReadonlySet<string> = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'cached'])
/** Rows are written up to a recorder batch (and its retries) after the time they carry. */
const OVERLAP_MS = 10_000
const REAP_EVERY_MS = 5_000

type RunRow = { id: string; workflow: string; status: string; exit_code: number | null }

/**
 * Sees what other processes (CLIs, other servers) record in the shared history and publishes
 * it as lifecycle events: a few indexed queries every `intervalMs` (runs queued or running,
 * runs started since the last look, the runs that were active then), and for each active run
 * the nodes that started or ended since. Polling rather than PostgreSQL LISTEN/NOTIFY: it
 * works the same on SQLite, and needs nothing from the writers (a `wtflow run` of any version).
 * The first look only learns the current state; later ones report changes.
 */
export class HistoryPoller {
  readonly #db: HistoryDatabase
  readonly #hub: EventHub
  readonly #options: HistoryPollerOptions
  readonly #known = new Map<string, KnownRun>()
  /** Runs whose end was reported, by when: the `started_at` window sees them a few times more. */
  readonly #ended = new Map<string, number>()
  #timer: NodeJS.Timeout | null = null
  #running: Promise<void> | null = null
  #lastPoll = 0
  #lastReap = 0
  #primed = false

  constructor(db: HistoryDatabase, hub: EventHub, options: HistoryPollerOptions) {
    this.#db = db
    this.#hub = hub
    this.#options = options
  }

  get intervalMs(): number {
    return this.#options.intervalMs ?? 500
  }

  /** Starts polling (idempotent). */
  start(): void {
    if (this.#timer !== null) return
    this.#timer = setInterval(() => this.pollSoon(), this.intervalMs)
    this.#timer.unref()
    void this.pollSoon()
  }

  /** Stops polling; what it knows is forgotten (the next start primes again). */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    await this.#running
    this.#known.clear()
    this.#ended.clear()
    this.#primed = false
  }

  /** Polls now unless a poll is under way. */
  pollSoon(): Promise<void> {
    this.#running ??= this.poll()
      .catch(error => this.#options.onError?.(error))
      .finally(() => {
        this.#running = null
      })
    return this.#running
  }

  /** One look at history. */
  async poll(): Promise<void> {
    const db = this.#db.db
    const now = Date.now()
    if (now - this.#lastReap >= REAP_EVERY_MS) {
      this.#lastReap = now
      await this.#db.reapCrashedRuns()
    }
    const since = (this.#primed ? this.#lastPoll : now) - OVERLAP_MS
    const columns = ['id', 'workflow', 'status', 'exit_code'] as const
    const [active, recent] = await Promise.all([
      db.selectFrom('runs').select(columns).where('status', 'in', ACTIVE).execute(),
      db.selectFrom('runs').select(columns).where('started_at', '>=', since).execute(),
    ])
    const rows = new Map<string, RunRow>()
    for (const row of [...active, ...recent]) rows.set(row.id, row)
    const missing = [...this.#known.keys()].filter(id => !rows.has(id))
    if (missing.length > 0) {
      for (const row of await db.selectFrom('runs').select(columns).where('id', 'in', missing).execute()) rows.set(row.id, row)
    }
    for (const [id, at] of this.#ended) if (at < now - 3 * OVERLAP_MS) this.#ended.delete(id)
    for (const row of rows.values()) {
      if (this.#ended.has(row.id)) continue
      if (this.#options.isLocal(row.id)) {
        this.#known.delete(row.id)
        continue
      }
      await this.#observe(row, since)
    }
    for (const id of missing) if (!rows.has(id)) this.#known.delete(id) // deleted (retention)
    this.#lastPoll = now
    this.#primed = true
  }

  async #observe(row: RunRow, since: number): Promise<void> {
    const known = this.#known.get(row.id)
    const active = ACTIVE.includes(row.status)
    if (!this.#primed) {
      if (active) this.#known.set(row.id, { status: row.status, workflow: row.workflow, nodes: await this.#nodeStates(row.id) })
      return
    }
    if (known === undefined && !active && (await this.#endedBefore(row.id, since))) return
    const run: KnownRun = known ?? { status: '', workflow: row.workflow, nodes: new Map() }
    if (known === undefined) this.#known.set(row.id, run)
    if (run.status !== row.status) {
      if (row.status === 'queued') {
        if (!this.#hub.published(row.id, 'run:queued')) this.#publishRun('run:queued', row)
      }
      else if (run.status === '' || run.status === 'queued') this.#publishRun('run:start', { ...row, status: 'running' })
    }
    if (row.status !== 'queued') await this.#nodeChanges(row, run, active ? since : null)
    if (!active && run.status !== row.status) this.#publishRun('run:end', row)
    run.status = row.status
    if (!active) {
      this.#known.delete(row.id)
      this.#ended.set(row.id, Date.now())
    }
  }

  /** True for a run that ended before the window (seen by the `started_at` query only). */
  async #endedBefore(id: string, since: number): Promise<boolean> {
    const row = await this.#db.db.selectFrom('runs').select('ended_at').where('id', '=', id).executeTakeFirst()
    return row?.ended_at !== null && row?.ended_at !== undefined && Number(row.ended_at) < since
  }

  async #nodeStates(runId: string): Promise<Map<number, string>> {
    const rows = await this.#db.db.selectFrom('nodes').select(['ordinal', 'status', 'attempts']).where('run_id', '=', runId).where('status', '!=', 'pending').execute()
    return new Map(rows.map(r => [r.ordinal, `${r.status}/${r.attempts}`]))
  }

  /** Publishes the node changes of one run; `since` null: every node (the run just ended). */
  async #nodeChanges(row: RunRow, run: KnownRun, since: number | null): Promise<void> {
    let query = this.#db.db
      .selectFrom('nodes')
      .select(['ordinal', 'path', 'name', 'status', 'exit_code', 'signal', 'attempts', 'error_message', 'skip_reason', 'started_at', 'ended_at'])
      .where('run_id', '=', row.id)
      .where('status', '!=', 'pending')
    if (since !== null) query = query.where(eb => eb.or([eb('status', '=', 'running'), eb('started_at', '>=', since), eb('ended_at', '>=', since)]))
    for (const node of await query.orderBy('ordinal').execute()) {
      const state = `${node.status}/${node.attempts}`
      const before = run.nodes.get(node.ordinal)
      if (before === state) continue
      run.nodes.set(node.ordinal, state)
      const doc: NodeDocument = {
        path: node.path,
        name: node.name,
        status: node.status as NodeStatus,
        exitCode: node.exit_code,
        signal: node.signal,
        attempts: node.attempts,
        error: node.error_message,
        skipReason: node.skip_reason,
        startedAt: node.started_at === null ? null : new Date(Number(node.started_at)).toISOString(),
        endedAt: node.ended_at === null ? null : new Date(Number(node.ended_at)).toISOString(),
        artifacts: [],
      }
      const base = { runId: row.id, workflow: row.workflow, path: node.path, status: node.status, attempt: node.attempts, node: doc, source: 'history' as const }
      const beforeStatus = before?.split('/')[0]
      const ended = ENDED_NODE.has(node.status)
      // A node that started and ended between two looks is reported as both.
      const started = node.status === 'running' || (ended && beforeStatus !== 'running' && node.started_at !== null)
      if (started) this.#hub.publish({ ...base, event: 'node:start', status: 'running' })
      if (ended) this.#hub.publish({ ...base, event: 'node:end', exitCode: node.exit_code, error: node.error_message })
    }
  }

  #publishRun(event: 'run:queued' | 'run:start' | 'run:end', row: RunRow): void {
    this.#hub.publish({
      event,
      runId: row.id,
      workflow: row.workflow,
      path: null,
      status: row.status,
      ...(event === 'run:end' ? { exitCode: row.exit_code } : {}),
      source: 'history',
    })
  }
}
