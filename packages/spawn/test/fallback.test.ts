import { spawn } from 'node:child_process'
import { cpSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { tempDir, text } from './helpers.js'

const packageRoot = path.resolve(import.meta.dirname, '..')

/**
 * Runs a script against a copy of the sources with no addon built beside it (what a machine
 * without a compiler gets) and returns its exit code, stdout and stderr.
 */
async function withoutAddon(script: string, env: Record<string, string> = {}) {
  const dir = tempDir()
  cpSync(path.join(packageRoot, 'src'), path.join(dir, 'src'), { recursive: true })
  const file = path.join(dir, 'main.mts')
  writeFileSync(file, `import { spawnProcess, spawnBackend } from './src/index.ts'\n${script}`)
  const { WTFLOW_SPAWN: _, ...hostEnv } = process.env
  // Run from this package so that tsx is found in node_modules.
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: packageRoot, env: { ...hostEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const [stdout, stderr, code] = await Promise.all([text(child.stdout), text(child.stderr), new Promise(resolve => child.once('exit', resolve))])
  return { code, stdout, stderr }
}

const threeCommands = `
for (let i = 0; i < 3; i++) {
  const child = await spawnProcess({ file: 'echo run $0', shell: true, stderr: 'ignore' })
  for await (const chunk of child.stdout!) process.stdout.write(chunk)
  console.log(JSON.stringify(await child.exited), child.backend)
}
console.log(JSON.stringify(spawnBackend()))
`

describe('without the native addon', () => {
  it('falls back to child_process.spawn with a one-line notice, once', async () => {
    const { code, stdout, stderr } = await withoutAddon(threeCommands)
    expect(code).toBe(0)
    const lines = stdout.trim().split('\n')
    expect(lines.slice(0, 6)).toEqual(Array.from({ length: 3 }, () => ['run /bin/sh', '{"exitCode":0,"signal":null} node']).flat())
    expect(JSON.parse(lines[6]!)).toMatchObject({ name: 'node', reason: expect.stringContaining('wtflow_spawn.node') })
    expect(stderr).toMatch(/^wtflow: native spawn unavailable \(the addon is not built: no \/.*\/build\/Release\/wtflow_spawn\.node\); using child_process\.spawn, slower in a large process\. Build it with `npm rebuild @wtflow\/spawn` \(python3, make, a C compiler\); WTFLOW_SPAWN=node silences this\n$/)
  })

  it('WTFLOW_SPAWN=node: the fallback without a notice', async () => {
    const { code, stdout, stderr } = await withoutAddon(threeCommands, { WTFLOW_SPAWN: 'node' })
    expect(code).toBe(0)
    expect(stdout).toContain('{"exitCode":0,"signal":null} node')
    expect(stderr).toBe('')
  })

  it('WTFLOW_SPAWN=native: an error that says how to build it', async () => {
    const { code, stderr } = await withoutAddon(threeCommands, { WTFLOW_SPAWN: 'native' })
    expect(code).toBe(1)
    expect(stderr).toContain('SpawnSetupError: the native spawn path was asked for (WTFLOW_SPAWN=native')
    expect(stderr).toContain("code: 'WTFLOW_SPAWN_UNAVAILABLE'")
  })

  it('an unknown WTFLOW_SPAWN value is refused', async () => {
    const { code, stderr } = await withoutAddon(threeCommands, { WTFLOW_SPAWN: 'vfork' })
    expect(code).toBe(1)
    expect(stderr).toContain('WTFLOW_SPAWN=vfork is not a spawn backend; use native, node or auto (the default)')
    expect(stderr).toContain("code: 'WTFLOW_SPAWN_SETTING'")
  })
})
