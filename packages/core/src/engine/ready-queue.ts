/**
 * The nodes waiting for a slot, smallest ordinal first: ready nodes take `max_parallel` slots in
 * tree order. A binary heap of ordinals (plain numbers: 100,000 waiting nodes cost 100,000 slots
 * of an array, nothing more).
 */
export class ReadyQueue {
  readonly #heap: number[] = []

  get size(): number {
    return this.#heap.length
  }

  push(ordinal: number): void {
    const heap = this.#heap
    let i = heap.length
    heap.push(ordinal)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]! <= ordinal) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = ordinal
  }

  /** The smallest ordinal, removed; undefined when empty. */
  pop(): number | undefined {
    const heap = this.#heap
    if (heap.length === 0) return undefined
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) {
      let i = 0
      const n = heap.length
      for (;;) {
        const left = 2 * i + 1
        if (left >= n) break
        const right = left + 1
        const child = right < n && heap[right]! < heap[left]! ? right : left
        if (heap[child]! >= last) break
        heap[i] = heap[child]!
        i = child
      }
      heap[i] = last
    }
    return top
  }
}
