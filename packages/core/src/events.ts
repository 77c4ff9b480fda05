import { EventEmitter } from 'node:events'
import type { EngineEventMap, EngineEventName } from './interfaces.js'

type Listener<K extends EngineEventName> = (event: EngineEventMap[K]) => void

/** A typed facade over EventEmitter: `on('node:end', e => e.node.status)` is checked at compile time. */
export class TypedEmitter {
  readonly #emitter = new EventEmitter({ captureRejections: false })

  constructor() {
    this.#emitter.setMaxListeners(0)
  }

  on<K extends EngineEventName>(name: K, listener: Listener<K>): this {
    this.#emitter.on(name, listener)
    return this
  }

  off<K extends EngineEventName>(name: K, listener: Listener<K>): this {
    this.#emitter.off(name, listener)
    return this
  }

  /** True when someone listens; lets hot paths (output chunks) skip building events. */
  hasListeners(name: EngineEventName): boolean {
    return this.#emitter.listenerCount(name) > 0
  }

  /** Calls every listener; one that throws is reported as a process warning and cannot break a run. */
  protected emit<K extends EngineEventName>(name: K, event: EngineEventMap[K]): void {
    // listeners() copies the list: not worth it for the events nobody listens to.
    if (this.#emitter.listenerCount(name) === 0) return
    for (const listener of this.#emitter.listeners(name) as Listener<K>[]) {
      try {
        listener(event)
      } catch (error) {
        process.emitWarning(`a "${name}" listener threw: ${error instanceof Error ? error.message : String(error)}`, { code: 'WTFLOW_LISTENER_ERROR' })
      }
    }
  }
}
