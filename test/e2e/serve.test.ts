/** `wtflow serve` as users start it: the bin, a real port, the CLI's documents. */
import net from 'node:net'
import path from 'node:path'
import type { RunDocument, RunSummary } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { DATABASES, EXAMPLES, makeWorkspace, parseJson, waitFor, type Workspace } from '../helpers/cli.js'

describe.each(DATABASES)('wtflow serve on %s', kind => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('serves the API and UI, runs a workflow on start and on request, answers the documents of `wtflow show --json`, and stops on Ctrl-C', async () => {
    ws = await makeWorkspace(kind)
    const server = ws.start(['serve', path.join(EXAMPLES, 'quickstart.ts'), '--port', '0', '--run-on-start'])
    try {
      const [, origin, token] = await server.waitForStdout(/listening on (http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)\n/)
      // Written to stderr just after the stdout line: it may still be on its way.
      await waitFor(() => server.stderr().includes('workflows: example'), { what: 'the served workflows on stderr' })
      const first = await waitFor(async () => {
        const runs = parseJson<RunSummary[]>(await (await fetch(`${origin}/api/v1/runs`)).text())
        return runs[0]?.status === 'succeeded' ? runs[0] : undefined
      }, { what: 'the run started with --run-on-start to succeed' })
      const show = await ws.run(['show', first.id, '--json'])
      expect(show.code, show.stderr).toBe(0)
      expect(await (await fetch(`${origin}/api/v1/runs/${first.id}`)).json()).toEqual(parseJson<RunDocument>(show.stdout))
      const runs = await ws.run(['runs', '--json'])
      expect(await (await fetch(`${origin}/api/v1/runs`)).json()).toEqual(parseJson(runs.stdout))

      const refused = await fetch(`${origin}/api/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"workflow":"example"}' })
      expect(refused.status).toBe(401)
      const accepted = await fetch(`${origin}/api/v1/runs`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"workflow":"example"}' })
      expect(accepted.status).toBe(202)
      const { id } = (await accepted.json()) as { id: string }
      await waitFor(async () => ((await (await fetch(`${origin}/api/v1/runs/${id}`)).json()) as RunDocument).status === 'succeeded', { what: 'the posted run to succeed' })
      const page = await fetch(`${origin}/runs/${id}`)
      expect(page.headers.get('content-type')).toBe('text/html; charset=UTF-8')
      expect(await page.text()).toContain('Root Node/Node 1')
    } finally {
      server.child.kill('SIGINT')
    }
    const exit = await server.exited
    expect(exit.code, exit.stderr).toBe(0)
    expect(exit.stderr).toContain('SIGINT: stopping')
  })

  it('with --allow-inline-flows, runs a posted flow document (inputs as text), and answers 400 with every problem of a bad one', async () => {
    ws = await makeWorkspace(kind)
    const server = ws.start(['serve', '--port', '0', '--allow-inline-flows'])
    try {
      const [, origin, token] = await server.waitForStdout(/listening on (http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)\n/)
      const post = (body: unknown) => fetch(`${origin}/api/v1/runs`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const flow = { name: 'posted', inputs: { who: {} }, steps: [{ name: 'greet', run: ['echo', 'hello ${{ inputs.who }}'] }] }
      const accepted = await post({ flow, inputs: { who: '$(touch pwned)' } })
      expect(accepted.status).toBe(202)
      const { id } = (await accepted.json()) as { id: string }
      const doc = await waitFor(async () => {
        const run = (await (await fetch(`${origin}/api/v1/runs/${id}`)).json()) as RunDocument
        return run.status === 'succeeded' ? run : undefined
      }, { what: 'the posted flow to succeed' })
      expect(doc.workflow).toBe('posted')
      const log = await fetch(`${origin}/api/v1/runs/${id}/nodes/posted%2Fgreet/logs`)
      expect(await log.text()).toBe('hello $(touch pwned)\n')

      const bad = await post({ flow: { name: 'bad', steps: [{ name: 'a', run: 'true', retires: 2 }, { name: 'b', run: ['cat', '${{ steps.nope.stdout }}'] }] } })
      expect(bad.status).toBe(400)
      const { error } = (await bad.json()) as { error: { code: string; message: string } }
      expect(error.code).toBe('WTFLOW_FLOW_INVALID')
      expect(error.message).toContain('unknown key "retires" (did you mean retries?)')
      expect(error.message).toContain('the flow has no step named "nope"')
    } finally {
      server.child.kill('SIGINT')
    }
    expect((await server.exited).code).toBe(0)
  })

  it('says what to do when it cannot serve', async () => {
    ws = await makeWorkspace(kind)
    const off = await ws.run(['serve'], { env: { WTFLOW_DB_URL: 'none' } })
    expect(off.code).toBe(2)
    expect(off.stderr).toContain('wtflow serve serves run history, and history is off')
    const busy = net.createServer()
    await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
    try {
      const port = (busy.address() as net.AddressInfo).port
      const taken = await ws.run(['serve', '--port', String(port)])
      expect(taken.code).toBe(2)
      expect(taken.stderr).toContain(`cannot listen on 127.0.0.1:${port}: port ${port} is in use; pick another with --port`)
    } finally {
      busy.close()
    }
    const help = await ws.run(['serve', '--help'])
    expect(help.stdout).toContain('--allow-inline-flows')
    expect(help.stdout).toContain('Examples:')
  })
})
