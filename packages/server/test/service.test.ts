import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isPidAlive } from '@wtflow/db'
import {
  createHistory,
  DIALECTS,
  eventually,
  FIXTURES,
  json,
  openSse,
  PG_URL,
  runStatus,
  startRun,
  startTestServer,
  waitForStatus,
  withPg,
  type SseEvent,
  type TestHistory,
  type TestServer,
} from './helpers.js'

describe.each(DIALECTS)('service on $name', dialect => {
  let history: TestHistory
  const servers: TestServer[] = []

  beforeEach(async ctx => {
    if (dialect.skip) return ctx.skip()
    history = await createHistory(dialect.name)
  })
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close()
    await history?.dispose()
  })

  async function server(options: Parameters<typeof startTestServer>[1] = {}): Promise<TestServer> {
    const t = await startTestServer(history, options)
    servers.push(t)
    return t
  }

  it('runs at most max_runs at once; the others wait as queued in history and start in order', async () => {
    const t = await server({ maxRuns: 1 })
    const first = await startRun(t, 'gated')
    await waitForStatus(t, first, 'running')
    const second = await startRun(t, 'quick')
    const third = await startRun(t, 'quick')
    expect(await runStatus(t, second)).toBe('queued')
    expect((await t.db.listRuns({ status: 'queued' })).map(r => r.id)).toEqual([third, second])
    const queuedDoc = await json(await fetch(`${t.base}/api/v1/runs/${second}`))
    expect(queuedDoc).toMatchObject({ id: second, workflow: 'quick', status: 'queued', exitCode: null, endedAt: null, nodes: [] })
    expect((await json<unknown[]>(await fetch(`${t.base}/api/v1/runs?status=queued`))).length).toBe(2)
    await t.open('first')
    await t.open('second')
    await waitForStatus(t, third, 'succeeded')
    const runs = await t.db.listRuns()
    expect(runs.map(r => [r.id, r.status])).toEqual([
      [third, 'succeeded'],
      [second, 'succeeded'],
      [first, 'succeeded'],
    ])
    // One at a time: each started after the previous one ended.
    expect(Date.parse(runs[1]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[2]!.endedAt!))
    expect(Date.parse(runs[0]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[1]!.endedAt!))
  })

  it('cancels a queued run; keeps queued runs across a restart, and starts them then', async () => {
    const a = await server({ maxRuns: 1 })
    const blocking = await startRun(a, 'forever')
    await waitForStatus(a, blocking, 'running')
    const dropped = await startRun(a, 'quick')
    const kept = await startRun(a, 'quick')
    const cancel = await fetch(`${a.base}/api/v1/runs/${dropped}/cancel`, { method: 'POST', headers: a.auth })
    expect(cancel.status).toBe(202)
    expect(await runStatus(a, dropped)).toBe('cancelled')
    // The server stops: what it runs is cancelled, what waits stays queued.
    await a.close()
    servers.splice(servers.indexOf(a), 1)
    const db = await history.open()
    expect((await db.getRun(blocking)).status).toBe('cancelled')
    expect((await db.getRun(kept)).status).toBe('queued')
    const pid = Number(await readFile(path.join(history.gates, 'forever.pid'), 'utf8'))
    expect(isPidAlive(pid)).toBe(false)

    const b = await server({ maxRuns: 1 })
    await waitForStatus(b, kept, 'succeeded')
    expect((await db.getRun(dropped)).status).toBe('cancelled')
    const info = await db.getRunInfo(kept)
    expect([info.pid, info.digest === '']).toEqual([process.pid, false])
  })

  it('reports lifecycle events of its own runs and of runs another server records in the same history', async () => {
    const a = await server()
    const b = await server()
    const events = openSse(`${a.base}/api/v1/events`)
    expect((await events.next()).event).toBe('ready')
    const local = await startRun(a, 'quick')
    const seen = await events.until(e => e.event === 'message' && (JSON.parse(e.data) as { event: string; runId: string }).event === 'run:end')
    const mine = seen.map(e => JSON.parse(e.data) as { event: string; path: string | null; status: string; runId: string; source: string; seq: number })
    expect(mine.every(e => e.runId === local && e.source === 'local')).toBe(true)
    expect(mine.map(e => [e.event, e.path, e.status].filter(Boolean).join(' '))).toEqual([
      'run:queued queued',
      'run:start running',
      ...['root', 'root/colors', 'root/compute', 'root/odd name %2F..'].flatMap(p => [`node:start ${p} running`, `node:attempt ${p} succeeded`, `node:end ${p} succeeded`]),
      'run:end succeeded',
    ])
    expect(seen.map(e => e.id)).toEqual(mine.map(e => String(e.seq)))

    // A run executed by the other server: seen through history.
    const remote = await startRun(b, 'gated')
    const started = await events.until(e => e.event === 'message' && JSON.parse(e.data).runId === remote && JSON.parse(e.data).event === 'node:start')
    expect(started.map(e => JSON.parse(e.data) as { event: string; source: string }).filter(e => e.event !== 'run:queued').every(e => e.source === 'history')).toBe(true)
    await b.open('first')
    await b.open('second')
    const rest = await events.until(e => e.event === 'message' && JSON.parse(e.data).runId === remote && JSON.parse(e.data).event === 'run:end')
    const remoteEvents = [...started, ...rest].map(e => JSON.parse(e.data) as { event: string; path: string | null; status: string; runId: string }).filter(e => e.runId === remote)
    expect(remoteEvents.map(e => [e.event, e.path, e.status].filter(Boolean).join(' '))).toEqual(
      expect.arrayContaining(['run:start running', 'node:start root/first running', 'node:end root/first succeeded', 'node:end root/second succeeded', 'run:end succeeded']),
    )
    expect(remoteEvents.at(-1)!.event).toBe('run:end')
    await events.close()

    // Last-Event-ID replays what came after it.
    const replay = openSse(`${a.base}/api/v1/events?run=${local}`, { 'last-event-id': String(mine[2]!.seq) })
    const again: SseEvent[] = []
    while (again.length < mine.length - 3) {
      const event = await replay.next()
      if (event.event === 'message') again.push(event)
    }
    expect(again.map(e => Number(e.id))).toEqual(mine.slice(3).map(e => e.seq))
    await replay.close()
  })

  it('records a run it was executing when it died as crashed', async () => {
    // This one runs no workflow: servers with the same workflows share the queue.
    const t = await server({ workflows: [] })
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'serve-child.ts'), history.dir, JSON.stringify(history.target), history.schema ?? ''], {
      cwd: FIXTURES,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      let out = ''
      child.stdout.setEncoding('utf8').on('data', chunk => (out += chunk))
      const origin = await eventually(() => /READY (\S+)/.exec(out)?.[1], 'the child server')
      const response = await fetch(`${origin}/api/v1/runs`, { method: 'POST', headers: { authorization: 'Bearer child-token', 'content-type': 'application/json' }, body: '{"workflow":"forever"}' })
      const { id } = await json<{ id: string }>(response)
      await waitForStatus(t, id, 'running')
      // This server does not execute it: it cannot cancel it (cross-process cancel is elsewhere).
      const refused = await fetch(`${t.base}/api/v1/runs/${id}/cancel`, { method: 'POST', headers: t.auth })
      expect(refused.status).toBe(409)
      expect((await json<{ error: { code: string } }>(refused)).error.code).toBe('WTFLOW_SERVER_RUN_ELSEWHERE')
      child.kill('SIGKILL')
      await new Promise(resolve => child.once('exit', resolve))
      await waitForStatus(t, id, 'crashed')
      const doc = await t.db.getRun(id)
      expect(doc.nodes[0]).toMatchObject({ status: 'cancelled', error: expect.stringMatching(/^the wtflow process \(pid \d+ on .+\) died while this node was running$/) })
    } finally {
      child.kill('SIGKILL')
      // The killed server's command is an orphan now: stop it (nothing may outlive the test).
      const pid = Number(await readFile(path.join(history.gates, 'forever.pid'), 'utf8').catch(() => '0'))
      if (pid > 0 && isPidAlive(pid)) process.kill(pid, 'SIGKILL')
    }
  })

  it('answers /health 503 when the database does not answer', async () => {
    if (dialect.name === 'postgres') {
      const database = `wtflow_srv_health_${process.pid}`
      await withPg(c => c.query(`create database ${database}`))
      const url = new URL(PG_URL!)
      url.pathname = `/${database}`
      const other = await createHistory('postgres', { pgUrl: url.toString() })
      const t = await startTestServer(other)
      try {
        expect((await fetch(`${t.base}/health`)).status).toBe(200)
        await withPg(c => c.query(`drop database ${database} with (force)`))
        const response = await fetch(`${t.base}/health`)
        expect([response.status, await response.json()]).toEqual([503, { status: 'error', version: '0.1.0', database: 'unreachable' }])
      } finally {
        await t.close()
        await other.dispose().catch(() => {})
        await withPg(c => c.query(`drop database if exists ${database} with (force)`))
      }
      return
    }
    const t = await server()
    expect((await fetch(`${t.base}/health`)).status).toBe(200)
    await t.db.close()
    const response = await fetch(`${t.base}/health`)
    expect([response.status, await response.json()]).toEqual([503, { status: 'error', version: '0.1.0', database: 'unreachable' }])
  })
})
