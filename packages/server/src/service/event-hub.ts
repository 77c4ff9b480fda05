import type { NodeDocument } from '@wtflow/core'

export type LifecycleEventName = 'run:queued' | 'run:start' | 'node:start' | 'node:attempt' | 'node:end' | 'run:end'

/**
 * One lifecycle event of a run, as `GET /api/v1/events` sends it (one SSE `data:` line of
 * JSON). Runs this server executes are reported as the engine emits them (`source: local`);
 * runs of other processes sharing the history as the history poller sees them (`history`).
 */
export interface LifecycleEvent {
  /** Position in this server's event sequence: the SSE event id. */
  seq: number
  /** ISO-8601 time the event was seen. */
  ts: string
  event: LifecycleEventName
  runId: string
  workflow: string | null
  /** The node's path for `node:*` events, else null. */
  path: string | null
  /** The run's status for `run:*` events, the node's (or attempt's) for `node:*` events. */
  status: string
  attempt?: number
  exitCode?: number | null
  error?: string | null
  /** The node as `show --json` has it, for `node:*` events. */
  node?: NodeDocument
  source: 'local' | 'history'
}

export type EventInput = Omit<LifecycleEvent, 'seq' | 'ts'> & { ts?: string }
type Listener = (event: LifecycleEvent) => void

const RING_SIZE = 2048

/**
 * Fan-out of lifecycle events to the server's SSE clients, with the last events kept so that a
 * client reconnecting with `Last-Event-ID` misses none. `onDemand` is told when the first
 * listener comes and the last one goes (the history poller runs only while someone listens).
 */
export class EventHub {
  #seq = 0
  readonly #ring: LifecycleEvent[] = []
  readonly #listeners = new Set<Listener>()
  #onDemand: ((wanted: boolean) => void) | null = null

  set onDemand(callback: ((wanted: boolean) => void) | null) {
    this.#onDemand = callback
    callback?.(this.#listeners.size > 0)
  }

  get listenerCount(): number {
    return this.#listeners.size
  }

  get lastSeq(): number {
    return this.#seq
  }

  publish(input: EventInput): LifecycleEvent {
    const event: LifecycleEvent = { ...input, seq: ++this.#seq, ts: input.ts ?? new Date().toISOString() }
    this.#ring.push(event)
    if (this.#ring.length > RING_SIZE) this.#ring.splice(0, this.#ring.length - RING_SIZE)
    for (const listener of [...this.#listeners]) {
      try {
        listener(event)
      } catch {
        // One broken client must not stop the others.
      }
    }
    return event
  }

  /** Listens until the returned function is called. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener)
    if (this.#listeners.size === 1) this.#onDemand?.(true)
    return () => {
      if (!this.#listeners.delete(listener)) return
      if (this.#listeners.size === 0) this.#onDemand?.(false)
    }
  }

  /** True if a `name` event of this run is among the events kept (the poller skips what the engine told). */
  published(runId: string, name: LifecycleEventName): boolean {
    for (let i = this.#ring.length - 1; i >= 0; i--) {
      const event = this.#ring[i]!
      if (event.runId === runId && event.event === name) return true
    }
    return false
  }

  /** The kept events of one run, oldest first. */
  eventsOf(runId: string): LifecycleEvent[] {
    return this.#ring.filter(event => event.runId === runId)
  }

  /** The events after `seq`, or null when some of them are no longer kept. */
  since(seq: number): LifecycleEvent[] | null {
    if (seq >= this.#seq) return []
    const first = this.#ring[0]
    if (first === undefined || first.seq > seq + 1) return null
    return this.#ring.slice(seq + 1 - first.seq)
  }
}
