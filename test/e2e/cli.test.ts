/** The commands, their output, their exit codes and their errors. */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { RunDocument, RunSummary } from '@wtflow/core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ALL_DATABASES, unavailable, ESC, EXAMPLES, FIXTURES, makeWorkspace, parseJson, runCli, STARTED_RUN, type Workspace } from '../helpers/cli.js'

const fixture = (name: string) => path.join(FIXTURES, name)

describe('without a database', () => {
  let dir: string
  const env = () => ({ ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WTFLOW_') && k !== 'FORCE_COLOR')) } as Record<string, string>)
  const cli = (args: string[], extra: Record<string, string> = {}, cwd = dir) => runCli(args, cwd, { ...env(), ...extra })

  beforeAll(async () => {
    dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'wtflow-e2e-cli-')))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it.each([[[]], [['run']], [['list']], [['runs']], [['show']], [['logs']], [['resume']], [['gc']], [['cache', 'explain']], [['cache', 'clear']]])('%j --help shows usage with an example', async command => {
    const result = await cli([...command, '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^Usage: wtflow/)
    expect(result.stdout).toMatch(/Examples?:\n {2}\$ wtflow /)
    expect(result.stderr).toBe('')
  })

  it.each([
    [['bogus'], /unknown command 'bogus'/],
    [['run', '--bogus'], /unknown option '--bogus'/],
    [['runs', '--limit', '0'], /argument '0' is invalid/],
    [['runs', '--status', 'lost'], /Allowed choices are queued, running, succeeded, failed, cancelled, crashed/],
    [['show'], /missing required argument 'run-id'/],
    [[], /Usage: wtflow/],
  ])('usage error %j exits 2', async (args, message) => {
    const result = await cli(args)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stdout).toBe('')
  })

  it('a missing script is one paragraph that says what to do (exit 2)', async () => {
    const missingDefault = await cli(['run'])
    expect(missingDefault.code).toBe(2)
    expect(missingDefault.stderr).toBe(
      `wtflow: error: no wtfile.ts in ${dir}. Pass a workflow script (\`wtflow run path/to/flow.ts\`) or create wtfile.ts; examples/quickstart.ts is a good start.\n`,
    )
    const missing = await cli(['run', 'nope.ts'])
    expect(missing).toMatchObject({ code: 2, stdout: '' })
    expect(missing.stderr).toBe(`wtflow: error: workflow script nope.ts not found. Check the path (it is resolved from ${dir}).\n`)
  })

  it('a syntax error names the file, line and column, without a stack trace unless WTFLOW_DEBUG=1', async () => {
    await writeFile(path.join(dir, 'broken.ts'), `import { Workflow } from '@wtflow/core'\nconst x: number = = 1\n`)
    const result = await cli(['run', 'broken.ts'])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe('wtflow: error: broken.ts has a syntax error: broken.ts:2:18: Unexpected "=". Fix it and run again.\n')
    const debug = await cli(['run', 'broken.ts'], { WTFLOW_DEBUG: '1' })
    expect(debug.code).toBe(2)
    expect(debug.stderr).toMatch(/^wtflow: error: broken\.ts has a syntax error/)
    expect(debug.stderr).toMatch(/\n {4}at /)
  })

  it('a script that throws at import, or exports no workflow, is an error (exit 2)', async () => {
    await writeFile(path.join(dir, 'throws.mjs'), `throw new TypeError('no config found')\n`)
    const throws = await cli(['run', 'throws.mjs'])
    expect(throws.code).toBe(2)
    expect(throws.stderr).toMatch(/^wtflow: error: importing throws\.mjs threw TypeError: no config found \(at throws\.mjs:1:7\)\. Workflow scripts must be import-safe/)
    await writeFile(path.join(dir, 'empty.mjs'), `export const answer = 42\n`)
    const empty = await cli(['run', 'empty.mjs'])
    expect(empty.code).toBe(2)
    expect(empty.stderr).toMatch(/^wtflow: error: empty\.mjs exports no Workflow\. Export one/)
  })

  it('an unknown workflow lists the ones the script has (exit 2)', async () => {
    const result = await cli(['run', fixture('multi.ts'), '--workflow', 'third'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('has no workflow named "third"; it has "first", "second".')
  })

  it('a configuration error names the key and where it came from (exit 2)', async () => {
    const fromEnv = await cli(['run', fixture('one.ts')], { WTFLOW_MAX_PARALLEL: 'lots' })
    expect(fromEnv.code).toBe(2)
    expect(fromEnv.stderr).toBe(
      'wtflow: error: configuration error: run.max_parallel (from environment variable WTFLOW_MAX_PARALLEL): "lots" is not an integer >= 1.\n',
    )
    const ini = path.join(dir, 'bad.ini')
    await writeFile(ini, '[run]\nignore_failure = maybe\n')
    const fromIni = await cli(['run', fixture('one.ts'), '--config', ini])
    expect(fromIni.code).toBe(2)
    expect(fromIni.stderr).toContain(`run.ignore_failure (from ${ini}:2): "maybe" is not a boolean`)
  })

  it('an unreachable database is an error that hides the password (exit 2)', async () => {
    const result = await cli(['run', fixture('one.ts')], { WTFLOW_DB_URL: 'postgres://app:s3cret@127.0.0.1:9/history' })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('cannot connect to PostgreSQL at postgres://app:***@127.0.0.1:9/history')
    expect(result.stderr).toContain('WTFLOW_DB_URL=none')
    expect(result.stderr).not.toContain('s3cret')
    expect(result.stderr.split('\n').length).toBe(2)
  })

  it('with tracking off (WTFLOW_DB_URL=none) a run works and history commands say how to turn it on', async () => {
    const run = await cli(['run', fixture('one.ts'), '--json'], { WTFLOW_DB_URL: 'none' })
    expect(run.code, run.stderr).toBe(0)
    const doc = parseJson<RunDocument>(run.stdout)
    expect(doc).toMatchObject({ workflow: 'one', status: 'succeeded' })
    expect(readFileSync(doc.nodes[0]!.artifacts[0]!.path, 'utf8')).toBe('hello\n')
    expect(existsSync(path.join(dir, '.wtflow', 'wtflow.db'))).toBe(false)
    const runs = await cli(['runs'], { WTFLOW_DB_URL: 'none' })
    expect(runs.code).toBe(2)
    expect(runs.stderr).toMatch(/run history is off \(database\.url is "none", from environment variable WTFLOW_DB_URL\)/)
  })

  it('list shows the workflows of a script', async () => {
    const result = await cli(['list', fixture('multi.ts')])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/multi\.ts: 2 workflows\n {2}first +1 node +export first\n {2}second +1 node +export second\n/)
    const json = await cli(['list', fixture('multi.ts'), '--json'])
    expect(parseJson(json.stdout)).toEqual([
      { name: 'first', export: 'first', nodes: 1, root: 'a', description: null, inputs: {} },
      { name: 'second', export: 'second', nodes: 1, root: 'b', description: null, inputs: {} },
    ])
  })

  it('--dry-run prints the tree with executables and options, and runs nothing', async () => {
    const fresh = await mkdtemp(path.join(dir, 'dry-'))
    const result = await cli(['run', path.join(EXAMPLES, 'ci.ts'), '--dry-run'], {}, fresh)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^ci \(7 nodes, from .*ci\.ts\) {2}lint, typecheck and tests in parallel, then build\n/)
    expect(result.stdout).toContain('ci  group  [children in sequence]\n')
    expect(result.stdout).toContain('├─ checks  group  [children in parallel]\n')
    expect(result.stdout).toMatch(/│ {2}└─ test {2}command: if .* \[children in sequence, timeout 1m00s\]\n/)
    expect(result.stdout).toMatch(/│ {5}└─ report {2}command: echo .* \[runs if the parent fails\]\n/)
    expect(result.stdout).toMatch(/└─ build {2}command: .* \[artifacts \.wtflow\/ci-build\/app\.js\]\n/)
    expect(existsSync(path.join(fresh, '.wtflow'))).toBe(false)

    const retry = await cli(['run', path.join(EXAMPLES, 'retry.ts'), '--dry-run', '--json'], {}, fresh)
    expect(retry.code).toBe(0)
    const plan = parseJson<{ workflow: string; nodes: Array<{ path: string; options: object }> }>(retry.stdout)
    expect(plan.nodes[1]).toMatchObject({ path: 'reset/flaky', kind: 'command', options: { timeout: 1000, retries: 3, retryDelay: 200, backoff: 2, jitter: 0.25 } })
    expect(existsSync(path.join(fresh, '.wtflow'))).toBe(false)
  })
})

for (const kind of ALL_DATABASES) describe.skipIf(unavailable(kind))(`commands on ${kind}`, () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('a validation error runs nothing and records nothing (exit 2)', async () => {
    ws = await makeWorkspace(kind)
    const result = await ws.run(['run', fixture('invalid.ts')])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      `wtflow: error: workflow "invalid" in ${fixture('invalid.ts')} is invalid: root/twin: duplicate name: "root" already has a child named "twin". Fix it; nothing was run.\n`,
    )
    expect(existsSync(path.join(ws.dir, 'ran.txt'))).toBe(false)
    const runs = await ws.run(['runs', '--json'])
    expect(parseJson(runs.stdout)).toEqual([])
  })

  it('a failed node: exit 1, a summary with its stderr tail and the logs command; --json stays pure', async () => {
    ws = await makeWorkspace(kind)
    const plain = await ws.run(['run', fixture('fail.ts')])
    expect(plain.code).toBe(1)
    expect(plain.stdout).not.toContain(ESC)
    expect(plain.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} run {4}fail: started run [0-9a-f-]{36} \(4 nodes\)$/m)
    expect(plain.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} FAILED root\/boom: exit code 3 \(\d+ms\)$/m)
    expect(plain.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} skip {3}root\/after: not started: "root\/boom" failed$/m)
    const runId = STARTED_RUN.exec(plain.stdout)![1]!
    expect(plain.stdout.slice(plain.stdout.indexOf('✗ fail failed'))).toMatch(
      new RegExp(
        [
          `^✗ fail failed in \\S+: 1 succeeded, 1 failed, 1 skipped`,
          ` {2}run ${runId} {2}· {2}details: wtflow show ${runId.slice(0, 8)}`,
          ``,
          `✗ root/boom: exit code 3`,
          ` {2}last lines of stderr:`,
          ` {2}│ error 1`,
          ` {2}│ error 2`,
          ` {2}│ fatal: giving up`,
          ` {2}full output: wtflow logs ${runId.slice(0, 8)} root/boom --stderr`,
          ``,
        ].join('\n'),
      ),
    )
    const logs = await ws.run(['logs', runId.slice(0, 8), 'root/boom', '--stderr'])
    expect(logs).toMatchObject({ code: 0, stdout: 'error 1\nerror 2\nfatal: giving up\n' })

    const json = await ws.run(['run', fixture('fail.ts'), '--json'])
    expect(json.code).toBe(1)
    const doc = parseJson<RunDocument>(json.stdout)
    expect(doc).toMatchObject({ workflow: 'fail', status: 'failed', exitCode: 1 })
    expect(doc.nodes.map(n => [n.path, n.status, n.exitCode, n.error])).toEqual([
      ['root', 'failed', null, null],
      ['root/ok', 'succeeded', 0, null],
      ['root/boom', 'failed', 3, 'exited with code 3'],
      ['root/after', 'skipped', null, null],
    ])
    expect(json.stderr).toContain('FAILED root/boom: exit code 3')
    expect(json.stderr).not.toContain(ESC)
  })

  it('several workflows: one run each, an array with --json; --workflow picks one', async () => {
    ws = await makeWorkspace(kind)
    const all = await ws.run(['run', fixture('multi.ts'), '--json'])
    expect(all.code, all.stderr).toBe(0)
    const docs = parseJson<RunDocument[]>(all.stdout)
    expect(docs.map(d => [d.workflow, d.status])).toEqual([
      ['first', 'succeeded'],
      ['second', 'succeeded'],
    ])
    const one = await ws.run(['run', fixture('multi.ts'), '--workflow', 'second', '--json'])
    expect(parseJson<RunDocument>(one.stdout)).toMatchObject({ workflow: 'second', status: 'succeeded' })
  })

  it('a second run of the same workflow gets its own id and artifacts; runs filters and orders them', async () => {
    ws = await makeWorkspace(kind)
    const first = parseJson<RunDocument>((await ws.run(['run', fixture('one.ts'), '--json'])).stdout)
    const second = parseJson<RunDocument>((await ws.run(['run', fixture('one.ts'), '--json'])).stdout)
    const failed = parseJson<RunDocument>((await ws.run(['run', fixture('fail.ts'), '--json'])).stdout)
    expect(new Set([first.id, second.id, failed.id]).size).toBe(3)
    expect(first.nodes[0]!.artifacts[0]!.path).not.toBe(second.nodes[0]!.artifacts[0]!.path)
    expect(readdirSync(path.join(ws.dir, '.wtflow', 'artifacts')).sort()).toEqual([first.id, second.id, failed.id].sort())

    const all = parseJson<RunSummary[]>((await ws.run(['runs', '--json'])).stdout)
    expect(all.map(r => r.id)).toEqual([failed.id, second.id, first.id])
    expect(all[1]).toEqual({
      id: second.id,
      workflow: 'one',
      status: 'succeeded',
      startedAt: second.startedAt,
      endedAt: second.endedAt,
      durationMs: Date.parse(second.endedAt!) - Date.parse(second.startedAt),
    })
    const ones = parseJson<RunSummary[]>((await ws.run(['runs', '--workflow', 'one', '--json'])).stdout)
    expect(ones.map(r => r.id)).toEqual([second.id, first.id])
    const failures = parseJson<RunSummary[]>((await ws.run(['runs', '--status', 'failed', '--json'])).stdout)
    expect(failures.map(r => r.id)).toEqual([failed.id])
    const latest = parseJson<RunSummary[]>((await ws.run(['runs', '--limit', '1', '--json'])).stdout)
    expect(latest.map(r => r.id)).toEqual([failed.id])

    const table = await ws.run(['runs'])
    expect(table.code).toBe(0)
    expect(table.stdout.split('\n')[0]).toMatch(/^ID +WORKFLOW +STATUS +STARTED +DURATION$/)
    expect(table.stdout).toMatch(new RegExp(`^${failed.id.slice(0, 8)} +fail +failed +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +\\S+$`, 'm'))
    expect(table.stdout).not.toContain(ESC)

    const show = await ws.run(['show', failed.id.slice(0, 5)])
    expect(show.code).toBe(0)
    expect(show.stdout).toMatch(new RegExp(`^✗ fail {2}failed \\(exit code 1\\) {2}run ${failed.id}\n`))
    expect(show.stdout).toMatch(/^├─ ✗ boom +failed {2}exit 3 {2}\S+ {2}echo 'compiling…'; .*\n│ {5}exited with code 3\n/m)
    expect(show.stdout).toMatch(/^└─ - after +skipped {2}echo never\n {6}not started: "root\/boom" failed\n/m)
    expect(show.stdout).toContain(path.join(ws.dir, '.wtflow', 'artifacts', failed.id, 'root', 'boom', 'stderr.log'))
  })

  it('unknown run ids and node paths are errors that say what exists (exit 2)', async () => {
    ws = await makeWorkspace(kind)
    const doc = parseJson<RunDocument>((await ws.run(['run', fixture('fail.ts'), '--json'])).stdout)
    const noRun = await ws.run(['show', 'ffffffff-nope'])
    expect(noRun).toMatchObject({ code: 2, stdout: '' })
    expect(noRun.stderr).toBe('wtflow: error: no run with id "ffffffff-nope"; `wtflow runs` lists the recorded runs.\n')
    const noNode = await ws.run(['logs', doc.id, 'root/nope'])
    expect(noNode.code).toBe(2)
    expect(noNode.stderr).toContain(`run ${doc.id.slice(0, 8)} has no node "root/nope"; its nodes are "root", "root/ok", "root/boom", "root/after".`)
    const skipped = await ws.run(['logs', doc.id, 'after'])
    expect(skipped.code).toBe(1)
    expect(skipped.stderr).toContain('"root/after" was skipped (not started: "root/boom" failed), so it has no output.')
  })
})
