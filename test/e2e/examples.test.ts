/** Every example of examples/ run through the CLI, on each database. */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import type { RunDocument } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_DATABASES, artifactText, byPath, unavailable, ESC, example, makeWorkspace, parseJson, type Workspace } from '../helpers/cli.js'

for (const kind of ALL_DATABASES) describe.skipIf(unavailable(kind))(`examples on ${kind}`, () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('quickstart: Funcs receive a command’s artifacts; run --json equals show --json', async () => {
    ws = await makeWorkspace(kind)
    const run = await ws.run(['run', example('quickstart.ts'), '--json'])
    expect(run.stderr).not.toContain(ESC)
    expect(run.code, run.stderr).toBe(0)
    const doc = parseJson<RunDocument>(run.stdout)
    expect(doc).toMatchObject({ workflow: 'example', status: 'succeeded', exitCode: 0 })
    expect(doc.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(doc.nodes.map(node => [node.path, node.status, node.exitCode, node.attempts])).toEqual([
      ['Root Node', 'succeeded', 0, 1],
      ['Root Node/Node 1', 'succeeded', 0, 1],
      ['Root Node/Node 2', 'succeeded', 0, 1],
      ['Root Node/Node 3', 'succeeded', 0, 1],
    ])
    const nodes = byPath(doc)
    expect(artifactText(nodes['Root Node'], 'stdout')).toBe('Starting workflow\n')
    expect(artifactText(nodes['Root Node/Node 1'], 'stdout')).toBe('STDOUT\n')
    expect(artifactText(nodes['Root Node/Node 1'], 'stderr')).toBe('STDERR\n')
    expect(artifactText(nodes['Root Node/Node 2'], 'stdout')).toBe('processing stdout: STDOUT\n\n')
    expect(artifactText(nodes['Root Node/Node 3'], 'stdout')).toBe('processing stderr: STDERR\n\n')
    for (const node of doc.nodes) {
      for (const artifact of node.artifacts) {
        expect(path.isAbsolute(artifact.path)).toBe(true)
        expect(artifact.path.startsWith(path.join(ws.dir, '.wtflow', 'artifacts', doc.id))).toBe(true)
        const bytes = readFileSync(artifact.path)
        expect(artifact.size).toBe(bytes.length)
        expect(artifact.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))
      }
    }

    const show = await ws.run(['show', doc.id.slice(0, 8), '--json'])
    expect(show.code, show.stderr).toBe(0)
    expect(parseJson<RunDocument>(show.stdout)).toEqual(doc)

    const logs = await ws.run(['logs', doc.id.slice(0, 6), 'Root Node/Node 3'])
    expect(logs).toMatchObject({ code: 0, stdout: 'processing stderr: STDERR\n\n' })
    const stderrLog = await ws.run(['logs', doc.id, 'Root Node/Node 1', '--stderr'])
    expect(stderrLog).toMatchObject({ code: 0, stdout: 'STDERR\n' })
  })

  it('ci: checks in parallel, then build; the failure branch runs only when tests fail', async () => {
    ws = await makeWorkspace(kind)
    const green = await ws.run(['run', example('ci.ts'), '--json'])
    expect(green.code, green.stderr).toBe(0)
    const ok = byPath(parseJson<RunDocument>(green.stdout))
    expect(Object.fromEntries(Object.entries(ok).map(([p, n]) => [p, n.status]))).toEqual({
      ci: 'succeeded',
      'ci/checks': 'succeeded',
      'ci/checks/lint': 'succeeded',
      'ci/checks/typecheck': 'succeeded',
      'ci/checks/test': 'succeeded',
      'ci/checks/test/report': 'skipped',
      'ci/build': 'succeeded',
    })
    // Parallel: every check started before any of them ended.
    const checks = ['lint', 'typecheck', 'test'].map(name => ok[`ci/checks/${name}`]!)
    const lastStart = Math.max(...checks.map(n => Date.parse(n.startedAt!)))
    const firstEnd = Math.min(...checks.map(n => Date.parse(n.endedAt!)))
    expect(lastStart).toBeLessThan(firstEnd)
    expect(Date.parse(ok['ci/build']!.startedAt!)).toBeGreaterThanOrEqual(Math.max(...checks.map(n => Date.parse(n.endedAt!))))
    expect(artifactText(ok['ci/build'], 'app.js')).toBe('console.log("app")\n')

    const red = await ws.run(['run', example('ci.ts')], { env: { CI_FAIL: 'test' } })
    expect(red.code, red.stderr).toBe(1)
    // Executables are counted, not groups (which fail with what failed under them).
    expect(red.stdout).toMatch(/✗ ci failed in .*: 3 succeeded, 1 failed, 1 skipped/)
    expect(red.stdout).toMatch(/✗ ci\/checks\/test: exit code 1/)
    expect(red.stdout).toContain('│ test: 1 error')
    const logsHint = /full output: (wtflow logs [0-9a-f]{8} ci\/checks\/test --stderr)/.exec(red.stdout)
    expect(logsHint, red.stdout).not.toBeNull()
    const [, runId] = /run ([0-9a-f-]{36})/.exec(red.stdout)!
    const failed = byPath(parseJson<RunDocument>((await ws.run(['show', runId!, '--json'])).stdout))
    expect(failed['ci/checks/test']).toMatchObject({ status: 'failed', exitCode: 1 })
    expect([failed.ci!.status, failed['ci/checks']!.status]).toEqual(['failed', 'failed'])
    expect(failed['ci/checks/test/report']).toMatchObject({ status: 'succeeded' })
    expect(failed['ci/build']).toMatchObject({ status: 'skipped', skipReason: 'not started: "ci/checks/test" failed' })
    // The hint the summary printed works as printed.
    const hinted = await ws.run(logsHint![1]!.split(' ').slice(1))
    expect(hinted).toMatchObject({ code: 0, stdout: 'test: 1 error\n' })
  })

  it('etl: typed results and artifacts flow from extract to transform, load and a command', async () => {
    ws = await makeWorkspace(kind)
    const out = path.join(ws.dir, 'warehouse.json')
    const run = await ws.run(['run', example('etl.ts'), '--json'], { env: { ETL_OUT: out } })
    expect(run.code, run.stderr).toBe(0)
    const nodes = byPath(parseJson<RunDocument>(run.stdout))
    expect(Object.values(nodes).map(n => n.status)).toEqual(Array(5).fill('succeeded'))
    const averages = [
      { city: 'Lisbon', readings: 2, average: 22.3 },
      { city: 'Oslo', readings: 2, average: 5.1 },
      { city: 'Nairobi', readings: 1, average: 19.8 },
    ]
    expect(JSON.parse(artifactText(nodes['etl/transform'], 'result'))).toEqual(averages)
    expect(JSON.parse(artifactText(nodes['etl/load'], 'result'))).toEqual({ file: out, cities: 3, rawLines: 5 })
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ averages })
    const extractStdout = nodes['etl/extract']!.artifacts.find(a => a.name === 'stdout')!.path
    expect(artifactText(nodes['etl/audit'], 'stdout').trim()).toBe(`5 ${extractStdout}`)
  })

  it('fan-in: three batches fan out from fetch, aggregate takes all three and starts only after each ended', async () => {
    ws = await makeWorkspace(kind)
    const run = await ws.run(['run', example('fan-in.ts'), '--json'])
    expect(run.code, run.stderr).toBe(0)
    const nodes = byPath(parseJson<RunDocument>(run.stdout))
    expect(Object.values(nodes).map(n => [n.path, n.status])).toEqual([
      ['pipeline', 'succeeded'],
      ['pipeline/report', 'succeeded'],
      ['pipeline/aggregate', 'succeeded'],
      ['pipeline/batch-1', 'succeeded'],
      ['pipeline/batch-2', 'succeeded'],
      ['pipeline/batch-3', 'succeeded'],
      ['pipeline/fetch', 'succeeded'],
    ])
    expect(['batch-1', 'batch-2', 'batch-3'].map(name => JSON.parse(artifactText(nodes[`pipeline/${name}`], 'result')))).toEqual([55278, 166167, 278055])
    expect(JSON.parse(artifactText(nodes['pipeline/aggregate'], 'result'))).toBe('Total: 499500')
    expect(artifactText(nodes['pipeline/report'], 'stdout')).toBe('Total: 499500\n')
    const time = (value: string | null) => new Date(value!).getTime()
    for (const name of ['batch-1', 'batch-2', 'batch-3']) {
      expect(time(nodes[`pipeline/${name}`]!.startedAt)).toBeGreaterThanOrEqual(time(nodes['pipeline/fetch']!.endedAt))
      expect(time(nodes['pipeline/aggregate']!.startedAt)).toBeGreaterThanOrEqual(time(nodes[`pipeline/${name}`]!.endedAt))
    }
  })

  it('http: its own API on 127.0.0.1; a retry on 503, a redirect, a POST of an upstream result; the token never shows', async () => {
    ws = await makeWorkspace(kind)
    const token = 'tok-e2e-5eb1c2d7'
    const run = await ws.run(['run', example('http.ts'), '--json'], { env: { DEMO_API_TOKEN: token } })
    expect(run.code, run.stderr).toBe(0)
    const doc = parseJson<RunDocument>(run.stdout)
    const nodes = byPath(doc)
    expect(Object.values(nodes).map(n => [n.path, n.status, n.attempts])).toEqual([
      ['api', 'succeeded', 0],
      ['api/health', 'succeeded', 1],
      ['api/settings', 'succeeded', 1],
      ['api/reports', 'succeeded', 0],
      ['api/reports/daily', 'succeeded', 2],
      ['api/reports/weekly', 'succeeded', 1],
      ['api/publish', 'succeeded', 1],
    ])
    const weekly = JSON.parse(artifactText(nodes['api/reports/weekly'], 'result'))
    expect(weekly).toMatchObject({ status: 200, body: { week: 'last', orders: 301 } })
    expect(weekly.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/reports\/weekly$/)
    expect(JSON.parse(artifactText(nodes['api/publish'], 'result'))).toMatchObject({ status: 201, body: { published: true, orders: 42 } })
    expect(artifactText(nodes['api/reports/daily'], 'stdout.attempt-1')).toBe('{"error":"busy, try again"}')
    expect(JSON.parse(artifactText(nodes['api/settings'], 'result'))).toEqual({ API_URL: null, TZ: null })
    // The token: not in the output, the artifacts, the run document or history.
    const show = await ws.run(['show', doc.id, '--json'])
    let everything = run.stdout + run.stderr + show.stdout
    for (const node of doc.nodes) for (const artifact of node.artifacts) everything += readFileSync(artifact.path, 'utf8')
    expect(everything).not.toContain(token)
  })

  it('retry: a timeout, then a failure, then success on the third attempt; every attempt kept', async () => {
    ws = await makeWorkspace(kind)
    const run = await ws.run(['run', example('retry.ts'), '--json'])
    expect(run.code, run.stderr).toBe(0)
    const flaky = byPath(parseJson<RunDocument>(run.stdout))['reset/flaky']!
    expect(flaky).toMatchObject({ status: 'succeeded', exitCode: 0, attempts: 3 })
    expect(artifactText(flaky, 'stdout')).toBe('attempt 3: 200 OK\n')
    expect(artifactText(flaky, 'stdout.attempt-1')).toBe('attempt 1: the service does not answer\n')
    expect(artifactText(flaky, 'stderr.attempt-2')).toBe('attempt 2: 503 Service Unavailable\n')
    // Progress shows the retries as they happen.
    expect(run.stderr).toMatch(/retry {2}reset\/flaky: attempt 1 failed \(timed out after 1000 ms\); next attempt in \d+ms/)
    expect(run.stderr).toMatch(/retry {2}reset\/flaky: attempt 2 failed \(exit code 1\)/)
    expect(run.stderr).toContain('start  reset/flaky (attempt 3/4)')

    const show = await ws.run(['show', flakyRunId(run.stdout)])
    expect(show.code).toBe(0)
    expect(show.stdout).toMatch(/flaky +succeeded {2}exit 0 {2}\S+ {2}3 attempts/)
    for (const file of ['stdout.log', 'attempt-1.stdout.log', 'attempt-2.stderr.log']) {
      expect(show.stdout).toContain(path.join('flaky', file))
    }
    expect(existsSync(path.join(ws.dir, '.wtflow', 'retry-demo.count'))).toBe(true)
    expect(statSync(path.join(ws.dir, '.wtflow', 'retry-demo.count')).size).toBeGreaterThan(0)
  })
})

function flakyRunId(stdout: string): string {
  return parseJson<RunDocument>(stdout).id
}
