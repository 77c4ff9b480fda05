/** The other step kinds — http, env, uses — and after, on the real engine. */
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { NodeResult, RunResult } from '@wtflow/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadFlow } from '../src/index.js'
import { problemsOf, runFlow, workspace } from './helpers.js'

const GREET = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'plugins', 'greet.ts')

function byPath(result: RunResult): Record<string, NodeResult> {
  return Object.fromEntries(result.nodes.map(node => [node.path, node]))
}

function resultOf(node: NodeResult | undefined): unknown {
  const found = node?.artifacts.find(a => a.name === 'result')
  if (found === undefined) throw new Error(`${node?.path} has no result`)
  return JSON.parse(readFileSync(found.path, 'utf8'))
}

function stdoutOf(node: NodeResult | undefined): string {
  const found = node?.artifacts.find(a => a.name === 'stdout')
  return found === undefined ? '' : readFileSync(found.path, 'utf8')
}

describe('http, env and plugin steps, and after', () => {
  const ws = workspace()
  const requests: Array<{ method: string; url: string; header: string | undefined; body: string }> = []
  let server: http.Server
  let base = ''
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (chunk: string) => (body += chunk))
      req.on('end', () => {
        requests.push({ method: req.method!, url: req.url!, header: req.headers['x-test'] as string | undefined, body })
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ count: 3, path: req.url }))
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.close()
    ws.cleanup()
  })

  it('http steps: values percent-encoded in the URL, headers and JSON bodies from expressions, results read by later steps', async () => {
    const file = ws.write(
      'api.yaml',
      `
name: api
inputs:
  base: {}
  q: { default: "a&b=c/../x" }
steps:
  - name: get
    http: { url: "\${{ inputs.base }}/items?q=\${{ inputs.q }}", headers: { x-test: "\${{ inputs.q }}" } }
  - name: post
    http: { url: "\${{ inputs.base }}/echo", method: POST, body: { n: "\${{ steps.get.result.body.count }}", text: "n=\${{ steps.get.result.body.count }}" } }
  - name: fixed
    http: { url: "${base}/plain", expect: [200] }
`,
    )
    const result = await runFlow(await loadFlow(file, { inputs: { base } }), ws.dir)
    expect(result.status).toBe('succeeded')
    expect(requests).toEqual([
      { method: 'GET', url: '/items?q=a%26b%3Dc%2F..%2Fx', header: 'a&b=c/../x', body: '' },
      { method: 'POST', url: '/echo', header: undefined, body: JSON.stringify({ n: 3, text: 'n=3' }) },
      { method: 'GET', url: '/plain', header: undefined, body: '' },
    ])
    const nodes = byPath(result)
    expect(resultOf(nodes['api/get'])).toMatchObject({ status: 200, body: { count: 3, path: '/items?q=a%26b%3Dc%2F..%2Fx' } })
    expect(JSON.parse(stdoutOf(nodes['api/fixed']))).toEqual({ count: 3, path: '/plain' })
  })

  it('env steps read variables into their result; a required one that is missing fails the step, naming it', async () => {
    const file = ws.write(
      'env.yaml',
      `
name: env
env: { FLOW_TEST_SET: "yes" }
steps:
  - name: read
    env: [FLOW_TEST_SET, FLOW_TEST_UNSET_1]
  - name: use
    run: [echo, "\${{ steps.read.result.FLOW_TEST_SET }}"]
  - name: strict
    env: [{ name: FLOW_TEST_UNSET_2, required: true }]
`,
    )
    const result = await runFlow(await loadFlow(file), ws.dir)
    const nodes = byPath(result)
    expect(resultOf(nodes['env/read'])).toEqual({ FLOW_TEST_SET: 'yes', FLOW_TEST_UNSET_1: null })
    expect(stdoutOf(nodes['env/use'])).toBe('yes\n')
    expect(nodes['env/strict']!.status).toBe('failed')
    expect(nodes['env/strict']!.error?.message).toContain('FLOW_TEST_UNSET_2')
  })

  it('uses: a plugin module, its options checked before anything runs, or evaluated when the step starts', async () => {
    const file = ws.write(
      'plugin.yaml',
      `
name: plugin
steps:
  - name: literal
    uses: ${GREET}
    with: { who: world }
  - name: who
    run: printf flows
  - name: templated
    uses: ${GREET}
    with: { who: "\${{ steps.who.stdout }}" }
`,
    )
    const result = await runFlow(await loadFlow(file), ws.dir)
    const nodes = byPath(result)
    expect(result.status).toBe('succeeded')
    expect(stdoutOf(nodes['plugin/literal'])).toBe('hello world\n')
    expect(stdoutOf(nodes['plugin/templated'])).toMatch(/^hello \/.+stdout\.log\n$/)

    const bad = ws.write('bad-plugin.yaml', `name: bad\nsteps:\n  - name: a\n    uses: ${GREET}\n    with: { who: 42, extra: 1 }\n  - name: b\n    uses: ./nowhere.ts\n  - name: c\n    uses: wtflow-plugin-that-does-not-exist\n`)
    const problems = (await problemsOf(bad)).map(problem => problem.replaceAll(ws.dir, '<dir>'))
    expect(problems).toHaveLength(3)
    expect(problems[0]).toMatch(/^bad-plugin\.yaml:5:11: steps\[0\]\.with: plugin "greet": invalid options: who: .+; .*extra/)
    expect(problems[1]).toBe('bad-plugin.yaml:7:11: steps[1].uses: plugin module "./nowhere.ts" not found (looked for <dir>/nowhere.ts)')
    expect(problems[2]).toMatch(/^bad-plugin\.yaml:9:11: steps\[2\]\.uses: plugin "wtflow-plugin-that-does-not-exist" cannot be found from <dir>: install it/)
  })

  it('after: a step waits for steps anywhere in the flow, and is skipped, naming it, when one did not succeed', async () => {
    const file = ws.write(
      'after.yaml',
      `
name: after
steps:
  - name: all
    parallel: true
    steps:
      - name: report
        run: test -f built.txt
        after: [all/build]
      - name: build
        run: printf built > built.txt
      - name: broken
        run: exit 3
        continueOnFailure: true
      - name: never
        run: echo never
        after: [all/broken]
`,
    )
    const result = await runFlow(await loadFlow(file), ws.dir)
    const nodes = byPath(result)
    expect([nodes['after/all/report']!.status, nodes['after/all/report']!.skipReason]).toEqual(['succeeded', null])
    expect(nodes['after/all/report']!.startedAt!.getTime()).toBeGreaterThanOrEqual(nodes['after/all/build']!.endedAt!.getTime())
    expect(nodes['after/all/never']!.status).toBe('skipped')
    expect(nodes['after/all/never']!.skipReason).toContain('after/all/broken')
  })

  it('a step reads the output of a step beside it in a parallel group: it waits for it', async () => {
    const file = ws.write(
      'beside.yaml',
      `
name: beside
steps:
  - name: checks
    parallel: true
    steps:
      - name: report
        run: [cat, "\${{ steps.checks.lint.stdout }}"]
      - name: lint
        run: printf 'lint ok'
`,
    )
    const result = await runFlow(await loadFlow(file), ws.dir)
    expect(result.status).toBe('succeeded')
    expect(stdoutOf(byPath(result)['beside/checks/report'])).toBe('lint ok')
  })
})
