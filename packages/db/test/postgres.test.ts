import net from 'node:net'
import path from 'node:path'
import { Command, ConfigError, Engine, Node, Workflow, loadConfig, toRunDocument } from '@wtflow/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { attachRecorder, openDatabase } from '../src/index.js'
import { syntheticPlan, syntheticRun } from '../src/internal.js'
import { DIALECTS, FakeEngine, PG_URL, eventually, withPg, type TestDatabase } from './helpers.js'

const postgres = DIALECTS.find(d => d.name === 'postgres')!
const SOURCE = 'environment variable WTFLOW_DB_URL'

/** Opens the URL and returns the error it fails with, and how long that took. */
async function failure(url: string, options: { connectTimeoutMs?: number } = {}) {
  const started = Date.now()
  const error = await openDatabase({ kind: 'postgres', url }, { source: SOURCE, ...options }).then(
    db => db?.close().then(() => new Error('connected')),
    (e: unknown) => e,
  )
  return { error: error as ConfigError, ms: Date.now() - started }
}

function expectSafeConfigError(error: ConfigError, password: string) {
  expect(error).toBeInstanceOf(ConfigError)
  expect(error).toMatchObject({ code: 'WTFLOW_CONFIG', key: 'database.url', source: SOURCE })
  expect(error.message).toContain('database.url (from environment variable WTFLOW_DB_URL): cannot connect to PostgreSQL at ')
  const everything = [error.message, error.stack, String(error.cause), (error.cause as Error | undefined)?.stack, JSON.stringify(error)].join('\n')
  expect(everything).not.toContain(password)
}

describe.skipIf(postgres.skip)(`postgres connections: ${postgres.label}`, () => {
  const password = 'hunter2-s3cr3t'

  it('fails fast with a ConfigError on an unreachable server', async () => {
    const closed = await new Promise<number>(resolve => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo
        server.close(() => resolve(port))
      })
    })
    const { error, ms } = await failure(`postgres://someone:${password}@127.0.0.1:${closed}/db`)
    expectSafeConfigError(error, password)
    expect(error.message).toBe(
      `database.url (from ${SOURCE}): cannot connect to PostgreSQL at postgres://someone:***@127.0.0.1:${closed}/db: connection refused; is the server running, and are the host and port right?`,
    )
    expect(ms).toBeLessThan(5_000)
  })

  it('gives up on a server that never answers within the connect timeout', async () => {
    const sockets: net.Socket[] = []
    const silent = net.createServer(socket => sockets.push(socket))
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as net.AddressInfo
    try {
      const { error, ms } = await failure(`postgres://someone:${password}@127.0.0.1:${port}/db`, { connectTimeoutMs: 1000 })
      expectSafeConfigError(error, password)
      expect(error.message).toContain('no answer within 1000 ms; is the host right and the port open?')
      expect(ms).toBeLessThan(4_000)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise(resolve => silent.close(resolve))
    }
  })

  it('fails fast on a wrong user or password, and on a missing database, without showing the password', async () => {
    const url = new URL(PG_URL!)
    url.username = 'no_such_wtflow_user'
    url.password = password
    const wrongUser = await failure(url.toString())
    expectSafeConfigError(wrongUser.error, password)
    expect(wrongUser.error.message).toMatch(/no_such_wtflow_user/)
    expect(wrongUser.ms).toBeLessThan(5_000)

    const missingDb = new URL(PG_URL!)
    missingDb.password = password
    missingDb.pathname = '/no_such_wtflow_database'
    const { error } = await failure(missingDb.toString())
    expectSafeConfigError(error, password)
    expect(error.message).toContain('database "no_such_wtflow_database" does not exist; create the database or fix its name in the URL')
  })
})

