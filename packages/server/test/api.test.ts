import type { RunDocument } from '@wtflow/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHistory, DIALECTS, json, rawRequest, startRun, startTestServer, waitForStatus, WORKFLOWS_FILE, type TestHistory, type TestServer } from './helpers.js'

interface ErrorBody {
  error: { code: string; message: string }
}

describe.each(DIALECTS)('API on $name', dialect => {
  let history: TestHistory
  let t: TestServer

  beforeEach(async ctx => {
    if (dialect.skip) return ctx.skip()
    history = await createHistory(dialect.name)
    t = await startTestServer(history)
  })
  afterEach(async () => {
    await t?.close()
    await history?.dispose()
  })

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${t.base}${path}`, { method: 'POST', headers: { ...t.auth, 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })

  it('answers /health and the OpenAPI 3.1 document of every route', async () => {
    const health = await fetch(`${t.base}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok', version: '0.1.0', database: 'ok' })
    const doc = await json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(await fetch(`${t.base}/api/v1/openapi.json`))
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/health',
        '/api/v1/runs',
        '/api/v1/runs/{id}',
        '/api/v1/runs/{id}/cancel',
        '/api/v1/runs/{id}/resume',
        '/api/v1/runs/{id}/nodes/{path}/logs',
        '/api/v1/runs/{id}/nodes/{path}/artifacts/{name}',
        '/api/v1/events',
        '/api/v1/openapi.json',
        '/api/v1/flows/execute',
        '/api/v1/flows/executions',
        '/api/v1/flows/executions/{id}',
        '/status',
        '/outputs',
      ].sort(),
    )
  })

  it('starts a registered workflow (202 {id, url}) and serves its run document exactly as history (and `wtflow show --json`) has it', async () => {
    const response = await post('/api/v1/runs', { workflow: 'quick' })
    expect(response.status).toBe(202)
    const { id, url } = await json<{ id: string; url: string }>(response)
    expect(url).toBe(`${t.base}/runs/${id}`)
    await waitForStatus(t, id, 'succeeded')
    const doc = await json(await fetch(`${t.base}/api/v1/runs/${id}`))
    expect(doc).toEqual(await t.db.getRun(id))
    expect(await json(await fetch(`${t.base}/api/v1/runs/${id.slice(0, 8)}`))).toEqual(doc)
    expect(await json(await fetch(`${t.base}/api/v1/flows/executions/${id}`))).toEqual(doc)
    expect(doc).toMatchObject({ id, workflow: 'quick', status: 'succeeded', exitCode: 0, nodes: [{ path: 'root' }, { path: 'root/colors' }, { path: 'root/compute' }, { path: 'root/odd name %2F..' }] })
  })

  it('lists runs newest first with the filters, the limit and a cursor', async () => {
    const ids: string[] = []
    for (const workflow of ['quick', 'quick', 'invalid-not-run', 'quick']) {
      if (workflow !== 'quick') continue
      const id = await startRun(t, workflow)
      await waitForStatus(t, id, 'succeeded')
      ids.push(id)
    }
    const cancelled = await startRun(t, 'forever')
    await waitForStatus(t, cancelled, 'running')
    expect((await post(`/api/v1/runs/${cancelled}/cancel`, {})).status).toBe(202)
    await waitForStatus(t, cancelled, 'cancelled')
    const all = await json<Array<{ id: string; status: string; workflow: string; startedAt: string; durationMs: number }>>(await fetch(`${t.base}/api/v1/runs`))
    expect(all.map(r => r.id)).toEqual([cancelled, ...ids.reverse()])
    expect(all).toEqual(await t.db.listRuns())
    const onlyQuick = await json<Array<{ id: string }>>(await fetch(`${t.base}/api/v1/runs?workflow=quick`))
    expect(onlyQuick.map(r => r.id)).toEqual(ids)
    expect((await json<Array<{ id: string }>>(await fetch(`${t.base}/api/v1/runs?status=cancelled`))).map(r => r.id)).toEqual([cancelled])
    expect((await json<Array<{ id: string }>>(await fetch(`${t.base}/api/v1/runs?status=cancelled,succeeded&limit=2`))).map(r => r.id)).toEqual([cancelled, ids[0]])
    const page2 = await json<Array<{ id: string }>>(await fetch(`${t.base}/api/v1/runs?limit=2&before=${ids[0]}`))
    expect(page2.map(r => r.id)).toEqual(ids.slice(1))
    const byTime = await json<Array<{ id: string }>>(await fetch(`${t.base}/api/v1/runs?before=${encodeURIComponent(all[1]!.startedAt)}`))
    expect(byTime.map(r => r.id)).toEqual(ids.slice(1))
    expect(await json(await fetch(`${t.base}/api/v1/flows/executions?limit=1`))).toEqual(all.slice(0, 1))
    for (const [query, message] of [
      ['status=done', 'unknown status "done"; use one of queued, running, succeeded, failed, cancelled, crashed (several separated by commas)'],
      ['limit=0', 'limit must be a whole number from 1 to 1000, got "0"'],
      ['limit=abc', 'limit must be a whole number from 1 to 1000, got "abc"'],
      ['before=2026-13-45T00:00:00Z', 'before: "2026-13-45T00:00:00Z" is not a time; give a run id, an ISO-8601 time or epoch milliseconds'],
    ] as const) {
      const response = await fetch(`${t.base}/api/v1/runs?${query}`)
      expect(response.status).toBe(400)
      expect(await response.json()).toEqual({ error: { code: 'WTFLOW_SERVER_BAD_REQUEST', message } })
    }
  })

  it('answers 404 with a JSON error for an unknown run, node or route, and 400 for an ambiguous prefix', async () => {
    const missing = await fetch(`${t.base}/api/v1/runs/nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({ error: { code: 'WTFLOW_RUN_NOT_FOUND', message: 'no run with id "nope"; `wtflow runs` lists the recorded runs' } })
    const id = await startRun(t, 'quick')
    await waitForStatus(t, id, 'succeeded')
    const node = await fetch(`${t.base}/api/v1/runs/${id}/nodes/root%2Fnope/logs`)
    expect(node.status).toBe(404)
    expect((await json<ErrorBody>(node)).error.code).toBe('WTFLOW_NODE_NOT_FOUND')
    const route = await fetch(`${t.base}/api/v2/whatever`)
    expect(route.status).toBe(404)
    expect(await route.json()).toEqual({ error: { code: 'WTFLOW_SERVER_NOT_FOUND', message: 'no route GET /api/v2/whatever; GET /api/v1/openapi.json lists them' } })
    // Two runs whose ids share a first character, asked by that character alone.
    const other = await startRun(t, 'quick')
    await waitForStatus(t, other, 'succeeded')
    const shared = [...'0123456789abcdef'].find(ch => [id, other].every(x => x.startsWith(ch)))
    if (shared !== undefined) {
      const ambiguous = await fetch(`${t.base}/api/v1/runs/${shared}`)
      expect(ambiguous.status).toBe(400)
      expect((await json<ErrorBody>(ambiguous)).error.code).toBe('WTFLOW_RUN_AMBIGUOUS')
    }
  })

  it('refuses bad run requests with the error that says what to do', async () => {
    const cases: Array<[unknown, number, string, string]> = [
      [{}, 400, 'WTFLOW_SERVER_BAD_REQUEST', 'the body needs "workflow": the name of a workflow this server runs ("big", "forever", "gated", "greet", "invalid", "printer", "quick", "retrying"), or "flow": a flow document'],
      [{ workflow: 'nightly' }, 404, 'WTFLOW_SERVER_UNKNOWN_WORKFLOW', 'this server runs no workflow named "nightly"; it runs "big", "forever", "gated", "greet", "invalid", "printer", "quick", "retrying". Start `wtflow serve` with the script that defines it.'],
      [{ workflow: 'quick', inputs: { day: 'monday' } }, 400, 'WTFLOW_SERVER_BAD_REQUEST', 'workflow "quick" declares no inputs; remove "day" from "inputs"'],
      [{ workflow: 'quick', inputs: [1] }, 400, 'WTFLOW_SERVER_BAD_REQUEST', '"inputs" must be an object of NAME: value'],
      [{ workflow: 'quick', flow: {} }, 400, 'WTFLOW_SERVER_BAD_REQUEST', 'give either "workflow" (a workflow this server runs) or "flow" (a flow document), not both'],
      [{ flow: { name: 'x', steps: [] } }, 403, 'WTFLOW_SERVER_INLINE_FLOWS_OFF', 'this server does not run posted flows: a flow document runs arbitrary commands. Start it with `wtflow serve --allow-inline-flows` to accept them (and keep its token secret).'],
      ['[1, 2]', 400, 'WTFLOW_SERVER_BAD_REQUEST', 'the body must be a JSON object'],
    ]
    for (const [body, status, code, message] of cases) {
      const response = await post('/api/v1/runs', body)
      expect({ status: response.status, body: await response.json() }).toEqual({ status, body: { error: { code, message } } })
    }
    const broken = await post('/api/v1/runs', '{"workflow": ')
    expect(broken.status).toBe(400)
    expect((await json<ErrorBody>(broken)).error.message).toMatch(/^the body is not valid JSON: /)
    const form = await post('/api/v1/runs', 'workflow=quick', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(await form.json()).toEqual({ error: { code: 'WTFLOW_SERVER_BAD_REQUEST', message: 'send a JSON body with Content-Type: application/json' } })
    // An invalid tree: the CLI's words, and nothing recorded.
    const invalid = await post('/api/v1/runs', { workflow: 'invalid' })
    expect(invalid.status).toBe(400)
    expect(await invalid.json()).toEqual({
      error: {
        code: 'WTFLOW_SERVER_BAD_REQUEST',
        message: `workflow "invalid" in ${WORKFLOWS_FILE} is invalid: root/twin: duplicate name: "root" already has a child named "twin". Fix it; nothing was run.`,
      },
    })
    const flowExecute = await post('/api/v1/flows/execute', { name: 'x', steps: [] })
    expect(flowExecute.status).toBe(403)
    expect(await t.db.listRuns()).toEqual([])
  })

  it('limits request bodies (413)', async () => {
    const big = JSON.stringify({ workflow: 'quick', inputs: { pad: 'x'.repeat(1024 * 1024) } })
    const response = await post('/api/v1/runs', big)
    expect(response.status).toBe(413)
    expect(await response.json()).toEqual({ error: { code: 'WTFLOW_SERVER_BODY_TOO_LARGE', message: 'the request body is over 1048576 bytes' } })
    expect(await t.db.listRuns()).toEqual([])
  })

  it('needs the token for what starts, cancels or resumes runs; answers 401 without detail', async () => {
    const plain = { 'content-type': 'application/json' }
    for (const headers of [plain, { ...plain, authorization: 'Bearer wrong' }, { ...plain, authorization: 'Basic dGVzdC10b2tlbg==' }, { ...plain, cookie: 'wtflow_token=wrong' }]) {
      for (const path of ['/api/v1/runs', '/api/v1/runs/x/cancel', '/api/v1/runs/x/resume', '/api/v1/flows/execute', '/ui/runs']) {
        const response = await fetch(`${t.base}${path}`, { method: 'POST', headers, body: JSON.stringify({ workflow: 'quick' }) })
        expect(response.status).toBe(401)
        expect(response.headers.get('www-authenticate')).toBe('Bearer')
        expect(await response.json()).toEqual({ error: { code: 'WTFLOW_SERVER_UNAUTHORIZED', message: 'unauthorized' } })
      }
    }
    expect(await t.db.listRuns()).toEqual([])
    // Read-only requests on loopback need none.
    expect((await fetch(`${t.base}/api/v1/runs`)).status).toBe(200)
    expect((await fetch(`${t.base}/`)).status).toBe(200)
  })

  it('takes the token once from ?token= into an HttpOnly SameSite=Strict cookie that authorizes the browser', async () => {
    const wrong = await fetch(`${t.base}/?token=nope`, { redirect: 'manual' })
    expect(wrong.status).toBe(401)
    const login = await fetch(`${t.base}/runs?token=${t.token}&x=1`, { redirect: 'manual' })
    expect(login.status).toBe(303)
    expect(login.headers.get('location')).toBe('/runs?x=1')
    const cookie = login.headers.get('set-cookie')!
    expect(cookie).toMatch(/^wtflow_token=test-token; Path=\/; HttpOnly; SameSite=Strict$/)
    const response = await fetch(`${t.base}/api/v1/runs`, {
      method: 'POST',
      headers: { cookie: cookie.split(';')[0]!, 'content-type': 'application/json', origin: t.base },
      body: JSON.stringify({ workflow: 'quick' }),
    })
    expect(response.status).toBe(202)
  })

  it('refuses POSTs from a foreign Origin and any request with a foreign Host (DNS rebinding)', async () => {
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${t.server.port + 1}`, `https://localhost:${t.server.port}x`]) {
      const response = await fetch(`${t.base}/api/v1/runs`, { method: 'POST', headers: { ...t.auth, origin, 'content-type': 'application/json' }, body: '{"workflow":"quick"}' })
      expect(response.status, origin).toBe(403)
    }
    const crossSite = await fetch(`${t.base}/api/v1/runs`, { method: 'POST', headers: { ...t.auth, 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, body: '{"workflow":"quick"}' })
    expect(crossSite.status).toBe(403)
    for (const host of ['evil.example', `evil.example:${t.server.port}`, `127.0.0.1:${t.server.port + 1}`, '10.0.0.1']) {
      const response = await rawRequest(t.base, { path: '/api/v1/runs', headers: { host } })
      expect(response.status, host).toBe(403)
    }
    for (const host of [`127.0.0.1:${t.server.port}`, `localhost:${t.server.port}`, 'localhost', `[::1]:${t.server.port}`]) {
      expect((await rawRequest(t.base, { path: '/api/v1/runs', headers: { host } })).status, host).toBe(200)
    }
    const sameOrigin = await fetch(`${t.base}/api/v1/runs`, { method: 'POST', headers: { ...t.auth, origin: `http://localhost:${t.server.port}`, 'content-type': 'application/json' }, body: '{"workflow":"quick"}' })
    expect(sameOrigin.status).toBe(202)
    expect((await t.db.listRuns()).length).toBe(1)
  })

  it('cancels a run it executes (202), refuses to cancel an ended one (409) or to resume a running one (409)', async () => {
    const id = await startRun(t, 'forever')
    await waitForStatus(t, id, 'running')
    const cancel = await post(`/api/v1/runs/${id.slice(0, 8)}/cancel`, '')
    expect(cancel.status).toBe(202)
    expect(await cancel.json()).toEqual({ id, status: 'cancelling' })
    await waitForStatus(t, id, 'cancelled')
    const again = await post(`/api/v1/runs/${id}/cancel`, '')
    expect(again.status).toBe(409)
    expect(await again.json()).toEqual({ error: { code: 'WTFLOW_SERVER_RUN_ENDED', message: `run ${id} already ended (cancelled); there is nothing to cancel` } })
    const running = await startRun(t, 'forever')
    await waitForStatus(t, running, 'running')
    const resumeRunning = await post(`/api/v1/runs/${running}/resume`, {})
    expect(resumeRunning.status).toBe(409)
    expect(await json<ErrorBody>(resumeRunning)).toEqual({ error: { code: 'WTFLOW_SERVER_CANNOT_RESUME', message: `run ${running} is still running; only a finished run can be resumed` } })
    expect((await post(`/api/v1/runs/${running}/cancel`, '')).status).toBe(202)
    await waitForStatus(t, running, 'cancelled')
    expect((await post('/api/v1/runs/nope/cancel', '')).status).toBe(404)
    expect((await post('/api/v1/runs/nope/resume', {})).status).toBe(404)
  })

  it('resumes a finished run: a new run that reuses what succeeded (cached, reusedFrom), runs again what --rerun names', async () => {
    const first = await startRun(t, 'quick')
    await waitForStatus(t, first, 'succeeded')
    const resumed = await post(`/api/v1/runs/${first.slice(0, 8)}/resume`, {})
    expect(resumed.status).toBe(202)
    const { id: second } = await json<{ id: string }>(resumed)
    await waitForStatus(t, second, 'succeeded')
    const doc = await json<RunDocument>(await fetch(`${t.base}/api/v1/runs/${second}`))
    expect(doc.resumedFrom).toBe(first)
    expect(doc.nodes.map(node => [node.path, node.status, node.reusedFrom?.runId ?? null])).toEqual([
      ['root', 'cached', first],
      ['root/colors', 'cached', first],
      ['root/compute', 'cached', first],
      ['root/odd name %2F..', 'cached', first],
    ])
    const rerun = await post(`/api/v1/runs/${first}/resume`, { rerun: ['root/compute'] })
    expect(rerun.status).toBe(202)
    const { id: third } = await json<{ id: string }>(rerun)
    await waitForStatus(t, third, 'succeeded')
    const again = await json<RunDocument>(await fetch(`${t.base}/api/v1/runs/${third}`))
    expect(again.nodes.map(node => [node.path, node.status])).toEqual([
      ['root', 'cached'],
      ['root/colors', 'cached'],
      ['root/compute', 'succeeded'],
      ['root/odd name %2F..', 'cached'],
    ])
    const unknown = await post(`/api/v1/runs/${first}/resume`, { rerun: ['root/nope'] })
    expect(unknown.status).toBe(400)
    expect((await json<ErrorBody>(unknown)).error.message).toBe('"rerun": workflow "quick" has no node at "root/nope"')
  })

  it('takes the inputs a workflow declares (defaults fill the rest), and answers 400 for a missing, unknown or non-text one', async () => {
    const accepted = await post('/api/v1/runs', { workflow: 'greet', inputs: { who: 'web', greeting: 42 } })
    expect(accepted.status).toBe(202)
    const { id } = await json<{ id: string }>(accepted)
    await waitForStatus(t, id, 'succeeded')
    expect(await (await fetch(`${t.base}/api/v1/runs/${id}/nodes/say/logs`)).text()).toBe('42 web\n')
    const defaults = await json<{ id: string }>(await post('/api/v1/runs', { workflow: 'greet', inputs: { who: 'you' } }))
    await waitForStatus(t, defaults.id, 'succeeded')
    expect(await (await fetch(`${t.base}/api/v1/runs/${defaults.id}/nodes/say/logs`)).text()).toBe('hello you\n')
    const missing = await post('/api/v1/runs', { workflow: 'greet' })
    expect(missing.status).toBe(400)
    expect((await json<ErrorBody>(missing)).error.message).toBe('workflow "greet" needs input "who" (whom to greet); give it in "inputs" of the request')
    const unknown = await post('/api/v1/runs', { workflow: 'greet', inputs: { who: 'x', whom: 'y' } })
    expect(unknown.status).toBe(400)
    expect((await json<ErrorBody>(unknown)).error.message).toBe('workflow "greet" has no input "whom"; it declares "who", "greeting"')
    const object = await post('/api/v1/runs', { workflow: 'greet', inputs: { who: { a: 1 } } })
    expect(object.status).toBe(400)
    expect((await json<ErrorBody>(object)).error.message).toBe('input "who" is object; an input\'s value is text (or a number or boolean)')
  })

  it('serves the seeds’ /status and /outputs for the latest run', async () => {
    expect(await json(await fetch(`${t.base}/status`))).toEqual({ run: null, status: null, nodes: {} })
    const id = await startRun(t, 'quick')
    await waitForStatus(t, id, 'succeeded')
    expect(await json(await fetch(`${t.base}/status`))).toEqual({
      run: id,
      workflow: 'quick',
      status: 'succeeded',
      nodes: { root: 'succeeded', 'root/colors': 'succeeded', 'root/compute': 'succeeded', 'root/odd name %2F..': 'succeeded' },
    })
    expect(await json(await fetch(`${t.base}/outputs`))).toEqual({ run: id, workflow: 'quick', status: 'succeeded', outputs: { 'root/compute': { answer: 42, words: ['a', 'b'] } } })
  })
})

describe('a server that requires the token for every request', () => {
  it('answers 401 to reads without it, and serves them with it', async () => {
    const history = await createHistory('sqlite')
    const t = await startTestServer(history, { requireToken: true })
    try {
      for (const path of ['/', '/health', '/api/v1/runs', '/api/v1/openapi.json', '/status', '/assets/app.css']) {
        expect((await fetch(`${t.base}${path}`)).status, path).toBe(401)
        expect((await fetch(`${t.base}${path}`, { headers: t.auth })).status, path).toBe(200)
      }
    } finally {
      await t.close()
      await history.dispose()
    }
  })
})
