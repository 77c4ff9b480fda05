import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { compress } from 'hono/compress'
import { eventRoutes } from '../api/event-routes.js'
import { nodeRoutes } from '../api/node-routes.js'
import { openApiDocument } from '../api/openapi.js'
import { runRoutes } from '../api/run-routes.js'
import { serviceRoutes } from '../api/service-routes.js'
import type { ServerContext } from '../context.js'
import { errorBody, statusOf } from '../errors.js'
import type { Assets } from '../ui/assets.js'
import { uiRoutes } from '../ui/ui-routes.js'
import { security, type AuthVariables, type SecurityOptions } from './security.js'

const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

/** The whole HTTP surface: security first, then the API, the compatibility routes and the UI. */
export function createApp(ctx: ServerContext, assets: Assets, securityOptions: SecurityOptions, log: (message: string) => void): Hono<{ Variables: AuthVariables }> {
  const app = new Hono<{ Variables: AuthVariables }>()

  app.use(async (c, next) => {
    await next()
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('Referrer-Policy', 'same-origin')
    if (c.res.headers.get('content-type')?.startsWith('text/html')) {
      c.header('Content-Security-Policy', CSP)
      c.header('X-Frame-Options', 'DENY')
    } else if (c.req.path.includes('/artifacts/') || c.req.path.endsWith('/logs')) {
      // Files of runs are data: never a page that runs scripts on this origin.
      c.header('Content-Security-Policy', "sandbox; default-src 'none'")
    }
  })
  app.use(security(securityOptions))
  // No id, path or name holds a NUL byte (PostgreSQL text cannot): nothing to find.
  app.use(async (c, next) => {
    if (/%00/.test(c.req.url)) return c.json({ error: { code: 'WTFLOW_SERVER_NOT_FOUND', message: 'no such resource' } }, 404)
    await next()
  })
  app.use(
    bodyLimit({
      maxSize: ctx.bodyLimitBytes,
      onError: c => c.json({ error: { code: 'WTFLOW_SERVER_BODY_TOO_LARGE', message: `the request body is over ${ctx.bodyLimitBytes} bytes` } }, 413),
    }),
  )
  app.use(compress())

  app.route('/', serviceRoutes(ctx))
  app.get('/api/v1/openapi.json', c => c.json(openApiDocument(ctx.version)))
  app.route('/', runRoutes(ctx))
  app.route('/', nodeRoutes(ctx))
  app.route('/', eventRoutes(ctx))
  app.route('/', uiRoutes(ctx, assets))

  app.notFound(c => c.json({ error: { code: 'WTFLOW_SERVER_NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}; GET /api/v1/openapi.json lists them` } }, 404))
  app.onError((error, c) => {
    const status = statusOf(error)
    if (status >= 500) log(`${c.req.method} ${c.req.path}: ${error.stack ?? error.message}`)
    return c.json(errorBody(error), status as 400)
  })
  return app
}
