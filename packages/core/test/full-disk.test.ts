import { execFileSync } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Command, Engine, Node, Workflow, loadConfig } from '../src/index.js'

/** A small tmpfs of the test's own, where the machine lets us mount one (root in CI here). */
async function smallDisk(): Promise<string | null> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-core-full-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' })
    return dir
  } catch {
    await fs.rm(dir, { recursive: true, force: true })
    return null
  }
}

const disk = await smallDisk()
if (disk === null) console.warn('[@wtflow/core] the full-disk test is SKIPPED: mounting a tmpfs is not allowed here (it needs root)')

describe.skipIf(disk === null)('artifacts on a full disk', () => {
  it('a command that fails because the disk is full says why, not only "exit code 1"', async () => {
    const dir = disk!
    try {
      const config = loadConfig({ cwd: dir, env: {}, overrides: { artifactsDir: path.join(dir, 'artifacts'), dbUrl: 'none' } })
      const engine = new Engine({ config, handleSignals: false })
      // head writes 4 MB to its stdout file (1 MB disk): it fails, and says so on stderr, which cannot be stored either.
      const node = new Node({ name: 'fill', executable: new Command('head -c 4000000 /dev/zero') })
      const result = await engine.run(new Workflow({ name: 'full', root: node }))
      expect(result.nodes[0]).toMatchObject({ status: 'failed', exitCode: 1 })
      expect(result.nodes[0]!.error!.message).toMatch(/^exited with code 1; its output could not be stored: .*ENOSPC/)
    } finally {
      execFileSync('umount', ['-l', dir])
      await fs.rm(dir, { recursive: true, force: true })
    }
  })
})
