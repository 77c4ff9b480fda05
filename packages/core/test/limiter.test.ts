import { describe, expect, it } from 'vitest'
import { Limiter } from '../src/limiter.js'

describe('Limiter', () => {
  it('grants at most `capacity` slots, first come first served', async () => {
    const limiter = new Limiter(2)
    const order: number[] = []
    expect(limiter.tryAcquire()).toBe(true)
    await limiter.acquire()
    expect(limiter.tryAcquire()).toBe(false)
    const waiting = [3, 4, 5].map(n => limiter.acquire().then(() => order.push(n)))
    await Promise.resolve()
    expect(order).toEqual([])
    limiter.release()
    await waiting[0]
    expect(order).toEqual([3])
    // A release hands the slot to the next waiter: a newcomer cannot take it.
    limiter.release()
    expect(limiter.tryAcquire()).toBe(false)
    limiter.release()
    await Promise.all(waiting.slice(1))
    expect(order).toEqual([3, 4, 5])
    limiter.release()
    limiter.release()
    expect(limiter.tryAcquire()).toBe(true)
    expect(limiter.tryAcquire()).toBe(true)
    expect(limiter.tryAcquire()).toBe(false)
  })

  it('rejects every waiter once its signal aborts, and grants nothing after', async () => {
    const controller = new AbortController()
    const limiter = new Limiter(2, controller.signal)
    await limiter.acquire()
    expect(limiter.tryAcquire()).toBe(true)
    const waiters = Array.from({ length: 1000 }, () => limiter.acquire())
    controller.abort('cancel')
    const results = await Promise.allSettled(waiters)
    expect(results.every(r => r.status === 'rejected' && r.reason === 'cancel')).toBe(true)
    limiter.release()
    expect(limiter.tryAcquire()).toBe(false)
    await expect(limiter.acquire()).rejects.toBe('cancel')
  })
})
