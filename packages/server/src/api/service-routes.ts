import fs from 'node:fs/promises'
import { sql } from 'kysely'
import { Hono } from 'hono'
import type { ServerContext } from '../context.js'
import type { AuthVariables } from '../http/security.js'
import { insideStore } from '../service/artifact-files.js'
import { jsonBody, listRuns, parseRunListQuery, runUrl } from './run-routes.js'

const HEALTH_TIMEOUT_MS = 3000
/** Results larger than this are not inlined in `/outputs` (read them as artifacts). */
const MAX_INLINE_RESULT = 1024 * 1024

/** `/health` and the seeds' compatibility routes (Flow Manager, flowtoy). */
export function serviceRoutes(ctx: ServerContext): Hono<{ Variables: AuthVariables }> {
  const app = new Hono<{ Variables: AuthVariables }>()

  app.get('/health', async c => {
    try {
      await withTimeout(sql`select 1`.execute(ctx.db.db), HEALTH_TIMEOUT_MS)
      return c.json({ status: 'ok', version: ctx.version, database: 'ok' })
    } catch {
      return c.json({ status: 'error', version: ctx.version, database: 'unreachable' }, 503)
    }
  })

  // Flow Manager: POST a flow document, read executions.
  app.post('/api/v1/flows/execute', async c => {
    const flow = await jsonBody(c)
    const { id } = await ctx.runs.submit({ flow }, ctx.allowInlineFlows)
    return c.json({ id, url: runUrl(c, id) }, 202)
  })
  app.get('/api/v1/flows/executions', async c => c.json(await listRuns(ctx, parseRunListQuery(c.req.query()))))
  app.get('/api/v1/flows/executions/:id', async c => c.json(await ctx.db.getRun(c.req.param('id'))))

  // flowtoy: the latest run's status, and its nodes' results.
  app.get('/status', async c => {
    const [latest] = await ctx.db.listRuns({ limit: 1 })
    if (latest === undefined) return c.json({ run: null, status: null, nodes: {} })
    const run = await ctx.db.getRun(latest.id)
    return c.json({ run: run.id, workflow: run.workflow, status: run.status, nodes: Object.fromEntries(run.nodes.map(n => [n.path, n.status])) })
  })
  app.get('/outputs', async c => {
    const [latest] = await ctx.db.listRuns({ limit: 1 })
    if (latest === undefined) return c.json({ run: null, outputs: {} })
    const run = await ctx.db.getRun(latest.id)
    const outputs: Record<string, unknown> = {}
    for (const node of run.nodes) {
      const result = node.artifacts.find(a => a.name === 'result')
      if (result === undefined || result.size > MAX_INLINE_RESULT || !(await insideStore(ctx.config.artifactsDir, result.path))) continue
      try {
        outputs[node.path] = JSON.parse(await fs.readFile(result.path, 'utf8'))
      } catch {
        // Removed or unreadable: left out.
      }
    }
    return c.json({ run: run.id, workflow: run.workflow, status: run.status, outputs })
  })

  return app
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
