import type { Context } from 'hono'
import { streamSSE, type SSEStreamingApi } from 'hono/streaming'

export interface SseMessage {
  event?: string
  data: string
  id?: string
}

/** Open server-sent-event streams of the server, so that close() can end them. */
export class SseRegistry {
  readonly #open = new Set<AbortController>()

  get size(): number {
    return this.#open.size
  }

  add(controller: AbortController): () => void {
    this.#open.add(controller)
    return () => this.#open.delete(controller)
  }

  closeAll(): void {
    for (const controller of this.#open) controller.abort()
  }
}

const KEEPALIVE_MS = 15_000

/**
 * One event as text. Hono's writeSSE splits every payload on line breaks with a regular
 * expression; a log stream sends 10 MB/s of JSON text that has none, so that is checked first.
 */
function frame(message: SseMessage): string {
  let text = ''
  if (message.event !== undefined) text += `event: ${message.event}\n`
  if (message.id !== undefined) text += `id: ${message.id}\n`
  const data = message.data
  if (data.includes('\n') || data.includes('\r')) {
    for (const line of data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`
  } else {
    text += `data: ${data}\n`
  }
  return `${text}\n`
}

/**
 * A server-sent-event response. `run` writes events with `send` until it returns or `signal`
 * aborts (the client went away, or the server closes). Comment lines keep idle streams alive
 * through proxies. Everything `run` set up must be released when it returns.
 */
export function sseResponse(
  c: Context,
  registry: SseRegistry,
  run: (send: (message: SseMessage) => Promise<void>, signal: AbortSignal) => Promise<void>,
): Response {
  c.header('X-Accel-Buffering', 'no')
  return streamSSE(c, async (stream: SSEStreamingApi) => {
    const controller = new AbortController()
    const unregister = registry.add(controller)
    const abort = () => controller.abort()
    stream.onAbort(abort)
    c.req.raw.signal.addEventListener('abort', abort, { once: true })
    const keepalive = setInterval(() => void stream.write(': keepalive\n\n'), KEEPALIVE_MS)
    keepalive.unref()
    try {
      // Sent at once: the client knows it is connected (and proxies pass the headers on).
      await stream.write(': connected\n\n')
      await run(async message => {
        if (controller.signal.aborted) return
        await stream.write(frame(message))
      }, controller.signal)
    } catch (error) {
      if (!controller.signal.aborted) {
        await stream.writeSSE({ event: 'error', data: JSON.stringify({ message: error instanceof Error ? error.message : String(error) }) })
      }
    } finally {
      clearInterval(keepalive)
      c.req.raw.signal.removeEventListener('abort', abort)
      unregister()
    }
  })
}
