import fs from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHistory, DIALECTS, eventually, json, openSse, rawRequest, startRun, startTestServer, waitForStatus, type TestHistory, type TestServer } from './helpers.js'

describe.each(DIALECTS)('logs and artifacts on $name', dialect => {
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

  const logsUrl = (id: string, node: string, query = '') => `${t.base}/api/v1/runs/${id}/nodes/${encodeURIComponent(node)}/logs${query}`

  async function nodeStatus(id: string, nodePath: string): Promise<string | undefined> {
    const doc = await json<{ nodes: Array<{ path: string; status: string }> }>(await fetch(`${t.base}/api/v1/runs/${id}`))
    return doc.nodes.find(n => n.path === nodePath)?.status
  }

  it('follows a log live as server-sent events whose ids are byte offsets; Last-Event-ID resumes without loss or repeat; the stream ends with the node', async () => {
    const id = await startRun(t, 'printer')
    await eventually(async () => ((await nodeStatus(id, 'print')) === 'running' ? true : undefined), 'the node to run')
    const first = openSse(logsUrl(id, 'print'))
    const line1 = await first.next()
    expect(line1).toEqual({ event: 'message', id: '7', data: JSON.stringify('line 1\n') })
    await first.close()

    await t.open('more')
    // Reconnect where we stopped, as EventSource does.
    const second = openSse(logsUrl(id, 'print'), { 'last-event-id': line1.id! })
    const line2 = await second.next()
    const text2 = 'line 2 ∑é\n'
    expect(line2).toEqual({ event: 'message', id: String(7 + Buffer.byteLength(text2)), data: JSON.stringify(text2) })
    await t.open('end')
    const rest = await second.until(e => e.event === 'end')
    expect(rest.filter(e => e.event === 'message').map(e => JSON.parse(e.data) as string).join('')).toBe('done\n')
    expect(rest.at(-1)).toEqual({ event: 'end', id: undefined, data: JSON.stringify({ status: 'succeeded' }) })
    await second.done
    expect(second.ended).toBe(true)

    // Of a finished node: everything from an offset, then the end.
    const replay = openSse(logsUrl(id, 'print', '?offset=7'))
    const events = await replay.until(e => e.event === 'end')
    expect(events.filter(e => e.event === 'message').map(e => JSON.parse(e.data) as string).join('')).toBe('line 2 ∑é\ndone\n')
    expect(events.at(-2)!.id).toBe(String(Buffer.byteLength('line 1\nline 2 ∑é\ndone\n')))
  })

  it('follows a retried node into its next attempt’s file (an attempt event, then offsets from 0)', async () => {
    const id = await startRun(t, 'retrying')
    await eventually(async () => ((await nodeStatus(id, 'flaky')) === 'running' ? true : undefined), 'the node to run')
    const sse = openSse(logsUrl(id, 'flaky'))
    expect(await sse.next()).toEqual({ event: 'message', id: '10', data: JSON.stringify('attempt 1\n') })
    await t.open('fail')
    expect(await sse.next()).toEqual({ event: 'attempt', id: '0', data: '{}' })
    expect(await sse.next()).toEqual({ event: 'message', id: '10', data: JSON.stringify('attempt 2\n') })
    await t.open('finish')
    const rest = await sse.until(e => e.event === 'end')
    expect(rest.map(e => e.data)).toEqual([JSON.stringify('bye\n'), JSON.stringify({ status: 'succeeded' })])
    // Afterwards (once history has it): the final attempt's log, and the first one's kept as an artifact.
    await waitForStatus(t, id, 'succeeded')
    expect(await (await fetch(logsUrl(id, 'flaky'))).text()).toBe('attempt 2\nbye\n')
    expect(await (await fetch(`${t.base}/api/v1/runs/${id}/nodes/flaky/artifacts/stdout.attempt-1`)).text()).toBe('attempt 1\n')
  })

  it('lets a viewer that asks for the tail skip what it fell behind by (view=tail), and says so', async () => {
    const id = await startRun(t, 'big')
    await waitForStatus(t, id, 'succeeded')
    const all = await (await fetch(logsUrl(id, 'print'))).text()
    const size = Buffer.byteLength(all)
    const sse = openSse(logsUrl(id, 'print', '?view=tail'))
    const events = await sse.until(e => e.event === 'end')
    const skip = events[0]!
    expect(skip.event).toBe('skip')
    const { from, to } = JSON.parse(skip.data) as { from: number; to: number }
    expect(from).toBe(0)
    expect(skip.id).toBe(String(to))
    // It resumes at a line, within the last 64 KB.
    expect(size - to).toBeLessThanOrEqual(64 * 1024)
    expect(all.slice(to - 1, to)).toBe('\n')
    expect(events.filter(e => e.event === 'message').map(e => JSON.parse(e.data) as string).join('')).toBe(all.slice(to))
    // Without it every byte comes.
    const everything = openSse(logsUrl(id, 'print'))
    const full = await everything.until(e => e.event === 'end')
    expect(full.filter(e => e.event === 'message').map(e => JSON.parse(e.data) as string).join('')).toBe(all)
  })

  it('serves a log’s bytes from an offset, a limit or its tail, with its size', async () => {
    const id = await startRun(t, 'printer')
    await t.open('more')
    await t.open('end')
    await waitForStatus(t, id, 'succeeded')
    const all = 'line 1\nline 2 ∑é\ndone\n'
    const size = String(Buffer.byteLength(all))
    const whole = await fetch(logsUrl(id, 'print'))
    expect(whole.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(whole.headers.get('x-log-size')).toBe(size)
    expect(whole.headers.get('x-log-offset')).toBe('0')
    expect(await whole.text()).toBe(all)
    const part = await fetch(logsUrl(id, 'print', '?offset=7&limit=6'))
    expect([part.headers.get('x-log-offset'), await part.text()]).toEqual(['7', 'line 2'])
    const tail = await fetch(logsUrl(id, 'print', '?tail=5'))
    expect([tail.headers.get('x-log-offset'), await tail.text()]).toEqual([String(Buffer.byteLength(all) - 5), 'done\n'])
    const stderr = await fetch(logsUrl(id, 'print', '?stream=stderr'))
    expect([stderr.status, await stderr.text()]).toEqual([200, ''])
    const bad = await fetch(logsUrl(id, 'print', '?stream=both'))
    expect([bad.status, await bad.json()]).toEqual([400, { error: { code: 'WTFLOW_SERVER_BAD_REQUEST', message: 'stream must be stdout or stderr, got "both"' } }])
    expect((await fetch(logsUrl(id, 'print', '?offset=-1'))).status).toBe(400)
  })

  it('downloads artifacts by name, node paths with odd names included', async () => {
    const id = await startRun(t, 'quick')
    await waitForStatus(t, id, 'succeeded')
    const doc = await t.db.getRun(id)
    const odd = doc.nodes.find(n => n.path === 'root/odd name %2F..')!
    const stdout = odd.artifacts.find(a => a.name === 'stdout')!
    for (const encoded of [encodeURIComponent(odd.path), `root/${encodeURIComponent('odd name %2F..')}`]) {
      const response = await fetch(`${t.base}/api/v1/runs/${id}/nodes/${encoded}/artifacts/stdout`)
      expect(response.status, encoded).toBe(200)
      expect(await response.text()).toBe('odd\n')
      expect(response.headers.get('x-artifact-sha256')).toBe(stdout.sha256)
      expect(response.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'")
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    }
    const result = await fetch(`${t.base}/api/v1/runs/${id}/nodes/root%2Fcompute/artifacts/result?download=1`)
    expect(await result.json()).toEqual({ answer: 42, words: ['a', 'b'] })
    expect(result.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''result.json")
    const missing = await fetch(`${t.base}/api/v1/runs/${id}/nodes/root/artifacts/stderr`)
    expect([missing.status, await missing.json()]).toEqual([404, { error: { code: 'WTFLOW_SERVER_NOT_FOUND', message: 'node "root" has no artifact "stderr"; it has "stdout"' } }])
    const group = await startRun(t, 'gated')
    await t.open('first')
    await t.open('second')
    await waitForStatus(t, group, 'succeeded')
    const groupLogs = await fetch(logsUrl(group, 'root'))
    expect([groupLogs.status, (await json<{ error: { message: string } }>(groupLogs)).error.message]).toEqual([404, '"root" is a group (a node without an executable): it has no output'])
  })

  it('reads nothing outside the artifact store, whatever the path, its encoding, a history row or a symbolic link says (404)', async () => {
    const id = await startRun(t, 'quick')
    await waitForStatus(t, id, 'succeeded')
    const secret = path.join(history.dir, 'secret.txt')
    await fs.writeFile(secret, 'TOP SECRET')
    const attempts = [
      `/api/v1/runs/${id}/nodes/../../../secret.txt/logs`,
      `/api/v1/runs/${id}/nodes/..%2F..%2F..%2Fsecret.txt/logs`,
      `/api/v1/runs/${id}/nodes/%2E%2E%2F%2E%2E%2Fsecret.txt/logs`,
      `/api/v1/runs/${id}/nodes/root/..%2F..%2F..%2Fsecret.txt/logs`,
      `/api/v1/runs/${id}/nodes/root/artifacts/..%2F..%2F..%2F..%2Fsecret.txt`,
      `/api/v1/runs/${id}/nodes/root/artifacts/%2E%2E%2F%2E%2E%2Fsecret.txt`,
      `/api/v1/runs/${id}/nodes/root%00/artifacts/stdout`,
      `/api/v1/runs/..%2F..%2Fsecret.txt/nodes/root/logs`,
      `/assets/..%2F..%2F..%2Fpackage.json`,
      `/assets/../../package.json`,
    ]
    for (const attempt of attempts) {
      const response = await rawRequest(t.base, { path: attempt, headers: { host: new URL(t.base).host } })
      expect(response.status, attempt).toBe(404)
      expect(response.body, attempt).not.toContain('TOP SECRET')
      expect(response.body, attempt).not.toContain('"version"')
    }
    // A damaged (or hostile) history row that names a file outside the store.
    const run = await t.db.getRun(id)
    await t.db.db.updateTable('artifacts').set({ path: secret }).where('run_id', '=', run.id).where('name', '=', 'stdout').execute()
    for (const url of [`/api/v1/runs/${id}/nodes/root/artifacts/stdout`, `/api/v1/runs/${id}/nodes/root/logs`]) {
      const response = await fetch(`${t.base}${url}`)
      expect(response.status, url).toBe(404)
      expect(await response.text()).not.toContain('TOP SECRET')
    }
    const sse = openSse(`${t.base}/api/v1/runs/${id}/nodes/root/logs`)
    await expect(sse.next()).rejects.toThrow(/404/)
    // A symbolic link in the store that leads out of it.
    const colors = run.nodes.find(n => n.path === 'root/colors')!.artifacts.find(a => a.name === 'stdout')!.path
    await fs.rm(colors)
    await fs.symlink(secret, colors)
    const linked = await fetch(`${t.base}/api/v1/runs/${id}/nodes/root%2Fcolors/artifacts/stdout`)
    expect(linked.status).toBe(404)
    expect(await linked.text()).not.toContain('TOP SECRET')
  })
})
