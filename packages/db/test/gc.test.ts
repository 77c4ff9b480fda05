/** Retention (`collectGarbage`): whole runs, never a running one, newest N kept, orphans swept, safe to interrupt. */
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { HistoryDatabase } from '../src/index.js'
import { insertRuns, syntheticRun } from '../src/internal.js'
import { DIALECTS, type TestDatabase } from './helpers.js'

const DAY = 86_400_000

describe.each(DIALECTS)('gc: $label', dialect => {
  let t: TestDatabase & { dispose(): Promise<void> }
  let db: HistoryDatabase
  let artifactsDir: string

  beforeEach(async ctx => {
    if (dialect.skip) return ctx.skip()
    t = await dialect.create()
    db = t.db
    artifactsDir = path.join(t.dir, 'artifacts')
  })
  afterEach(async () => {
    await t?.dispose()
  })

  /** A finished run `daysAgo` old with its directory on disk. */
  async function seed(workflow: string, daysAgo: number, options: { failAt?: number } = {}) {
    const run = syntheticRun({ workflow, nodes: 5, startedAt: new Date(Date.now() - daysAgo * DAY), artifactsDir, ...options })
    await insertRuns(db, [run])
    for (const node of run.nodes) for (const artifact of node.artifacts) {
      await fs.mkdir(path.dirname(artifact.path), { recursive: true })
      await fs.writeFile(artifact.path, 'output')
    }
    return run
  }
  const ids = async () => (await db.db.selectFrom('runs').select('id').orderBy('started_at').execute()).map(r => r.id)

  it('deletes runs that ended before the cutoff, keeping the newest N of each workflow, and never a running one', async () => {
    const old1 = await seed('build', 40)
    const old2 = await seed('build', 35, { failAt: 2 })
    const old3 = await seed('build', 31)
    const deploy = await seed('deploy', 50)
    const fresh = await seed('build', 1)
    const running = await seed('build', 45)
    // Alive: recorded by a live process (our parent) with a fresh heartbeat.
    await db.db.updateTable('runs').set({ status: 'running', ended_at: null, heartbeat_at: Date.now(), pid: process.ppid, process_start: null }).where('id', '=', running.id).execute()

    const dry = await db.collectGarbage({ endedBefore: new Date(Date.now() - 30 * DAY), keepLast: 2, artifactsDir, dryRun: true })
    expect(dry.runs.map(r => r.id)).toEqual([old1.id, old2.id])
    const bytesOf = (run: typeof old1) => run.nodes.reduce((sum, node) => sum + node.artifacts.reduce((s, a) => s + a.size, 0), 0)
    expect(dry).toMatchObject({ dryRun: true, nodes: 10, bytes: bytesOf(old1) + bytesOf(old2), orphanDirs: [], failures: [] })
    expect(await ids()).toHaveLength(6)
    expect(existsSync(old1.runDir)).toBe(true)

    // Newest 2 of "build" (fresh, old3) are kept whatever their age; "deploy" has one run: kept.
    const done = await db.collectGarbage({ endedBefore: new Date(Date.now() - 30 * DAY), keepLast: 2, artifactsDir })
    expect(done.runs.map(r => r.id)).toEqual([old1.id, old2.id])
    expect(new Set(await ids())).toEqual(new Set([running.id, deploy.id, old3.id, fresh.id]))
    expect(existsSync(old1.runDir) || existsSync(old2.runDir)).toBe(false)
    expect(existsSync(running.runDir) && existsSync(old3.runDir)).toBe(true)
    expect(await db.db.selectFrom('nodes').select('run_id').where('run_id', '=', old1.id).execute()).toEqual([])
    expect(await db.db.selectFrom('artifacts').select('run_id').where('run_id', '=', old2.id).execute()).toEqual([])

    // --status: only the failed ones; keep-last alone deletes every older run but a running one.
    const failedOnly = await db.collectGarbage({ keepLast: 0, statuses: ['failed'], artifactsDir })
    expect(failedOnly.runs).toEqual([])
    const all = await db.collectGarbage({ keepLast: 0, artifactsDir })
    expect(all.runs.map(r => r.id).sort()).toEqual([deploy.id, old3.id, fresh.id].sort())
    expect(await ids()).toEqual([running.id])
    expect(existsSync(running.runDir)).toBe(true)
  })

  it('an interrupted gc (rows gone, directories left) is finished by the next; fresh unknown directories are left alone', async () => {
    const old = await seed('build', 40)
    // As if gc died between deleting the rows and the directories.
    await db.db.deleteFrom('runs').where('id', '=', old.id).execute()
    await fs.utimes(old.runDir, new Date(Date.now() - 40 * DAY), new Date(Date.now() - 40 * DAY))
    for (const node of old.nodes) for (const a of node.artifacts) await fs.utimes(a.path, new Date(Date.now() - 40 * DAY), new Date(Date.now() - 40 * DAY))
    for (const dir of await fs.readdir(old.runDir, { recursive: true })) await fs.utimes(path.join(old.runDir, dir), new Date(Date.now() - 40 * DAY), new Date(Date.now() - 40 * DAY))
    // A run that is starting: its directory exists a moment before its row.
    const starting = path.join(artifactsDir, crypto.randomUUID())
    await fs.mkdir(starting, { recursive: true })
    // Not a run directory at all.
    await fs.mkdir(path.join(artifactsDir, 'keep-me'), { recursive: true })

    const result = await db.collectGarbage({ endedBefore: new Date(Date.now() - 30 * DAY), artifactsDir })
    expect(result.runs).toEqual([])
    expect(result.orphanDirs).toEqual([old.runDir])
    expect(result.bytes).toBe(old.nodes.reduce((sum, node) => sum + node.artifacts.length * 'output'.length, 0))
    expect(existsSync(old.runDir)).toBe(false)
    expect(existsSync(starting) && existsSync(path.join(artifactsDir, 'keep-me'))).toBe(true)
    // And again: nothing left to do.
    expect(await db.collectGarbage({ endedBefore: new Date(Date.now() - 30 * DAY), artifactsDir })).toMatchObject({ runs: [], orphanDirs: [] })
  })

  it('the hourly retention pass is claimed by one caller at a time, across connections', async () => {
    const other = await t.open()
    const claims = await Promise.all([db.claimMaintenance('retention', 3_600_000), other.claimMaintenance('retention', 3_600_000)])
    expect(claims.filter(Boolean)).toHaveLength(1)
    expect(await db.claimMaintenance('retention', 3_600_000)).toBe(false)
    expect(await db.claimMaintenance('retention', 0)).toBe(true)
  })
})
