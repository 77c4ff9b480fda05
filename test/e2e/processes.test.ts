/** Signals, crashes and following a running node: real process trees, no sleeps. */
import { spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { RunDocument, RunSummary } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_DATABASES, unavailable, ESC, FIXTURES, isRunning, makeWorkspace, parseJson, readPid, STARTED_RUN, waitFor, WTFLOW_BIN, type Workspace } from '../helpers/cli.js'

const fixture = (name: string) => path.join(FIXTURES, name)

for (const kind of ALL_DATABASES) describe.skipIf(unavailable(kind))(`processes on ${kind}`, () => {
  let ws: Workspace
  const leftovers: number[] = []
  afterEach(async () => {
    // Process groups a killed CLI could not clean up.
    for (const pgid of leftovers.splice(0)) {
      try {
        process.kill(-pgid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await ws?.cleanup()
  })

  async function runStatus(runId: string): Promise<RunDocument> {
    const show = await ws.run(['show', runId, '--json'])
    expect(show.code, show.stderr).toBe(0)
    return parseJson<RunDocument>(show.stdout)
  }

  it('Ctrl-C cancels: the command and its grandchild are gone, the run is cancelled, exit 130', async () => {
    ws = await makeWorkspace(kind)
    const cli = ws.start(['run', fixture('grandchild.ts')], { env: { PID_DIR: ws.dir } })
    const runId = (await cli.waitForStdout(STARTED_RUN))[1]!
    const child = await readPid(path.join(ws.dir, 'child.pid'))
    const grandchild = await readPid(path.join(ws.dir, 'grandchild.pid'))
    leftovers.push(child)
    expect(isRunning(child) && isRunning(grandchild)).toBe(true)

    cli.child.kill('SIGINT')
    const result = await cli.exited
    expect(result.code, result.stderr).toBe(130)
    expect(isRunning(child)).toBe(false)
    expect(isRunning(grandchild)).toBe(false)
    expect(result.stdout).toContain('note   Ctrl-C: cancelling, stopping every process… (Ctrl-C again to force)')
    expect(result.stdout).toMatch(/⊘ grandchild cancelled in \S+: 1 cancelled, 1 skipped/)

    const doc = await runStatus(runId)
    expect(doc).toMatchObject({ status: 'cancelled', exitCode: 130 })
    expect(doc.nodes.map(n => [n.path, n.status])).toEqual([
      ['wait', 'cancelled'],
      ['wait/never', 'skipped'],
    ])
    const runs = parseJson<RunSummary[]>((await ws.run(['runs', '--json'])).stdout)
    expect(runs[0]).toMatchObject({ id: runId, status: 'cancelled' })
  })

  it('a second Ctrl-C kills processes that ignore SIGTERM at once (exit 130)', async () => {
    ws = await makeWorkspace(kind)
    // With a minute of grace, only the forced kill can end this run quickly.
    const cli = ws.start(['run', fixture('stubborn.ts')], { env: { PID_DIR: ws.dir, WTFLOW_KILL_GRACE_MS: '60000' } })
    const runId = (await cli.waitForStdout(STARTED_RUN))[1]!
    const child = await readPid(path.join(ws.dir, 'child.pid'))
    const grandchild = await readPid(path.join(ws.dir, 'grandchild.pid'))
    leftovers.push(child)
    await waitFor(async () => (await ws.run(['runs', '--json'])).stdout.includes(runId), { what: 'the run to be recorded' })

    cli.child.kill('SIGINT')
    await cli.waitForStdout(/cancelling/)
    expect(isRunning(child) && isRunning(grandchild)).toBe(true)
    const forcedAt = Date.now()
    cli.child.kill('SIGINT')
    const result = await cli.exited
    expect(result.code, result.stderr).toBe(130)
    expect(Date.now() - forcedAt).toBeLessThan(20_000)
    expect(result.stdout).toContain('forced: killing every process')
    expect(isRunning(child)).toBe(false)
    expect(isRunning(grandchild)).toBe(false)
    expect((await runStatus(runId)).status).toBe('cancelled')
  })

  it('a CLI killed with SIGKILL leaves a run that history reports as crashed', async () => {
    ws = await makeWorkspace(kind)
    const cli = ws.start(['run', fixture('grandchild.ts')], { env: { PID_DIR: ws.dir } })
    const runId = (await cli.waitForStdout(STARTED_RUN))[1]!
    const child = await readPid(path.join(ws.dir, 'child.pid'))
    leftovers.push(child)
    await waitFor(
      async () => {
        const runs = parseJson<RunSummary[]>((await ws.run(['runs', '--json'])).stdout)
        return runs.some(r => r.id === runId && r.status === 'running')
      },
      { what: 'the run to be recorded as running' },
    )
    cli.child.kill('SIGKILL')
    expect((await cli.exited).signal).toBe('SIGKILL')

    const runs = parseJson<RunSummary[]>((await ws.run(['runs', '--json'])).stdout)
    expect(runs[0]).toMatchObject({ id: runId, status: 'crashed' })
    const doc = await runStatus(runId)
    expect(doc.status).toBe('crashed')
    expect(doc.nodes[0]).toMatchObject({ path: 'wait', status: 'cancelled' })
    expect(doc.nodes[0]!.error).toMatch(/died while this node was running/)
    const table = await ws.run(['runs'])
    expect(table.stdout).toMatch(new RegExp(`^${runId.slice(0, 8)} +grandchild +crashed `, 'm'))
  })

  it('logs --follow prints a running node’s output as it comes and stops when the node ends', async () => {
    ws = await makeWorkspace(kind)
    const stopFile = path.join(ws.dir, 'stop')
    const cli = ws.start(['run', fixture('stream.ts')], { env: { STOP_FILE: stopFile } })
    const runId = (await cli.waitForStdout(STARTED_RUN))[1]!
    await waitFor(async () => (await ws.run(['runs', '--json'])).stdout.includes(runId), { what: 'the run to be recorded' })

    const live = await runStatus(runId)
    expect(live).toMatchObject({ status: 'running', endedAt: null })
    expect(live.nodes[0]).toMatchObject({ path: 'tick', status: 'running' })

    const follow = ws.start(['logs', runId.slice(0, 8), 'tick', '--follow'])
    await follow.waitForStdout(/^line 3$/m)
    expect(follow.child.exitCode).toBeNull()
    await writeFile(stopFile, '')
    const followed = await follow.exited
    expect(followed.code, followed.stderr).toBe(0)
    const lines = followed.stdout.trimEnd().split('\n')
    expect(lines.at(-1)).toBe('done')
    expect(lines.slice(0, -1)).toEqual(lines.slice(0, -1).map((_, i) => `line ${i + 1}`))
    expect(lines.length).toBeGreaterThan(4)

    expect((await cli.exited).code).toBe(0)
    const again = await ws.run(['logs', runId, 'tick', '--follow'])
    expect(again).toMatchObject({ code: 0, stdout: followed.stdout })
  })
})

describe('on a terminal', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0

  it.skipIf(!hasScript)('run draws a live tree with ANSI redraws, then the summary', async () => {
    const ws = await makeWorkspace('sqlite')
    try {
      // util-linux `script` gives the CLI a pseudo-terminal.
      const command = `${WTFLOW_BIN} run ${path.join(FIXTURES, 'fail.ts')}`
      const result = spawnSync('script', ['-qefc', command, '/dev/null'], { cwd: ws.dir, env: { ...ws.env, COLUMNS: '100', LINES: '40', TERM: 'xterm' }, encoding: 'utf8' })
      expect(result.status).toBe(1)
      const out = result.stdout
      expect(out).toContain('\x1b[?25l') // cursor hidden while drawing
      expect(out).toContain('\x1b[?25h') // and shown again
      expect(out).toMatch(new RegExp(`${ESC}\\[\\d+A`)) // redrawn in place
      expect(out).toContain(`${ESC}[32m✓${ESC}[39m ok`)
      expect(out).toMatch(new RegExp(`${ESC}\\[31m✗${ESC}\\[39m boom .*exit code 3`))
      expect(out).toContain('full output: wtflow logs ')
    } finally {
      await ws.cleanup()
    }
  })
})
