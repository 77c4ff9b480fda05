import { createReadStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import type { NodeRecord } from '@wtflow/db'
import { Hono, type Context } from 'hono'
import type { ServerContext } from '../context.js'
import { ServerError } from '../errors.js'
import type { AuthVariables } from '../http/security.js'
import { sseResponse } from '../http/sse.js'
import { assertInsideStore, liveLogPath } from '../service/artifact-files.js'
import { followLog } from '../service/log-follower.js'

const ACTIVE = new Set(['pending', 'running'])
/** How far behind a `view=tail` stream may fall before it skips ahead. */
const VIEW_TAIL_BYTES = 64 * 1024

/** The node a route names, and the file of one of its logs (recorded, or where it is written while it runs). */
export async function nodeLog(ctx: ServerContext, runId: string, nodePath: string, stream: 'stdout' | 'stderr') {
  const node = await ctx.db.getNode(runId, nodePath)
  const info = await ctx.db.getRunInfo(node.runId)
  const recorded = node.artifacts.filter(a => a.name === stream).at(-1)?.path
  const file = recorded ?? liveLogPath(info.runDir, node.path, stream)
  await assertInsideStore(ctx.config.artifactsDir, file, `the ${stream} of "${node.path}"`)
  return { node, file, runStatus: info.status }
}

export function parseStream(value: string | undefined): 'stdout' | 'stderr' {
  if (value === undefined || value === '' || value === 'stdout') return 'stdout'
  if (value === 'stderr') return 'stderr'
  throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `stream must be stdout or stderr, got "${value}"`)
}

function parseOffset(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `${name} must be a byte count (a whole number ≥ 0), got "${value}"`)
  return Number(value)
}

/**
 * Resolves to the node's final status when the engine (or history) says it ended; polls history
 * as a fallback. The engine's event comes before history has it written.
 */
function nodeEnded(ctx: ServerContext, node: NodeRecord, signal: AbortSignal): Promise<string | null> {
  return new Promise(resolve => {
    let timer: NodeJS.Timeout | null = null
    const done = (status: string | null) => {
      unsubscribe()
      if (timer !== null) clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      resolve(status)
    }
    const onAbort = () => done(null)
    const unsubscribe = ctx.hub.subscribe(event => {
      if (event.runId !== node.runId) return
      if (event.event === 'node:end' && event.path === node.path) done(event.status)
      else if (event.event === 'run:end') done(null)
    })
    signal.addEventListener('abort', onAbort, { once: true })
    const check = async () => {
      timer = null
      try {
        const now = await ctx.db.getNode(node.runId, node.path)
        if (!ACTIVE.has(now.status)) return done(now.status)
      } catch {
        return done(null)
      }
      if (!signal.aborted) timer = setTimeout(() => void check(), 1000)
    }
    void check()
  })
}

