/** `--log-format json`, and bad executables through the CLI (exit 2, nothing run). */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FIXTURES, makeWorkspace, type Workspace } from '../helpers/cli.js'

let ws: Workspace
afterEach(async () => {
  await ws?.cleanup()
})

interface LogLine {
  ts: string
  event: string
  runId: string | null
  path: string | null
  status: string | null
  [key: string]: unknown
}

describe('wtflow run --log-format json', () => {
  it('prints every lifecycle event as one JSON line on stderr, secrets masked, nothing else', async () => {
    ws = await makeWorkspace('sqlite')
    await writeFile(path.join(ws.dir, 'wtflow.ini'), '[secrets]\ntoken = hunter2\n')
    const run = await ws.run(['run', path.join(FIXTURES, 'json-log.ts'), '--log-format', 'json'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toBe('')
    expect(run.stderr).not.toContain('hunter2')
    const lines = run.stderr.trimEnd().split('\n').map(line => JSON.parse(line) as LogLine)
    for (const line of lines) {
      expect(Object.keys(line).slice(0, 5)).toEqual(['ts', 'event', 'runId', 'path', 'status'])
      expect(new Date(line.ts).toISOString()).toBe(line.ts)
    }
    expect(lines[0]).toMatchObject({ event: 'run:start', path: null, status: 'running', workflow: 'json-log', nodes: 5 })
    expect(lines.at(-1)).toMatchObject({ event: 'run:end', path: null, status: 'succeeded', exitCode: 0, counts: { succeeded: 2, tolerated: 1, skipped: 1 } })
    const runId = lines[0]!.runId
    expect(lines.every(line => line.runId === runId)).toBe(true)

    // Chunks as the artifact got them (the mask holds back what may start a secret).
    const output = lines.filter(line => line.event === 'node:output')
    expect(new Set(output.map(line => `${line.path} ${line.stream}`))).toEqual(new Set(['root/greet stdout']))
    expect(output.map(line => line.text).join('')).toBe('using *** é\n')
    const attempts = lines.filter(line => line.event === 'node:attempt' && line.path === 'root/flaky')
    expect(attempts.map(line => [line.attempt, line.status, line.retryInMs])).toEqual([
      [1, 'failed', 0],
      [2, 'succeeded', null],
    ])
    const ends = Object.fromEntries(lines.filter(line => line.event === 'node:end').map(line => [line.path, line]))
    expect(ends['root/fail']).toMatchObject({ status: 'failed', exitCode: 3, error: { code: 'WTFLOW_NODE_FAILED', message: 'exited with code 3' } })
    expect(ends['root/after-fail']).toMatchObject({ status: 'skipped', skipReason: '"root/fail" ended failed, and it is in after' })
    expect(ends['root/greet']).toMatchObject({ status: 'succeeded', kind: 'command', attempts: 1 })
    expect((ends['root/greet']!.artifacts as Array<{ name: string }>).map(a => a.name)).toEqual(['stdout'])
    // Starts come before ends, node by node.
    const order = lines.map(line => `${line.event} ${line.path ?? ''}`)
    expect(order.indexOf('node:start root/greet')).toBeLessThan(order.indexOf('node:end root/greet'))
    expect(order.indexOf('node:end root/greet')).toBeLessThan(order.indexOf('node:start root/flaky'))
  })

  it('refuses an unknown format (exit 2)', async () => {
    ws = await makeWorkspace('sqlite')
    const run = await ws.run(['run', path.join(FIXTURES, 'json-log.ts'), '--log-format', 'xml'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain("option '--log-format <format>' argument 'xml' is invalid. Allowed choices are text, json.")
  })
})

describe('bad executables through the CLI', () => {
  it.each([
    ['missing', 'root/notify: plugin "wtflow-plugin-nowhere" cannot be found from'],
    ['bad-url', 'root/fetch: Http: "http//example" is not a valid URL'],
    ['bad-options', 'root/query: plugin "sql": invalid options: query: '],
    ['no-plugin', 'root/notify: plugin "./plugins/not-a-plugin.ts" exports no plugin: its default export is a function'],
    ['throws', 'root/notify: plugin "notify" could not make its executable: channel is required (where to send the message)'],
  ])('%s: exit 2, the node path and the plugin named, nothing run', async (workflow, message) => {
    ws = await makeWorkspace('sqlite')
    const run = await ws.run(['run', path.join(FIXTURES, 'bad-plugins.ts'), '--workflow', workflow])
    expect(run.code, run.stderr).toBe(2)
    expect(run.stderr).toContain(`workflow "${workflow}" in`)
    expect(run.stderr).toContain(message)
    expect(run.stderr).not.toContain('hunter2')
    expect(existsSync(path.join(ws.dir, 'ran.marker'))).toBe(false)
  })
})

describe('wtflow run --dry-run', () => {
  it('masks what an Http node holds (its authorization header), as text and as JSON', async () => {
    ws = await makeWorkspace('sqlite')
    for (const args of [[], ['--json']]) {
      const run = await ws.run(['run', path.join(FIXTURES, 'bad-plugins.ts'), '--workflow', 'with-token', '--dry-run', ...args])
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout).toContain('http://127.0.0.1:9/x')
      expect(run.stdout + run.stderr).not.toContain('tok-dry-run-4242')
    }
  })
})
