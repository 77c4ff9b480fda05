import type { RunStatus } from '@wtflow/core'
import { Hono, type Context } from 'hono'
import type { ServerContext } from '../context.js'
import { ServerError } from '../errors.js'
import type { AuthVariables } from '../http/security.js'

export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'crashed']
const MAX_LIMIT = 1000

export interface RunListQuery {
  workflow?: string
  status?: RunStatus[]
  limit: number
  before?: string
}

/** Parses `workflow`, `status` (comma-separated), `limit` and `before` of a runs listing. */
export function parseRunListQuery(query: Record<string, string | undefined>, defaultLimit = 50): RunListQuery {
  const result: RunListQuery = { limit: defaultLimit }
  if (query.workflow !== undefined && query.workflow !== '') result.workflow = query.workflow
  if (query.status !== undefined && query.status !== '') {
    const statuses = query.status.split(',').map(s => s.trim())
    for (const status of statuses) {
      if (!RUN_STATUSES.includes(status as RunStatus)) {
        throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `unknown status "${status}"; use one of ${RUN_STATUSES.join(', ')} (several separated by commas)`)
      }
    }
    result.status = statuses as RunStatus[]
  }
  if (query.limit !== undefined && query.limit !== '') {
    if (!/^\d+$/.test(query.limit) || Number(query.limit) < 1 || Number(query.limit) > MAX_LIMIT) {
      throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `limit must be a whole number from 1 to ${MAX_LIMIT}, got "${query.limit}"`)
    }
    result.limit = Number(query.limit)
  }
  if (query.before !== undefined && query.before !== '') result.before = query.before
  return result
}

/**
 * Run summaries, newest first. `before` is the id (or unique prefix) of the last run of the
 * previous page, or a time (ISO-8601 or epoch milliseconds): runs that started earlier.
 */
export async function listRuns(ctx: ServerContext, query: RunListQuery) {
  const options = { limit: query.limit, ...(query.workflow === undefined ? {} : { workflow: query.workflow }), ...(query.status === undefined ? {} : { status: query.status }) }
  if (query.before === undefined) return ctx.db.listRuns(options)
  const asTime = /^\d+$/.test(query.before) ? new Date(Number(query.before)) : /^\d{4}-\d\d-\d\d/.test(query.before) ? new Date(query.before) : null
  if (asTime !== null) {
    if (Number.isNaN(asTime.getTime())) throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `before: "${query.before}" is not a time; give a run id, an ISO-8601 time or epoch milliseconds`)
    return ctx.db.listRuns({ ...options, until: asTime })
  }
  // A run id: what sorts after it (started_at desc, id desc). Runs that started in the same
  // millisecond and sort before it (or are it) are skipped by offset.
  const cursor = await ctx.db.getRunInfo(query.before)
  const t = cursor.startedAt.getTime()
  let ties = ctx.db.db.selectFrom('runs').select(eb => eb.fn.countAll<number>().as('n')).where('started_at', '=', t).where('id', '>=', cursor.id)
  if (query.workflow !== undefined) ties = ties.where('workflow', '=', query.workflow)
  if (query.status !== undefined) ties = ties.where('status', 'in', query.status)
  const skipped = Number((await ties.executeTakeFirst())?.n ?? 0)
  return ctx.db.listRuns({ ...options, until: new Date(t + 1), offset: skipped })
}

/** `/api/v1/runs…`: list, one run, start, cancel, resume. */
export function runRoutes(ctx: ServerContext): Hono<{ Variables: AuthVariables }> {
  const app = new Hono<{ Variables: AuthVariables }>()

  app.get('/api/v1/runs', async c => c.json(await listRuns(ctx, parseRunListQuery(c.req.query()))))

  app.get('/api/v1/runs/:id', async c => c.json(await ctx.db.getRun(c.req.param('id'))))

  app.post('/api/v1/runs', async c => {
    const body = await jsonBody(c)
    const { id } = await ctx.runs.submit(body, ctx.allowInlineFlows)
    return c.json({ id, url: runUrl(c, id) }, 202)
  })

  app.post('/api/v1/runs/:id/cancel', async c => {
    const id = await ctx.runs.cancel(c.req.param('id'))
    return c.json({ id, status: 'cancelling' }, 202)
  })

  app.post('/api/v1/runs/:id/resume', async c => {
    const body = c.req.header('content-length') === '0' || c.req.header('content-type') === undefined ? {} : await jsonBody(c)
    const rerun = body.rerun ?? []
    if (!Array.isArray(rerun) || rerun.some(p => typeof p !== 'string')) throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', '"rerun" must be a list of node paths')
    const { id } = await ctx.runs.resume(c.req.param('id'), rerun as string[])
    return c.json({ id, url: runUrl(c, id) }, 202)
  })

  return app
}

/** The absolute URL of a run's page, as the client addressed this server. */
export function runUrl(c: Context, id: string): string {
  return `${new URL(c.req.url).origin}/runs/${id}`
}

/** The request's JSON object body; 400 for anything else. */
export async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', 'send a JSON body with Content-Type: application/json')
  }
  let body: unknown
  try {
    body = await c.req.json()
  } catch (error) {
    throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', 'the body must be a JSON object')
  return body as Record<string, unknown>
}
