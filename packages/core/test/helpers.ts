import { mkdtempSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, vi } from 'vitest'
import { loadConfig, type ConfigOverrides, type WtflowConfig } from '../src/index.js'

const created: string[] = []
afterEach(async () => {
  await Promise.all(created.splice(0).map(dir => rm(dir, { recursive: true, force: true })))
})

/** A fresh temp directory, removed after the test. */
export function tempDir(prefix = 'wtflow-core-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  created.push(dir)
  return dir
}

/** A config with artifacts in a temp dir and no INI file or environment influence. */
export function testConfig(overrides: ConfigOverrides = {}): WtflowConfig {
  const dir = tempDir()
  return loadConfig({ cwd: dir, env: {}, overrides: { artifactsDir: path.join(dir, 'artifacts'), dbUrl: 'none', killGraceMs: 1000, ...overrides } })
}

/**
 * True while a process runs. A zombie is dead: this machine's PID 1 does not reap orphans,
 * so a killed grandchild can linger as one.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** `vi.waitFor` until `check` returns a truthy value; the error names what was awaited. */
export function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  return vi.waitFor(
    async () => {
      const value = await check()
      if (!value) throw new Error(`timed out waiting for ${what}`)
      return value as NonNullable<T>
    },
    { timeout: timeoutMs, interval: 20 },
  )
}

/** Reads a file, or '' if it does not exist yet. */
export function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}
