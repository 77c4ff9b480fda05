/** `wtflow cancel RUN_ID`: a run started in another process stops as for Ctrl-C and is recorded cancelled. */
import path from 'node:path'
import Database from 'better-sqlite3'
import type { RunDocument } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { FIXTURES, makeWorkspace, parseJson, STARTED_RUN, type Workspace } from '../helpers/cli.js'

const fixture = path.join(FIXTURES, 'tall.ts')

describe('wtflow cancel', () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('on this host: the run process gets SIGTERM (its start time checked), stops its processes and records cancelled', async () => {
    ws = await makeWorkspace('sqlite')
    const running = ws.start(['run', fixture])
    const runId = (await running.waitForStdout(STARTED_RUN))[1]!
    await running.waitForStdout(/start {2}ci\/tests\/unit-6/)
    const cancel = await ws.run(['cancel', runId.slice(0, 8)])
    expect(cancel.stderr).toBe('')
    expect(cancel.stdout).toBe(`cancelling run ${runId.slice(0, 8)} (tall): sent SIGTERM to its wtflow process, pid ${running.pid}\nrun ${runId.slice(0, 8)} cancelled\n`)
    expect(cancel.code).toBe(0)
    expect((await running.exited).code).toBe(130)
    const doc = parseJson<RunDocument>((await ws.run(['show', runId, '--json'])).stdout)
    expect(doc.status).toBe('cancelled')
    expect(doc.nodes.filter(node => node.path.startsWith('ci/tests/unit-')).map(node => node.status)).toEqual(Array(6).fill('cancelled'))

    const again = await ws.run(['cancel', runId])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/^wtflow: error: run [0-9a-f]{8} is not running: it ended cancelled at .*; there is nothing to cancel\.\n$/)
  })

  it('a run recorded by another host is cancelled through history: its process reads the request with its heartbeat', async () => {
    ws = await makeWorkspace('sqlite')
    const running = ws.start(['run', fixture])
    const runId = (await running.waitForStdout(STARTED_RUN))[1]!
    await running.waitForStdout(/start {2}ci\/tests\/unit-6/)
    // As if another machine recorded it: no signal can reach it from here.
    const db = new Database(ws.dbUrl.replace(/^sqlite:\/\//, ''))
    db.prepare('UPDATE runs SET host = ? WHERE id = ?').run('elsewhere', runId)
    db.close()
    const cancel = await ws.run(['cancel', runId])
    expect(cancel.stdout).toContain(`asked through history; its wtflow process (pid ${running.pid} on elsewhere) stops it within a few seconds\n`)
    expect(cancel.stdout).toContain(`run ${runId.slice(0, 8)} cancelled\n`)
    expect(cancel.code).toBe(0)
    const run = await running.exited
    expect(run.code).toBe(130)
    expect(run.stdout).toContain('cancel requested (wtflow cancel)')
  })
})
