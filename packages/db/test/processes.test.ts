import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { isPidAlive, type HistoryDatabase } from '../src/index.js'
import { insertRuns, syntheticRun } from '../src/internal.js'
import { DIALECTS, eventually, spawnFixture, withPg, type TestDatabase } from './helpers.js'

describe.each(DIALECTS)('crash detection and concurrent processes: $label', dialect => {
  let t: TestDatabase & { dispose(): Promise<void> }
  let db: HistoryDatabase
  const strays: number[] = []

  beforeEach(async ctx => {
    if (dialect.skip) return ctx.skip()
    t = await dialect.create()
    db = t.db
  })
  afterEach(async () => {
    for (const pid of strays.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
    await t?.dispose()
  })

  it('keeps a live run running when the reader’s wall clock jumps an hour ahead (its writer is known alive)', async () => {
    const child = spawnFixture('record-run.ts', [JSON.stringify({ target: t.target, options: t.options, dir: t.dir, mode: 'crash' })])
    await child.waitFor('SLEEPING ')
    const runId = /SLEEPING (\S+)/.exec(child.output().stdout)![1]!
    strays.push(Number(await eventually(async () => (await fs.readFile(path.join(t.dir, 'sleeper.pid'), 'utf8').catch(() => '')).trim() || undefined)))
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 })
    try {
      expect((await db.listRuns())[0]).toMatchObject({ id: runId, status: 'running' })
      expect((await db.getRun(runId)).status).toBe('running')
    } finally {
      vi.useRealTimers()
    }
    child.child.kill('SIGKILL')
    await child.exited
    expect((await db.getRun(runId)).status).toBe('crashed')
  })

  it('reports a run whose process was killed (SIGKILL) as crashed, with its unfinished nodes', async () => {
    const child = spawnFixture('record-run.ts', [JSON.stringify({ target: t.target, options: t.options, dir: t.dir, mode: 'crash' })])
    await child.waitFor('SLEEPING ')
    const runId = /SLEEPING (\S+)/.exec(child.output().stdout)![1]!
    const sleeper = Number(await eventually(async () => (await fs.readFile(path.join(t.dir, 'sleeper.pid'), 'utf8').catch(() => '')).trim() || undefined))
    strays.push(sleeper)

    // While the process lives, its run is running.
    expect((await db.getRun(runId)).status).toBe('running')
    child.child.kill('SIGKILL')
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' })

    const doc = await db.getRun(runId.slice(0, 10))
    expect(doc.status).toBe('crashed')
    expect(doc.exitCode).toBeNull()
    expect(doc.endedAt).not.toBeNull()
    expect(doc.nodes.map(n => [n.path, n.status])).toEqual([
      ['root', 'cancelled'],
      ['root/first', 'succeeded'],
      ['root/sleeper', 'cancelled'],
      ['root/after', 'skipped'],
    ])
    const info = await db.getRunInfo(runId)
    const died = `the wtflow process (pid ${info.pid} on ${os.hostname()}) died`
    expect(doc.nodes[2]!.error).toBe(`${died} while this node was running`)
    expect(doc.nodes[3]!.skipReason).toBe(`${died} before this node started`)
    expect(Date.parse(doc.endedAt!)).toBeGreaterThanOrEqual(Date.parse(doc.nodes[2]!.startedAt!))
    expect((await db.listRuns())[0]).toMatchObject({ id: runId, status: 'crashed' })
    expect(await db.listRuns({ status: 'running' })).toEqual([])
  })

  it('marks crashed on listRuns too, and only once', async () => {
    await insertRuns(db, [syntheticRun({ id: 'gone', nodes: 3 })])
    const dead = await deadPid()
    await db.db.updateTable('runs').set({ status: 'running', pid: dead, host: os.hostname(), heartbeat_at: Date.now() }).execute()
    await db.db.updateTable('nodes').set({ status: 'pending' }).where('path', '!=', 'root').execute()
    expect(await db.listRuns({ status: 'crashed' })).toMatchObject([{ id: 'gone', status: 'crashed' }])
    expect(await db.reapCrashedRuns()).toEqual([])
    expect((await db.getRun('gone')).nodes.map(n => n.status)).toEqual(['succeeded', 'skipped', 'skipped'])
  })

  it('uses the heartbeat for runs of other hosts and for reused pids', async () => {
    await insertRuns(db, [
      syntheticRun({ id: 'far-alive', nodes: 2 }),
      syntheticRun({ id: 'far-dead', nodes: 2 }),
      syntheticRun({ id: 'reused-pid', nodes: 2 }),
    ])
    const now = Date.now()
    await db.db.updateTable('runs').set({ status: 'running', host: 'elsewhere', pid: 1, heartbeat_at: now }).where('id', '=', 'far-alive').execute()
    await db.db.updateTable('runs').set({ status: 'running', host: 'elsewhere', pid: 1, heartbeat_at: now - 31_000 }).where('id', '=', 'far-dead').execute()
    // Our own pid, yet no recorder of this process writes it: an earlier process with this pid died.
    await db.db.updateTable('runs').set({ status: 'running', host: os.hostname(), pid: process.pid, heartbeat_at: now }).where('id', '=', 'reused-pid').execute()

    expect((await db.getRun('far-alive')).status).toBe('running')
    expect((await db.getRun('far-dead')).status).toBe('crashed')
    expect((await db.getRun('reused-pid')).status).toBe('crashed')
    const strict = await t.open({ staleAfterMs: 0, host: 'reader-host' })
    await eventually(async () => ((await strict.getRun('far-alive')).status === 'crashed' ? true : undefined))
  })

  it('lets several processes create and migrate a new database at the same moment', async () => {
    const schema = `${t.options.schema}_fresh`
    const fresh =
      t.target.kind === 'sqlite'
        ? { target: { kind: 'sqlite', path: path.join(t.dir, 'fresh', 'new.db') }, options: {} }
        : { target: t.target, options: { ...t.options, schema } }
    try {
      const children = Array.from({ length: 4 }, () => spawnFixture('open-only.ts', [JSON.stringify(fresh)]))
      const results = await Promise.all(children.map(async p => ({ exit: await p.exited, ...p.output() })))
      for (const result of results) expect(result, result.stderr).toMatchObject({ exit: { code: 0, signal: null }, stdout: 'OPENED []\n' })
    } finally {
      if (t.target.kind === 'postgres') await withPg(client => client.query(`drop schema if exists "${schema}" cascade`))
    }
  })

  it('lets two runs write and a reader read the same database at once, from separate processes', async () => {
    const writers = [0, 1].map(() =>
      spawnFixture('record-run.ts', [JSON.stringify({ target: t.target, options: t.options, dir: t.dir, mode: 'write', nodes: 60 })]),
    )
    const reader = spawnFixture('read-history.ts', [JSON.stringify({ target: t.target, options: t.options, runs: 2 })])
    const results = await Promise.all([...writers, reader].map(async p => ({ exit: await p.exited, ...p.output() })))
    for (const result of results) expect(result, result.stderr).toMatchObject({ exit: { code: 0, signal: null } })
    expect(results[2]!.stdout).toMatch(/READS [1-9]\d*/)

    const runs = await db.listRuns()
    expect(runs.map(r => r.status)).toEqual(['succeeded', 'succeeded'])
    for (const run of runs) {
      const doc = await db.getRun(run.id)
      expect(doc.nodes).toHaveLength(61)
      expect(doc.nodes.every(n => n.status === 'succeeded' && n.endedAt !== null)).toBe(true)
      expect(doc.nodes.slice(1).every(n => n.artifacts.some(a => a.name === 'stdout' && a.size === `${n.name}\n`.length))).toBe(true)
    }
  })
})

/** A pid that no process has right now: one of a child that exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise(resolve => child.on('exit', resolve))
  const pid = child.pid!
  expect(isPidAlive(pid)).toBe(false)
  return pid
}
