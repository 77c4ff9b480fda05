/**
 * A counting semaphore: bounds how many executables run at once across the whole tree.
 * Aborting `signal` rejects every waiter. One listener for all of them: AbortSignal scans its
 * listeners on every add, so a listener per waiter is quadratic with 100,000 waiting nodes.
 *
 * Whoever got a slot (from `tryAcquire()` or `acquire()`) calls `release()` exactly once.
 */
export class Limiter {
  #available: number
  // A FIFO with a moving head: Array.shift() is O(n), too slow with 100,000 waiters.
  #waiting: Array<{ grant: () => void; reject: (reason: unknown) => void }> = []
  #head = 0
  readonly #signal: AbortSignal | undefined

  constructor(readonly capacity: number, signal?: AbortSignal) {
    this.#available = capacity
    this.#signal = signal
    signal?.addEventListener('abort', () => this.#rejectAll(), { once: true })
  }

  /** Takes a slot if one is free right now (and the signal has not aborted). */
  tryAcquire(): boolean {
    if (this.#available === 0 || this.#signal?.aborted === true) return false
    this.#available--
    return true
  }

  /** Resolves once the caller holds a slot; rejects once the signal aborts. */
  acquire(): Promise<void> {
    if (this.#signal?.aborted) return Promise.reject(this.#signal.reason)
    if (this.tryAcquire()) return Promise.resolve()
    return new Promise((grant, reject) => {
      this.#waiting.push({ grant, reject })
    })
  }

  /** Gives the caller's slot to the first waiter, or frees it. */
  release(): void {
    if (this.#head === this.#waiting.length) {
      this.#available++
      return
    }
    const next = this.#waiting[this.#head]!
    this.#waiting[this.#head++] = undefined as never
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head)
      this.#head = 0
    }
    next.grant()
  }

  #rejectAll(): void {
    const waiting = this.#waiting.slice(this.#head)
    this.#waiting = []
    this.#head = 0
    for (const waiter of waiting) waiter.reject(this.#signal!.reason)
  }
}
