/** Declarative flows through the CLI: the same engine and history as scripts, on each database. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { RunDocument, RunSummary } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { artifactText, byPath, DATABASES, ESC, example, makeWorkspace, parseJson, REPO_ROOT, type Workspace } from '../helpers/cli.js'

/** A run document without what differs between two runs of the same tree. */
function shape(doc: RunDocument): unknown {
  return { workflow: doc.workflow, status: doc.status, exitCode: doc.exitCode, nodes: doc.nodes.map(n => [n.path, n.status, n.exitCode, n.skipReason, n.artifacts.map(a => a.name)]) }
}

describe.each(DATABASES)('flow files on %s', kind => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('examples/ci.yaml runs as examples/ci.ts does, green and red', async () => {
    ws = await makeWorkspace(kind)
    const yaml = await ws.run(['run', example('ci.yaml'), '--json'])
    expect(yaml.stderr).not.toContain(ESC)
    expect(yaml.code, yaml.stderr).toBe(0)
    const script = await ws.run(['run', example('ci.ts'), '--json'])
    expect(script.code, script.stderr).toBe(0)
    const fromYaml = parseJson<RunDocument>(yaml.stdout)
    expect(shape(fromYaml)).toEqual(shape(parseJson<RunDocument>(script.stdout)))
    expect(artifactText(byPath(fromYaml)['ci/build'], 'app.js')).toBe('console.log("app")\n')

    const red = await ws.run(['run', example('ci.yaml')], { env: { CI_FAIL: 'test' } })
    expect(red.code, red.stderr).toBe(1)
    expect(red.stdout).toMatch(/✗ ci failed in .*: 3 succeeded, 1 failed, 1 skipped/)
    const [, runId] = /run ([0-9a-f-]{36})/.exec(red.stdout)!
    const failed = byPath(parseJson<RunDocument>((await ws.run(['show', runId!, '--json'])).stdout))
    expect(failed['ci/checks/test']).toMatchObject({ status: 'failed', exitCode: 1 })
    expect(failed['ci/checks/test/report']).toMatchObject({ status: 'succeeded' })
    expect(failed['ci/build']).toMatchObject({ status: 'skipped', skipReason: 'not started: "ci/checks/test" failed' })

    const runs = parseJson<RunSummary[]>((await ws.run(['runs', '--json'])).stdout)
    expect(runs.map(run => [run.workflow, run.status])).toEqual([
      ['ci', 'failed'],
      ['ci', 'succeeded'],
      ['ci', 'succeeded'],
    ])
  })

  it('examples/http.yaml against the demo API: a retry on 503, a POST of an upstream result, env read; the token never shows', async () => {
    ws = await makeWorkspace(kind)
    const token = 'tok-flow-e2e-91c4'
    const { startDemoApi } = (await import(pathToFileURL(example('demo-api.ts')).href)) as { startDemoApi(token: string): Promise<string> }
    const api = await startDemoApi(token)
    const run = await ws.run(['run', example('http.yaml'), '--input', `api=${api}`, '--json'], { env: { DEMO_API_TOKEN: token } })
    expect(run.code, run.stderr).toBe(0)
    const doc = parseJson<RunDocument>(run.stdout)
    const nodes = byPath(doc)
    expect(doc.nodes.map(n => [n.path, n.status, n.attempts])).toEqual([
      ['http', 'succeeded', 0],
      ['http/health', 'succeeded', 1],
      ['http/settings', 'succeeded', 1],
      ['http/daily', 'succeeded', 2],
      ['http/publish', 'succeeded', 1],
    ])
    expect(JSON.parse(artifactText(nodes['http/publish'], 'result'))).toMatchObject({ status: 201, body: { published: true, orders: 42 } })
    expect(JSON.parse(artifactText(nodes['http/settings'], 'result'))).toEqual({ TZ: null, DEMO_API_TOKEN: '***' })
    const show = await ws.run(['show', doc.id, '--json'])
    expect(run.stdout + run.stderr + show.stdout).not.toContain(token)

    const missing = await ws.run(['run', example('http.yaml')], { env: { DEMO_API_TOKEN: token } })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('input "api" is required and has no value: pass --input api=VALUE')
  })

  it('cache: a step whose key is unchanged is not run again (cached); a changed file or input runs it', async () => {
    ws = await makeWorkspace(kind)
    writeFileSync(path.join(ws.dir, 'input.txt'), 'one')
    writeFileSync(
      path.join(ws.dir, 'cached.yaml'),
      [
        'name: cached',
        'inputs:',
        '  target: { default: all }',
        'steps:',
        '  - name: build',
        '    run: echo built >> count.txt && cat input.txt > out.txt',
        '    artifacts: [out.txt]',
        '    cache: { files: [input.txt], key: "target=${{ inputs.target }}", ttl: 1d }',
        '',
      ].join('\n'),
    )
    const statusOf = async (args: string[]) => {
      const run = await ws.run(['run', 'cached.yaml', '--json', ...args])
      expect(run.code, run.stderr).toBe(0)
      return byPath(parseJson<RunDocument>(run.stdout))['cached/build']!.status
    }
    const count = () => readFileSync(path.join(ws.dir, 'count.txt'), 'utf8').trim().split('\n').length
    expect(await statusOf([])).toBe('succeeded')
    expect(await statusOf([])).toBe('cached')
    expect(count()).toBe(1)
    writeFileSync(path.join(ws.dir, 'input.txt'), 'two')
    expect(await statusOf([])).toBe('succeeded')
    expect(await statusOf(['--input', 'target=unit'])).toBe('succeeded')
    expect(await statusOf(['--input', 'target=unit'])).toBe('cached')
    expect(count()).toBe(3)
    // A hit restores the declared output file.
    writeFileSync(path.join(ws.dir, 'out.txt'), 'overwritten')
    expect(await statusOf(['--input', 'target=unit'])).toBe('cached')
    expect(readFileSync(path.join(ws.dir, 'out.txt'), 'utf8')).toBe('two')
  })

  it('--input reaches commands as text; hostile values run nothing', async () => {
    ws = await makeWorkspace(kind)
    const marker = path.join(ws.dir, 'pwned')
    writeFileSync(
      path.join(ws.dir, 'greet.yaml'),
      [
        'name: greet',
        'inputs:',
        '  who: { description: Whom to greet }',
        '  greeting: { default: hello }',
        'steps:',
        '  - name: shell',
        '    run: printf "%s|" ${{ inputs.greeting }} "${{ inputs.who }}"',
        '  - name: argv',
        '    run: [printf, "%s|", "${{ inputs.who }}"]',
        '',
      ].join('\n'),
    )
    const who = `"; touch ${marker} # $(touch ${marker})`
    const run = await ws.run(['run', 'greet.yaml', '--input', `who=${who}`, '--json'])
    expect(run.code, run.stderr).toBe(0)
    const nodes = byPath(parseJson<RunDocument>(run.stdout))
    expect(artifactText(nodes['greet/shell'], 'stdout')).toBe(`hello|${who}|`)
    expect(artifactText(nodes['greet/argv'], 'stdout')).toBe(`${who}|`)
    expect(existsSync(marker)).toBe(false)

    const missing = await ws.run(['run', 'greet.yaml'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('greet.yaml:3:3: inputs.who: input "who" is required and has no value: pass --input who=VALUE')
    const unknown = await ws.run(['run', 'greet.yaml', '--input', 'who=x', '--input', 'greting=hi'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('greet.yaml:2:1: inputs: --input greting: the flow has no input "greting" (did you mean greeting?)')
    const script = await ws.run(['run', example('ci.ts'), '--input', 'x=1'])
    expect(script).toMatchObject({ code: 2 })
    expect(script.stderr).toBe('wtflow: error: workflow "ci" has no input "x"; it declares none.\n')
  })

  it('func steps: TypeScript functions next to the flow file, results read by later steps', async () => {
    ws = await makeWorkspace(kind)
    writeFileSync(path.join(ws.dir, 'package.json'), '{ "type": "module" }\n')
    writeFileSync(
      path.join(ws.dir, 'tasks.ts'),
      'export function add(a: number, b: number): number {\n  return a + b\n}\nexport function twice(x: number, n: string): number {\n  console.log(`twice ${x} ${n}`)\n  return x * 2 + Number(n)\n}\n',
    )
    writeFileSync(
      path.join(ws.dir, 'sums.yaml'),
      [
        'name: sums',
        'inputs:',
        '  n: { default: "3" }',
        'steps:',
        '  - name: sum',
        '    func: { module: ./tasks.ts, export: add, args: [40, 2] }',
        '  - name: twice',
        '    func: { module: ./tasks.ts, export: twice, args: ["${{ steps.sum.result }}", "${{ inputs.n }}"] }',
        '  - name: show',
        '    run: echo "sum=${{ steps.sum.result }} twice=${{ steps.twice.result }}"',
        '',
      ].join('\n'),
    )
    const run = await ws.run(['run', 'sums.yaml', '--input', 'n=5', '--json'])
    expect(run.code, run.stderr).toBe(0)
    const nodes = byPath(parseJson<RunDocument>(run.stdout))
    expect(JSON.parse(artifactText(nodes['sums/sum'], 'result'))).toBe(42)
    expect(artifactText(nodes['sums/twice'], 'stdout')).toBe('twice 42 5\n')
    expect(artifactText(nodes['sums/show'], 'stdout')).toBe('sum=42 twice=89\n')
  })

  it('an invalid flow lists every problem with file:line:column, exits 2 and records nothing', async () => {
    ws = await makeWorkspace(kind)
    writeFileSync(
      path.join(ws.dir, 'broken.yaml'),
      ['name: broken', 'steps:', '  - name: a', '    run: echo ${{ inputs.day }}', '    retires: 2', '  - name: b', '    run: "true"', '    timeout: 10 minutes', ''].join('\n'),
    )
    const run = await ws.run(['run', 'broken.yaml'])
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(
      [
        'wtflow: error: broken.yaml is not a valid flow (3 problems; nothing was run):',
        '  broken.yaml:4:19: steps[0].run: inputs.day is not an input of this flow; declare it under inputs',
        '  broken.yaml:5:5: steps[0].retires: unknown key "retires" (did you mean retries?)',
        '  broken.yaml:8:14: steps[1].timeout: "10 minutes" is not a duration (try 10m)',
        '',
      ].join('\n'),
    )
    expect(parseJson<RunSummary[]>((await ws.run(['runs', '--json'])).stdout)).toEqual([])
  })

  it('list, --dry-run and schema', async () => {
    ws = await makeWorkspace(kind)
    const list = await ws.run(['list', example('ci.yaml'), '--json'])
    expect(list.code, list.stderr).toBe(0)
    expect(parseJson(list.stdout)).toEqual([{ name: 'ci', export: 'default', nodes: 7, root: 'ci', description: 'lint, typecheck and tests in parallel, then build', inputs: {} }])
    const http = await ws.run(['list', example('http.yaml'), '--json'])
    expect(parseJson<Array<{ inputs: unknown }>>(http.stdout)[0]!.inputs).toEqual({ api: { required: true, description: "The API's base URL (examples/demo-api.ts prints it)" } })

    const plan = await ws.run(['run', example('ci.yaml'), '--dry-run', '--json'])
    const scriptPlan = await ws.run(['run', example('ci.ts'), '--dry-run', '--json'])
    expect(plan.code, plan.stderr).toBe(0)
    expect(parseJson(plan.stdout)).toEqual(parseJson(scriptPlan.stdout))

    const schema = await ws.run(['schema'])
    expect(schema.code, schema.stderr).toBe(0)
    expect(parseJson(schema.stdout)).toEqual(parseJson(readFileSync(path.join(REPO_ROOT, 'packages', 'flow', 'schema.json'), 'utf8')))
  })
})