/** `…/nodes/:path/logs` (bytes or live SSE) and `…/nodes/:path/artifacts/:name`. */
export function nodeRoutes(ctx: ServerContext): Hono<{ Variables: AuthVariables }> {
  const app = new Hono<{ Variables: AuthVariables }>()

  app.get('/api/v1/runs/:id/nodes/:path{.+}/logs', async c => {
    const stream = parseStream(c.req.query('stream'))
    const { node, file } = await nodeLog(ctx, c.req.param('id'), c.req.param('path'), stream)
    if (node.kind === 'group') throw new ServerError('WTFLOW_SERVER_NOT_FOUND', `"${node.path}" is a group (a node without an executable): it has no output`)
    const offset = parseOffset('offset', c.req.query('offset'))
    if ((c.req.header('accept') ?? '').includes('text/event-stream')) {
      const lastId = c.req.header('last-event-id')
      const from = lastId !== undefined && /^\d+$/.test(lastId) ? Number(lastId) : (offset ?? 0)
      // `?view=tail`: a viewer that shows the newest output skips what it could not show anyway.
      return followResponse(c, ctx, node, file, from, c.req.query('view') === 'tail' ? VIEW_TAIL_BYTES : undefined)
    }
    return bytesResponse(c, node, file, offset, parseOffset('limit', c.req.query('limit')), parseOffset('tail', c.req.query('tail')))
  })

  app.get('/api/v1/runs/:id/nodes/:path{.+}/artifacts/:name', async c => {
    const node = await ctx.db.getNode(c.req.param('id'), c.req.param('path'))
    const name = c.req.param('name')
    const artifact = node.artifacts.filter(a => a.name === name).at(-1)
    if (artifact === undefined) {
      const known = node.artifacts.map(a => `"${a.name}"`).join(', ')
      throw new ServerError('WTFLOW_SERVER_NOT_FOUND', `node "${node.path}" has no artifact "${name}"${known === '' ? '' : `; it has ${known}`}`)
    }
    await assertInsideStore(ctx.config.artifactsDir, artifact.path, `artifact "${name}"`)
    const stat = await fs.stat(artifact.path).catch(() => null)
    if (stat === null || !stat.isFile()) throw new ServerError('WTFLOW_SERVER_NOT_FOUND', `artifact "${name}" of "${node.path}" is not on disk any more (artifacts may have been removed)`)
    const fileName = path.basename(artifact.path)
    const text = /\.(log|txt|json|csv|md)$/i.test(fileName)
    c.header('Content-Type', fileName.endsWith('.json') ? 'application/json; charset=utf-8' : text ? 'text/plain; charset=utf-8' : 'application/octet-stream')
    c.header('Content-Length', String(stat.size))
    c.header('Content-Disposition', `${text && c.req.query('download') === undefined ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(fileName)}`)
    c.header('X-Artifact-Sha256', artifact.sha256)
    return c.body(Readable.toWeb(createReadStream(artifact.path)) as ReadableStream)
  })

  return app
}

/** A log's bytes: from `offset` (default 0), at most `limit`; or its last `tail` bytes. */
async function bytesResponse(c: Context, node: NodeRecord, file: string, offset: number | undefined, limit: number | undefined, tail: number | undefined): Promise<Response> {
  const stat = await fs.stat(file).catch(() => null)
  const size = stat?.size ?? 0
  c.header('Content-Type', 'text/plain; charset=utf-8')
  c.header('X-Log-Size', String(size))
  c.header('X-Node-Status', node.status)
  if (stat === null) {
    // Nothing written (yet): an empty log, not an error.
    c.header('X-Log-Offset', '0')
    return c.body('')
  }
  let start = offset ?? (tail === undefined ? 0 : Math.max(0, size - tail))
  start = Math.min(start, size)
  const end = limit === undefined ? size : Math.min(size, start + limit)
  c.header('X-Log-Offset', String(start))
  c.header('Content-Length', String(end - start))
  if (end <= start) return c.body('')
  return c.body(Readable.toWeb(createReadStream(file, { start, end: end - 1 })) as ReadableStream)
}

/** Server-sent events of a log from `from`: `id` is the byte offset just after each event's text. */
function followResponse(c: Context, ctx: ServerContext, node: NodeRecord, file: string, from: number, maxBehind: number | undefined): Response {
  return sseResponse(c, ctx.sse, async (send, signal) => {
    const ended = ACTIVE.has(node.status) ? nodeEnded(ctx, node, signal) : Promise.resolve(node.status)
    for await (const item of followLog({ file, offset: from, ended, signal, ...(maxBehind === undefined ? {} : { maxBehind }) })) {
      if (item.kind === 'data') {
        await send({ id: String(item.chunk.end), data: JSON.stringify(item.chunk.text) })
      }
      else if (item.kind === 'skip') await send({ event: 'skip', id: String(item.to), data: JSON.stringify({ from: item.from, to: item.to }) })
      else if (item.kind === 'attempt') await send({ event: 'attempt', id: '0', data: '{}' })
      else {
        const status = (await ended) ?? (await ctx.db.getNode(node.runId, node.path).catch(() => node)).status
        await send({ event: 'end', data: JSON.stringify({ status }) })
      }
    }
  })
}
