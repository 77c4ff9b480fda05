/** A counting semaphore: bounds how many executables run at once across the whole tree. */
export class Limiter {
  #available: number
  // A FIFO with a moving head: Array.shift() is O(n), too slow with 100,000 waiters.
  #waiting: Array<(() => void) | null> = []
  #head = 0

  constructor(readonly capacity: number) {
    this.#available = capacity
  }

  /** Resolves to a release function once a slot is free; rejects if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.#available > 0) {
      this.#available--
      return Promise.resolve(this.#releaser())
    }
    return new Promise((resolve, reject) => {
      const slot = this.#waiting.length
      const onAbort = () => {
        this.#waiting[slot] = null
        reject(signal!.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiting.push(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve(this.#releaser())
      })
    })
  }

  #next(): (() => void) | undefined {
    while (this.#head < this.#waiting.length) {
      const grant = this.#waiting[this.#head]
      this.#waiting[this.#head++] = null
      if (grant) return grant
    }
    return undefined
  }

  #releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#next()
      if (this.#head === this.#waiting.length && this.#head > 1024) {
        this.#waiting = []
        this.#head = 0
      }
      if (next) next()
      else this.#available++
    }
  }
}
