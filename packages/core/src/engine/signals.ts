/**
 * Interrupts (SIGINT, SIGTERM, SIGHUP) as one small state machine, shared by the engine (which
 * cancels its runs) and the CLI (which also forces on the second one).
 */

export const INTERRUPT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

export interface InterruptHandlers {
  /** The first interrupt: cancel gracefully. */
  first(signal: NodeJS.Signals): void
  /** Every later one: force. Default: the same as `first`. */
  again?(signal: NodeJS.Signals, count: number): void
}

/** Listens for interrupts until disposed. */
export class Interrupts {
  readonly #handlers: InterruptHandlers
  readonly #signals: readonly NodeJS.Signals[]
  #count = 0
  #first: NodeJS.Signals | null = null
  readonly #listener = (signal: NodeJS.Signals) => this.#receive(signal)

  constructor(handlers: InterruptHandlers, signals: readonly NodeJS.Signals[] = INTERRUPT_SIGNALS) {
    this.#handlers = handlers
    this.#signals = signals
    for (const signal of signals) process.on(signal, this.#listener)
  }

  /** How many interrupts arrived. */
  get count(): number {
    return this.#count
  }

  /** The first interrupt's signal, or null. */
  get firstSignal(): NodeJS.Signals | null {
    return this.#first
  }

  dispose(): void {
    for (const signal of this.#signals) process.off(signal, this.#listener)
  }

  #receive(signal: NodeJS.Signals): void {
    this.#count++
    if (this.#count === 1) {
      this.#first = signal
      this.#handlers.first(signal)
    } else {
      ;(this.#handlers.again ?? this.#handlers.first)(signal, this.#count)
    }
  }
}

/** Something that can be cancelled by an interrupt: a running workflow. */
export interface Cancellable {
  cancel(): void
}

const active = new Set<Cancellable>()
let listening: Interrupts | null = null

/**
 * While runs are active, SIGINT/SIGTERM/SIGHUP cancel them (terminating every process group), and
 * the signal is raised again once they have all ended, so the host exits as it would have.
 * Returns what removes the run.
 */
export function cancelOnInterrupt(run: Cancellable): () => void {
  active.add(run)
  listening ??= new Interrupts({
    first: () => {
      for (const each of active) each.cancel()
    },
  })
  return () => {
    active.delete(run)
    if (active.size > 0 || listening === null) return
    const raised = listening.firstSignal
    listening.dispose()
    listening = null
    if (raised !== null) process.kill(process.pid, raised)
  }
}
