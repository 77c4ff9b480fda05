/**
 * A counting semaphore: bounds how many executables run at once across the whole tree.
 * Aborting `signal` rejects every waiter. One listener for all of them: AbortSignal scans its
 * listeners on every add, so a listener per waiter is quadratic with 100,000 waiting nodes.
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

  /** Resolves to a release function once a slot is free; rejects once the signal aborts. */
  acquire(): Promise<() => void> {
    if (this.#signal?.aborted) return Promise.reject(this.#signal.reason)
    if (this.#available > 0) {
      this.#available--
      return Promise.resolve(this.#releaser())
    }
    return new Promise((resolve, reject) => {
      this.#waiting.push({ grant: () => resolve(this.#releaser()), reject })
    })
  }

  #rejectAll(): void {
    const waiting = this.#waiting.slice(this.#head)
    this.#waiting = []
    this.#head = 0
    for (const waiter of waiting) waiter.reject(this.#signal!.reason)
  }

  #releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      if (this.#head < this.#waiting.length) {
        const next = this.#waiting[this.#head]!
        this.#waiting[this.#head++] = undefined as never
        if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
          this.#waiting = this.#waiting.slice(this.#head)
          this.#head = 0
        }
        next.grant()
      } else {
        this.#available++
      }
    }
  }
}
