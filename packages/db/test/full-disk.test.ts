import { execFileSync } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Command, Engine, Node, Workflow, loadConfig, toRunDocument } from '@wtflow/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { attachRecorder, openDatabase } from '../src/index.js'

/** A small tmpfs of the test's own, where the machine lets us mount one (root in CI here). */
async function smallDisk(): Promise<string | null> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-db-full-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'ignore' })
    return dir
  } catch {
    await fs.rm(dir, { recursive: true, force: true })
    return null
  }
}

const disk = await smallDisk()
if (disk === null) console.warn('[@wtflow/db] the full-disk test is SKIPPED: mounting a tmpfs is not allowed here (it needs root)')

describe.skipIf(disk === null)('SQLite history on a full disk', () => {
  const work: string[] = []
  afterEach(async () => {
    for (const dir of work.splice(0)) await fs.rm(dir, { recursive: true, force: true })
  })

  it('keeps the events while the disk is full, writes them once there is room, and records the truth', async () => {
    const dir = disk!
    const artifactsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-db-full-artifacts-'))
    work.push(artifactsDir)
    try {
      const db = (await openDatabase({ kind: 'sqlite', path: path.join(dir, 'history.db') }))!
      let retries = 0
      const config = loadConfig({ cwd: artifactsDir, env: {}, overrides: { artifactsDir, dbUrl: 'none' } })
      const engine = new Engine({ config, handleSignals: false })
      const recorder = attachRecorder(engine, db, { batchDelayMs: 1, onRetry: () => retries++ })
      // Fill the disk once the run's row is written; make room again once writes have failed a few times.
      const filler = path.join(dir, 'filler')
      const gate = path.join(artifactsDir, 'gate')
      engine.on('node:start', event => {
        if (event.path !== 'root/second') return
        void recorder.flush().then(async () => {
          await fs.writeFile(filler, Buffer.alloc(3 * 1024 * 1024)).catch(() => {})
          await fs.writeFile(path.join(dir, 'more'), Buffer.alloc(4 * 1024 * 1024)).catch(() => {})
          await fs.writeFile(gate, '')
        })
      })
      const workflow = new Workflow({
        name: 'full',
        root: new Node({
          name: 'root',
          children: [
            new Node({ name: 'first', executable: new Command(['true']) }),
            new Node({ name: 'second', executable: new Command(`while [ ! -e "${gate}" ]; do sleep 0.02; done`) }),
            new Node({ name: 'third', executable: new Command(['true']) }),
          ],
        }),
      })
      const result = await engine.run(workflow)
      await vi.waitFor(() => expect(retries).toBeGreaterThanOrEqual(3), { timeout: 30_000, interval: 20 })
      await fs.rm(filler, { force: true })
      await fs.rm(path.join(dir, 'more'), { force: true })
      await recorder.close()
      expect(result.status).toBe('succeeded')
      expect(await db.getRun(result.id)).toEqual(toRunDocument(result))
      await db.close()
    } finally {
      execFileSync('umount', ['-l', dir])
      await fs.rm(dir, { recursive: true, force: true })
    }
  })
})
