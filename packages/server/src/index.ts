/**
 * @wtflow/server: `wtflow serve` — the REST API (runs, live logs and events, artifacts,
 * OpenAPI 3.1), the seeds' compatibility routes and the web UI, over run history and the
 * artifact store; runs registered workflows with `[server] max_runs` slots and a queue kept in
 * history.
 */
export { startServer, type ServerOptions, type WtflowServer } from './server.js'
export { RunService, type RegisteredWorkflow, type ServerHooks, type RunRequest } from './service/run-service.js'
export type { LifecycleEvent, LifecycleEventName } from './service/event-hub.js'
export { ServerError, SERVER_ERROR_CODES, type ServerErrorCode } from './errors.js'
export { generateToken, isLoopbackHost } from './http/security.js'
export { openApiDocument } from './api/openapi.js'
