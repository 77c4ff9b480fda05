import { describe, expect, it } from 'vitest'
import { Limiter } from '../src/limiter.js'

describe('Limiter', () => {
  it('grants at most `capacity` slots, first come first served', async () => {
    const limiter = new Limiter(2)
    const order: number[] = []
    const first = await limiter.acquire()
    const second = await limiter.acquire()
    const waiting = [3, 4, 5].map(n => limiter.acquire().then(release => (order.push(n), release)))
    await Promise.resolve()
    expect(order).toEqual([])
    first()
    first() // releasing twice frees one slot only
    const third = await waiting[0]!
    expect(order).toEqual([3])
    second()
    third()
    await Promise.all(waiting.slice(1))
    expect(order).toEqual([3, 4, 5])
  })

  it('rejects every waiter once its signal aborts', async () => {
    const controller = new AbortController()
    const limiter = new Limiter(1, controller.signal)
    await limiter.acquire()
    const waiters = Array.from({ length: 1000 }, () => limiter.acquire())
    controller.abort('cancel')
    const results = await Promise.allSettled(waiters)
    expect(results.every(r => r.status === 'rejected' && r.reason === 'cancel')).toBe(true)
    await expect(limiter.acquire()).rejects.toBe('cancel')
  })
})