describe.skipIf(postgres.skip)(`postgres connection loss: ${postgres.label}`, () => {
  let t: TestDatabase & { dispose(): Promise<void> }

  beforeEach(async () => {
    t = await postgres.create()
  })
  afterEach(async () => {
    await t?.dispose()
  })

  const terminateRecorder = () =>
    withPg(client =>
      client.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()', [t.options.applicationName]),
    )

  it('keeps recording a real run after its connections are killed mid-run', async () => {
    const gate = path.join(t.dir, 'gate')
    const config = loadConfig({ cwd: t.dir, env: {}, overrides: { artifactsDir: path.join(t.dir, 'artifacts'), dbUrl: 'none' } })
    const engine = new Engine({ config, cwd: t.dir, handleSignals: false })
    const recorder = attachRecorder(engine, t.db)
    engine.on('node:start', ({ path: nodePath }) => {
      if (nodePath !== 'root/wait') return
      // Kill every connection of the recorder while the run goes on, then open the gate.
      void recorder
        .flush()
        .then(terminateRecorder)
        .then(({ rowCount }) => {
          expect(rowCount).toBeGreaterThan(0)
          return import('node:fs/promises').then(fs => fs.writeFile(gate, ''))
        })
    })
    const workflow = new Workflow({
      name: 'survivor',
      root: new Node({
        name: 'root',
        children: [
          new Node({ name: 'before', executable: new Command(['true']) }),
          new Node({ name: 'wait', executable: new Command(`while [ ! -e "${gate}" ]; do sleep 0.02; done; echo through`) }),
          new Node({ name: 'after', executable: new Command(['true']) }),
        ],
      }),
    })
    const result = await engine.run(workflow)
    await recorder.close()
    expect(result.status).toBe('succeeded')
    expect(await t.db.getRun(result.id)).toEqual(toRunDocument(result))
  })

  it('retries a write whose connection is killed while the statement is in flight', async () => {
    const engine = new FakeEngine()
    const recorder = attachRecorder(engine, t.db)
    const run = syntheticRun({ nodes: 3 })
    engine.fire('run:start', {
      runId: run.id,
      workflow: run.workflow,
      plan: await syntheticPlan(run),
      startedAt: run.startedAt,
      runDir: run.runDir,
      config: {},
      inputs: {},
      mask: (text: string) => text,
    })
    await recorder.flush()

    await withPg(async admin => {
      // Hold a lock so that the recorder's next statement waits in the server, then kill its connection.
      await admin.query('begin')
      await admin.query(`lock table "${t.options.schema}".nodes in access exclusive mode`)
      for (const node of run.nodes) engine.fire('node:end', { runId: run.id, ordinal: node.ordinal, node })
      engine.fire('run:end', { result: run })
      await eventually(
        async () => {
          const { rowCount } = await admin.query(
            "select 1 from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'",
            [t.options.applicationName],
          )
          return rowCount! > 0 ? true : undefined
        },
        10_000,
        'the recorder to wait for the lock',
      )
      const { rowCount } = await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()',
        [t.options.applicationName],
      )
      expect(rowCount).toBeGreaterThan(0)
      await admin.query('rollback')
    })
    await recorder.close()
    expect(await t.db.getRun(run.id)).toEqual(toRunDocument(run))
  })
})

/** A TCP proxy to the test server that can stop passing bytes while keeping every socket open. */
async function blackHoleProxy(target: URL): Promise<{ url: string; blackHole(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  let dark = false
  const server = net.createServer(client => {
    sockets.add(client)
    client.on('error', () => {})
    if (dark) return
    const upstream = net.connect(Number(target.port || 5432), target.hostname)
    sockets.add(upstream)
    upstream.on('error', () => {})
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  const url = new URL(target.href)
  url.hostname = '127.0.0.1'
  url.port = String(port)
  return {
    url: url.href,
    blackHole() {
      dark = true
      // Nothing moves any more, and nothing is closed: what a dropped network route looks like.
      for (const socket of sockets) {
        socket.unpipe()
        socket.pause()
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}

describe.skipIf(postgres.skip)(`postgres that stops answering: ${postgres.label}`, () => {
  it('lets a finished run close its history in bounded time, saying what was lost', async () => {
    const schema = `wtflow_bh_${Date.now().toString(36)}`
    const proxy = await blackHoleProxy(new URL(PG_URL!))
    try {
      const db = (await openDatabase({ kind: 'postgres', url: proxy.url }, { schema, queryTimeoutMs: 1000 }))!
      const engine = new FakeEngine()
      const recorder = attachRecorder(engine, db, { retryForMs: 1000, batchDelayMs: 1 })
      const run = syntheticRun({ nodes: 3 })
      engine.fire('run:start', { runId: run.id, workflow: run.workflow, plan: await syntheticPlan(run), startedAt: run.startedAt, runDir: run.runDir, config: {}, inputs: {}, mask: (text: string) => text })
      await recorder.flush()
      proxy.blackHole()
      for (const node of run.nodes) engine.fire('node:end', { runId: run.id, ordinal: node.ordinal, node })
      engine.fire('run:end', { result: run })
      await expect(recorder.close()).rejects.toMatchObject({ code: 'WTFLOW_DB_WRITE' })
      await db.close()
    } finally {
      await proxy.close()
      await withPg(client => client.query(`drop schema if exists "${schema}" cascade`))
    }
  })
})
