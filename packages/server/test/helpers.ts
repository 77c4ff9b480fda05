import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig, type DatabaseTarget, type WtflowConfig } from '@wtflow/core'
import { openDatabase, type HistoryDatabase } from '@wtflow/db'
import pg from 'pg'
import { startServer, type ServerOptions, type WtflowServer } from '../src/index.js'
import { testWorkflows } from './fixtures/workflows.js'

export const PG_URL = process.env.WTFLOW_TEST_PG_URL || undefined
if (PG_URL === undefined) console.warn('[@wtflow/server] PostgreSQL suites are SKIPPED: set WTFLOW_TEST_PG_URL to run them')

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures')
export const WORKFLOWS_FILE = path.join(FIXTURES, 'workflows.ts')

export type DialectName = 'sqlite' | 'postgres'
export const DIALECTS: ReadonlyArray<{ name: DialectName; skip: boolean }> = [
  { name: 'sqlite', skip: false },
  { name: 'postgres', skip: PG_URL === undefined },
]

/** A history of one test: its own SQLite file or PostgreSQL schema, and a temp directory. */
export interface TestHistory {
  dir: string
  gates: string
  target: DatabaseTarget
  schema: string | undefined
  config: WtflowConfig
  /** Opens a handle on the history (closed by dispose). */
  open(): Promise<HistoryDatabase>
  dispose(): Promise<void>
}

export async function createHistory(dialect: DialectName, options: { pgUrl?: string } = {}): Promise<TestHistory> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-server-')))
  const gates = path.join(dir, 'gates')
  await fs.mkdir(gates)
  const schema = dialect === 'postgres' ? `wtflow_srv_${randomBytes(5).toString('hex')}` : undefined
  const target: DatabaseTarget = dialect === 'postgres' ? { kind: 'postgres', url: options.pgUrl ?? PG_URL! } : { kind: 'sqlite', path: path.join(dir, 'history.db') }
  const config = loadConfig({ cwd: dir, env: {}, overrides: { artifactsDir: path.join(dir, 'artifacts'), dbUrl: 'none', killGraceMs: 1000 } })
  const handles: HistoryDatabase[] = []
  return {
    dir,
    gates,
    target,
    schema,
    config,
    async open() {
      const db = (await openDatabase(target, schema === undefined ? {} : { schema, applicationName: schema }))!
      handles.push(db)
      return db
    },
    async dispose() {
      for (const db of handles) await db.close()
      if (schema !== undefined) await withPg(client => client.query(`drop schema if exists "${schema}" cascade`))
      await fs.rm(dir, { recursive: true, force: true })
    },
  }
}

export async function withPg<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

export interface TestServer {
  server: WtflowServer
  db: HistoryDatabase
  base: string
  token: string
  auth: Record<string, string>
  history: TestHistory
  workflows: ReturnType<typeof testWorkflows>
  /** Creates a gate file, releasing whatever waits on it. */
  open(gate: string): Promise<void>
  close(): Promise<void>
}

/** A listening server on 127.0.0.1 (a free port) with the test workflows registered. */
export async function startTestServer(history: TestHistory, options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const db = await history.open()
  const workflows = testWorkflows(history.gates)
  const server = await startServer({
    config: history.config,
    db,
    workflows: Object.values(workflows).map(workflow => ({ workflow, file: WORKFLOWS_FILE })),
    port: 0,
    token: 'test-token',
    pollMs: 100,
    log: () => {},
    ...options,
  })
  return {
    server,
    db,
    base: server.origin,
    token: server.token,
    auth: { authorization: `Bearer ${server.token}` },
    history,
    workflows,
    open: gate => fs.writeFile(path.join(history.gates, gate), ''),
    close: () => server.close(),
  }
}

export async function json<T = unknown>(response: Response): Promise<T> {
  return (await response.json()) as T
}

/** POST /api/v1/runs {workflow} with the token; the new run's id. */
export async function startRun(t: TestServer, workflow: string): Promise<string> {
  const response = await fetch(`${t.base}/api/v1/runs`, { method: 'POST', headers: { ...t.auth, 'content-type': 'application/json' }, body: JSON.stringify({ workflow }) })
  if (response.status !== 202) throw new Error(`POST /api/v1/runs ${workflow}: ${response.status} ${await response.text()}`)
  return (await json<{ id: string }>(response)).id
}

/** Polls until `check` returns something other than undefined. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

export async function runStatus(t: TestServer, id: string): Promise<string> {
  return (await json<{ status: string }>(await fetch(`${t.base}/api/v1/runs/${id}`))).status
}

export function waitForStatus(t: TestServer, id: string, status: string | ((s: string) => boolean)): Promise<string> {
  const ok = typeof status === 'string' ? (s: string) => s === status : status
  return eventually(async () => {
    const now = await runStatus(t, id)
    return ok(now) ? now : undefined
  }, `run ${id} to be ${String(status)}`)
}

/** A raw HTTP request (no URL normalization, any Host header). */
export function rawRequest(base: string, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const request = http.request({ host: url.hostname, port: url.port, method: options.method ?? 'GET', path: options.path, headers: options.headers }, response => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', chunk => (body += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
    })
    request.on('error', reject)
    request.end(options.body)
  })
}

export interface SseEvent {
  event: string
  id: string | undefined
  data: string
}

/**
 * Reads a server-sent-event stream with fetch: `next()` resolves to the next event. `close()`
 * aborts the request (the client goes away).
 */
export function openSse(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController()
  const events: SseEvent[] = []
  const waiters: Array<() => void> = []
  let ended = false
  let failure: unknown = null
  const response = fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal })
  const done = (async () => {
    const res = await response
    if (!res.ok || res.body === null) throw new Error(`SSE ${url}: ${res.status} ${await res.text()}`)
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event: SseEvent = { event: 'message', id: undefined, data: '' }
        const data: string[] = []
        let any = false
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue
          const colon = line.indexOf(':')
          const field = colon === -1 ? line : line.slice(0, colon)
          const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'event') event.event = value
          else if (field === 'id') event.id = value
          else if (field === 'data') data.push(value)
          else continue
          any = true
        }
        if (!any) continue
        event.data = data.join('\n')
        events.push(event)
        for (const wake of waiters.splice(0)) wake()
      }
    }
  })()
    .catch(error => {
      if (!controller.signal.aborted) failure = error
    })
    .finally(() => {
      ended = true
      for (const wake of waiters.splice(0)) wake()
    })
  let read = 0
  return {
    response,
    events,
    /** The next event; rejects when the stream ended first. */
    async next(timeoutMs = 30_000): Promise<SseEvent> {
      const deadline = Date.now() + timeoutMs
      while (read >= events.length) {
        if (failure !== null) throw failure
        if (ended) throw new Error(`SSE ${url} ended`)
        if (Date.now() > deadline) throw new Error(`no SSE event from ${url} within ${timeoutMs} ms`)
        await new Promise<void>(resolve => {
          waiters.push(resolve)
          setTimeout(resolve, 200)
        })
      }
      return events[read++]!
    },
    /** Events until one matches. */
    async until(match: (event: SseEvent) => boolean, timeoutMs = 30_000): Promise<SseEvent[]> {
      const seen: SseEvent[] = []
      for (;;) {
        const event = await this.next(timeoutMs)
        seen.push(event)
        if (match(event)) return seen
      }
    },
    get ended() {
      return ended
    },
    done,
    close() {
      controller.abort()
      return done
    },
  }
}
