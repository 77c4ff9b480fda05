/**
 * Output while a run goes: the live tree in a real terminal (tmux, fixed size) keeps running
 * nodes visible and prints the whole final tree; --output-logs modes on a terminal and in CI logs.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ESC, FIXTURES, makeWorkspace, type Workspace } from '../helpers/cli.js'
import { startInTerminal, tmuxAvailable, type Terminal } from '../helpers/tmux.js'

const fixture = (name: string) => path.join(FIXTURES, name)
const UNITS = ['unit-1', 'unit-2', 'unit-3', 'unit-4', 'unit-5', 'unit-6']

describe('output while it runs', () => {
  let ws: Workspace
  let terminal: Terminal | undefined
  afterEach(async () => {
    terminal?.close()
    terminal = undefined
    await ws?.cleanup()
  })

  it.skipIf(!tmuxAvailable())('a tree taller than the terminal keeps every running node on screen, and the final tree is printed whole', async () => {
    ws = await makeWorkspace('sqlite')
    terminal = startInTerminal(['run', fixture('tall.ts')], { cwd: ws.dir, env: ws.env, columns: 80, rows: 15 })
    const running = await terminal.waitForScreen(lines => UNITS.every(unit => lines.some(line => line.includes(unit))), 'every unit-N on screen while they run')
    expect(running.length).toBe(15)
    // The finished build folded into one line; the deploy steps not started fold too.
    expect(running.some(line => /build .*\(\+10 nodes\)/.test(line))).toBe(true)
    expect(running.some(line => line.includes('step-1'))).toBe(false)

    await writeFile(path.join(ws.dir, 'gate'), '')
    await terminal.waitForScreen(lines => lines.some(line => line === 'EXIT=0'), 'the run to end')
    const history = terminal.history()
    // Every node of the final tree, in order, in the scrollback.
    const names = ['ci', 'build', ...Array.from({ length: 10 }, (_, i) => `step-${i + 1}`), 'tests', ...UNITS, 'deploy', ...Array.from({ length: 5 }, (_, i) => `region-${i + 1}`)]
    const finalTree = history.slice(history.lastIndexOf('tall'))
    const lines = history.split('\n')
    const last = lines.findLastIndex(line => /^✓ tall/.test(line))
    expect(last, history).toBeGreaterThan(-1)
    const tree = lines.slice(0, last).slice(-(names.length + 2)).join('\n')
    let at = 0
    for (const name of names) {
      const found = tree.indexOf(` ${name}`, at)
      expect(found, `${name} in the final tree:\n${tree}\n(history ends ${finalTree})`).toBeGreaterThan(-1)
      at = found
    }
  })

  it.skipIf(!tmuxAvailable())('on a terminal, errors (the default) prints a failed node\'s output when it ends; full prints every line with its path', async () => {
    ws = await makeWorkspace('sqlite')
    terminal = startInTerminal(['run', fixture('fail.ts')], { cwd: ws.dir, env: ws.env, columns: 100, rows: 30 })
    let screen = await terminal.waitForScreen(lines => lines.includes('EXIT=1'), 'the run to end')
    expect(screen).toContain('root/boom │ compiling…')
    expect(screen).toContain('root/boom │ fatal: giving up')
    expect(screen.some(line => line.includes('root/ok │'))).toBe(false)
    terminal.close()

    terminal = startInTerminal(['run', fixture('fail.ts'), '--output-logs', 'full'], { cwd: ws.dir, env: ws.env, columns: 100, rows: 30 })
    screen = await terminal.waitForScreen(lines => lines.includes('EXIT=1'), 'the run to end')
    expect(screen).toContain('root/ok │ fine')
    expect(screen).toContain('root/boom │ error 2')
  })

  it('not on a terminal: full (the default) prints each line as the node writes it, with the time and its path, no escape codes; grouped and none as asked', async () => {
    ws = await makeWorkspace('sqlite')
    const full = await ws.run(['run', fixture('fail.ts')])
    expect(full.stdout).not.toContain(ESC)
    expect(full.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} root\/ok \| fine$/m)
    expect(full.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} root\/boom \| compiling…\n(.*\n)*\d\d:\d\d:\d\d\.\d{3} FAILED root\/boom/m)

    const grouped = await ws.run(['run', fixture('fail.ts'), '--output-logs-grouped'])
    expect(grouped.stdout).toContain('::group::root/ok\nfine\n::endgroup::\n')
    expect(grouped.stdout).toContain('::group::root/boom (failed)\ncompiling…\nerror 1\nerror 2\nfatal: giving up\n::endgroup::\n')
    expect(full.stdout).not.toContain('::group::')

    const errors = await ws.run(['run', fixture('fail.ts'), '--output-logs', 'errors'])
    expect(errors.stdout).not.toContain('root/ok | fine')
    expect(errors.stdout).toMatch(/root\/boom \| error 1$/m)

    for (const none of [['--output-logs', 'none'], []]) {
      const quiet = await ws.run(['run', fixture('fail.ts'), ...none], { env: none.length === 0 ? { WTFLOW_OUTPUT_LOGS: 'none' } : {} })
      expect(quiet.stdout).not.toContain(' | ')
    }
    const bad = await ws.run(['run', fixture('fail.ts')], { env: { WTFLOW_OUTPUT_LOGS: 'loud' } })
    expect(bad).toMatchObject({ code: 2 })
    expect(bad.stderr).toContain('"loud" is not one of auto, full, errors, new, none')
  })
})
