/** `logs` (attempts, artifacts, unwritten streams), `runs` (--all, --since, --json), repeated `-w`, import errors. */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { RunDocument, RunSummary } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_DATABASES, FIXTURES, makeWorkspace, parseJson, STARTED_RUN, unavailable, type Workspace } from '../helpers/cli.js'

const fixture = (name: string) => path.join(FIXTURES, name)

for (const kind of ALL_DATABASES) describe.skipIf(unavailable(kind))(`history commands on ${kind}`, () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('logs: a stream never written prints nothing (exit 0); --attempt N shows an earlier attempt; --artifact NAME a declared artifact', async () => {
    ws = await makeWorkspace(kind)
    const run = await ws.run(['run', fixture('attempts.ts')])
    expect(run.code).toBe(0)
    const runId = STARTED_RUN.exec(run.stdout)![1]!.slice(0, 8)

    expect(await ws.run(['logs', runId, 'root/quiet', '--stderr'])).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect(await ws.run(['logs', runId, 'root/flaky'])).toMatchObject({ code: 0, stdout: 'second try\n' })
    expect(await ws.run(['logs', runId, 'root/flaky', '--attempt', '1', '--stderr'])).toMatchObject({ code: 0, stdout: 'first try failed\n' })
    expect(await ws.run(['logs', runId, 'root/flaky', '--attempt', '1'])).toMatchObject({ code: 0, stdout: '' })
    expect(await ws.run(['logs', runId, 'root/flaky', '--attempt', '2'])).toMatchObject({ code: 0, stdout: 'second try\n' })
    const tooFar = await ws.run(['logs', runId, 'root/flaky', '--attempt', '3'])
    expect(tooFar).toMatchObject({ code: 2, stderr: `wtflow: error: "root/flaky" made 2 attempts in run ${runId}; --attempt takes 1…2.\n` })

    expect(await ws.run(['logs', runId, 'report', '--artifact', 'report.html'])).toMatchObject({ code: 0, stdout: '<h1>report</h1>\n' })
    const missing = await ws.run(['logs', runId, 'report', '--artifact', 'nope'])
    expect(missing).toMatchObject({ code: 2, stderr: `wtflow: error: "root/report" has no artifact "nope" in run ${runId}; its artifacts are "report.html".\n` })
  })

  it('runs: --json without --limit returns every run; the table shows 20 and says so; --all; --since', async () => {
    ws = await makeWorkspace(kind)
    // -w picks workflows in the order given; a workflow named twice runs once.
    const picked = await ws.run(['run', fixture('multi.ts'), '-w', 'second', '-w', 'first', '-w', 'second', '--json'])
    expect(picked.code).toBe(0)
    expect(parseJson<RunDocument[]>(picked.stdout).map(doc => doc.workflow)).toEqual(['second', 'first'])
    // 20 more runs in one process: a script exporting 20 one-node workflows.
    expect((await ws.run(['run', fixture('twenty.ts'), '--output-logs', 'none'])).code).toBe(0)

    const all = parseJson<RunSummary[]>((await ws.run(['runs', '--json'])).stdout)
    expect(all).toHaveLength(22)
    // Newest first: the twenty (in export order, w0…w19 sorted by name), then first, then second.
    expect(all.slice(-2).map(run => run.workflow)).toEqual(['first', 'second'])
    expect(parseJson<RunSummary[]>((await ws.run(['runs', '--json', '--limit', '3'])).stdout)).toHaveLength(3)
    const table = await ws.run(['runs'])
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(1 + 20 + 1)
    expect(table.stdout).toMatch(/the latest 20; --all \(or --limit N, --since 2d\) for more\n$/)
    expect((await ws.run(['runs', '--all'])).stdout.trimEnd().split('\n')).toHaveLength(1 + 22)
    expect(parseJson<RunSummary[]>((await ws.run(['runs', '--since', '1h', '--json'])).stdout)).toHaveLength(22)
    expect((await ws.run(['runs', '--since', '2999-01-01'])).stdout).toBe('no runs match these filters\n')
    expect(await ws.run(['runs', '--since', 'yesterday'])).toMatchObject({ code: 2 })
    expect((await ws.run(['runs', '--since', 'yesterday'])).stderr).toContain('expected an age such as 30m, 12h, 2d or 1w, or a date such as 2026-11-01.')
  })
})

describe('import-time errors', () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('a runtime error while importing is reported as such with the file:line, even a thrown non-Error', async () => {
    ws = await makeWorkspace('sqlite')
    await writeFile(path.join(ws.dir, 'package.json'), '{ "type": "module" }\n')
    await writeFile(path.join(ws.dir, 'parse.ts'), `import { Workflow } from '@wtflow/core'\n\nconst config: { a: number } = JSON.parse('{not json')\nexport default config\n`)
    const parse = await ws.run(['run', 'parse.ts'])
    expect(parse.code).toBe(2)
    expect(parse.stderr).toMatch(/^wtflow: error: importing parse\.ts threw SyntaxError: .*JSON.* \(at parse\.ts:3:\d+\)\. Workflow scripts must be import-safe/)
    expect(parse.stderr).not.toContain('syntax error')

    await writeFile(path.join(ws.dir, 'answer.ts'), `const answer: number = 42\n\nif (answer > 0) throw answer\n`)
    const answer = await ws.run(['run', 'answer.ts'])
    expect(answer).toMatchObject({ code: 2, stderr: 'wtflow: error: importing answer.ts threw 42 (at answer.ts:3:17). Workflow scripts must be import-safe: build objects at import, start nothing.\n' })
    await writeFile(path.join(ws.dir, 'plain.mjs'), `\nthrow 'no config'\n`)
    const plain = await ws.run(['run', 'plain.mjs'])
    expect(plain.stderr).toBe('wtflow: error: importing plain.mjs threw "no config" (at plain.mjs:2:1). Workflow scripts must be import-safe: build objects at import, start nothing.\n')
  })
})
