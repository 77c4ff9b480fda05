import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import type { WtflowConfig } from '@wtflow/core'
import type { HistoryDatabase } from '@wtflow/db'
import type { ServerContext } from './context.js'
import { ServerError } from './errors.js'
import { createApp } from './http/app.js'
import { generateToken, isLoopbackHost } from './http/security.js'
import { SseRegistry } from './http/sse.js'
import { EventHub } from './service/event-hub.js'
import { HistoryPoller } from './service/history-poller.js'
import { RunService, type RegisteredWorkflow, type ServerHooks } from './service/run-service.js'
import { Assets } from './ui/assets.js'

export interface ServerOptions {
  /** The configuration: artifact store, run settings, `maxRuns`. */
  config: WtflowConfig
  /** Run history (required: the server serves it). Closed by `close()` only if `closeDatabase`. */
  db: HistoryDatabase
  /** The workflows it runs by name (from the scripts given to `wtflow serve`). */
  workflows?: readonly RegisteredWorkflow[]
  /** Address to listen on (default 127.0.0.1). */
  host?: string
  /** Port (default 7070; 0 picks a free one). */
  port?: number
  /** The token; default `WTFLOW_SERVER_TOKEN`, else a new random one (see `WtflowServer.token`). */
  token?: string
  /**
   * Require the token for every request, also on a loopback address (default: only for what
   * starts, cancels or resumes runs there). Off loopback it is always required.
   */
  requireToken?: boolean
  /** Accept `{ "flow": … }` bodies (they run arbitrary commands). */
  allowInlineFlows?: boolean
  /** Runs at once (default `config.maxRuns`, `[server] max_runs`). */
  maxRuns?: number
  /** Largest request body, in bytes (default 1 MiB). */
  bodyLimitBytes?: number
  /** How often the history is polled for other processes' runs while someone listens (default 500 ms). */
  pollMs?: number
  /** Close `db` when the server closes (default false). */
  closeDatabase?: boolean
  /** What later milestone-2 pieces plug in. */
  hooks?: ServerHooks
  /** Where background problems are reported (default: stderr). */
  log?(message: string): void
}

/** A listening server. */
export interface WtflowServer {
  /** `http://host:port` (IPv6 hosts in brackets). */
  readonly origin: string
  readonly host: string
  readonly port: number
  readonly token: string
  /** True when bound to a loopback address. */
  readonly loopback: boolean
  readonly runs: RunService
  /** Server-sent-event streams open right now (a measure for leak tests and monitoring). */
  readonly openStreams: number
  /** Listeners of the event hub right now (one per open event-driven stream). */
  readonly hubListeners: number
  /** Runs every registered workflow once (`--run-on-start`); resolves to their ids. */
  runAll(): Promise<string[]>
  /** Stops listening, ends open streams, cancels the runs it executes (recorded `cancelled`); queued runs stay queued. */
  close(): Promise<void>
}

/**
 * Starts `wtflow serve`'s HTTP server: the REST API, live logs and events, and the web UI, over
 * the given history and the configuration's artifact store.
 *
 * @example
 * const db = await openDatabase(config.database)
 * const server = await startServer({ config, db, workflows: [{ workflow, file }], port: 0 })
 * console.log(`${server.origin}/?token=${server.token}`)
 * await server.close()
 */
export async function startServer(options: ServerOptions): Promise<WtflowServer> {
  const host = options.host ?? '127.0.0.1'
  const loopback = isLoopbackHost(host)
  const token = options.token ?? (process.env.WTFLOW_SERVER_TOKEN || generateToken())
  const log = options.log ?? ((message: string) => process.stderr.write(`wtflow serve: ${message}\n`))
  const hub = new EventHub()
  const runs = new RunService({ config: options.config, db: options.db, hub, workflows: options.workflows, maxRuns: options.maxRuns, hooks: options.hooks, log })
  const poller = new HistoryPoller(options.db, hub, {
    intervalMs: options.pollMs,
    isLocal: id => runs.isLocal(id),
    onError: error => log(`history poll failed: ${error instanceof Error ? error.message : String(error)}`),
  })
  hub.onDemand = wanted => (wanted ? poller.start() : void poller.stop())
  const sse = new SseRegistry()
  const ctx: ServerContext = {
    db: options.db,
    config: options.config,
    hub,
    runs,
    sse,
    version: packageVersion(),
    allowInlineFlows: options.allowInlineFlows ?? false,
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
    loopback,
  }
  let port = options.port ?? 7070
  const app = createApp(ctx, new Assets(), { token, loopback, requireToken: options.requireToken ?? false, host, port: () => port }, log)
  const server = await listen(app.fetch, host, port)
  port = (server.address() as AddressInfo).port
  try {
    await runs.start()
  } catch (error) {
    await new Promise(resolve => server.close(resolve))
    throw error
  }
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  let closing: Promise<void> | null = null
  return {
    origin,
    host,
    port,
    token,
    loopback,
    runs,
    get openStreams() {
      return sse.size
    },
    get hubListeners() {
      return hub.listenerCount
    },
    async runAll() {
      const ids: string[] = []
      for (const { workflow } of runs.workflows) ids.push((await runs.submit({ workflow: workflow.name }, false)).id)
      return ids
    },
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>(resolve => server.close(() => resolve()))
        sse.closeAll()
        server.closeIdleConnections()
        hub.onDemand = null
        await poller.stop()
        await runs.close()
        // Streams ended above; connections of clients that keep them open go too.
        server.closeAllConnections()
        await closed
        if (options.closeDatabase === true) await options.db.close()
      })()
      return closing
    },
  }
}

function listen(fetch: (request: Request) => Response | Promise<Response>, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname: host, port }) as Server
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening)
      const hint = error.code === 'EADDRINUSE' ? `port ${port} is in use; pick another with --port` : error.code === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine` : error.message
      reject(new ServerError('WTFLOW_SERVER_START', `cannot listen on ${host}:${port}: ${hint}`, { cause: error }))
    }
    const onListening = () => {
      server.off('error', onError)
      resolve(server)
    }
    server.once('error', onError)
    server.once('listening', onListening)
  })
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}
