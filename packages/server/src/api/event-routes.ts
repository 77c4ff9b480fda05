import { Hono } from 'hono'
import type { ServerContext } from '../context.js'
import type { AuthVariables } from '../http/security.js'
import { sseResponse } from '../http/sse.js'
import type { LifecycleEvent } from '../service/event-hub.js'

/**
 * `GET /api/v1/events`: lifecycle events of every run the history records, as server-sent
 * events (`id` = the event's sequence number; `Last-Event-ID` replays what was missed while the
 * server still keeps it). `?run=ID` keeps one run's events.
 */
export function eventRoutes(ctx: ServerContext): Hono<{ Variables: AuthVariables }> {
  const app = new Hono<{ Variables: AuthVariables }>()
  app.get('/api/v1/events', c => {
    const run = c.req.query('run')
    const lastId = c.req.header('last-event-id')
    const keep = (event: LifecycleEvent) => run === undefined || event.runId === run || event.runId.startsWith(run)
    return sseResponse(c, ctx.sse, async (send, signal) => {
      const queue: LifecycleEvent[] = []
      let wake: (() => void) | null = null
      const unsubscribe = ctx.hub.subscribe(event => {
        if (!keep(event)) return
        queue.push(event)
        wake?.()
      })
      const onAbort = () => wake?.()
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        if (lastId !== undefined && /^\d+$/.test(lastId)) {
          const missed = ctx.hub.since(Number(lastId))
          if (missed === null) await send({ event: 'gap', data: JSON.stringify({ message: 'some events were missed; reload the state you show' }) })
          else queue.unshift(...missed.filter(keep).filter(e => !queue.includes(e)))
        }
        await send({ event: 'ready', data: JSON.stringify({ seq: ctx.hub.lastSeq }) })
        while (!signal.aborted) {
          while (queue.length > 0) {
            const event = queue.shift()!
            await send({ id: String(event.seq), data: JSON.stringify(event) })
          }
          await new Promise<void>(resolve => {
            wake = resolve
            if (queue.length > 0 || signal.aborted) resolve()
          })
          wake = null
        }
      } finally {
        signal.removeEventListener('abort', onAbort)
        unsubscribe()
      }
    })
  })
  return app
}
