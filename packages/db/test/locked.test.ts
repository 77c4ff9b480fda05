import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { attachRecorder, openDatabase } from '../src/index.js'
import { syntheticPlan, syntheticRun } from '../src/internal.js'
import { FakeEngine } from './helpers.js'

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url))

/** Another process that holds the SQLite write lock until its stdin closes. */
async function holdWriteLock(file: string) {
  const child = spawn(
    process.execPath,
    ['-e', `const d = new (require('better-sqlite3'))(process.argv[1]); d.exec('begin immediate'); process.stdout.write('locked\\n'); process.stdin.on('end', () => { d.exec('commit'); process.exit(0) }); process.stdin.resume()`, file],
    { cwd: PACKAGE_DIR, stdio: ['pipe', 'pipe', 'inherit'] },
  )
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve())
  })
  return { release: () => new Promise<void>(resolve => child.once('exit', () => resolve()).stdin.end()) }
}

describe('SQLite history locked by another process', () => {
  let dir: string
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('never freezes the event loop while a write waits for the lock, and writes once it is free', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-db-locked-'))
    const file = path.join(dir, 'history.db')
    const db = (await openDatabase({ kind: 'sqlite', path: file }))!
    const engine = new FakeEngine()
    let retries = 0
    const recorder = attachRecorder(engine, db, { batchDelayMs: 1, onRetry: () => retries++ })
    const run = syntheticRun({ nodes: 3 })
    const plan = await syntheticPlan(run)
    const lock = await holdWriteLock(file)
    const delay = monitorEventLoopDelay({ resolution: 10 })
    delay.enable()
    engine.fire('run:start', { runId: run.id, workflow: run.workflow, plan, startedAt: run.startedAt, runDir: run.runDir, config: {}, inputs: {}, mask: (text: string) => text })
    // The busy timeout is 5 s: a write that waited for the lock on the event loop's thread would
    // block it that long. Let the writer fail and retry a few times.
    const flushed = recorder.flush()
    await vi.waitFor(() => expect(retries).toBeGreaterThanOrEqual(4), { timeout: 30_000, interval: 10 })
    delay.disable()
    expect(delay.max / 1e6).toBeLessThan(1000)
    await lock.release()
    await flushed
    expect((await db.getRun(run.id)).status).toBe('running')
    engine.fire('run:end', { result: run })
    await recorder.close()
    expect((await db.getRun(run.id)).status).toBe(run.status)
    await db.close()
  })
})
