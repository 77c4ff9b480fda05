import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Command, Engine, Node, Workflow, loadConfig, type EngineEventMap, type EngineEventName } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { LiveDisplay, PlainDisplay, type RunDisplay } from '../src/display/display.js'
import { RunProgress } from '../src/display/progress.js'
import { stripAnsi, type Output, type Style } from '../src/terminal.js'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** An output that keeps what is written, sized like a terminal when `rows` is given. */
function recorder(options: { interactive: boolean; columns?: number; rows?: number }): Output & { text: () => string } {
  let written = ''
  const identity = (text: string) => text
  const plain: Style = { enabled: false, bold: identity, dim: identity, red: identity, green: identity, yellow: identity, cyan: identity }
  return {
    stream: { write: (text: string) => (written += text) } as unknown as NodeJS.WriteStream,
    interactive: options.interactive,
    style: plain,
    columns: options.columns ?? Infinity,
    rows: options.rows ?? Infinity,
    write: text => void (written += text),
    text: () => written,
  }
}

/** Runs a workflow with a display following it, as `wtflow run` does; resolves to the progress. */
async function runWith(display: RunDisplay, workflow: Workflow): Promise<RunProgress> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wtflow-cli-display-'))
  dirs.push(dir)
  const engine = new Engine({ config: loadConfig({ cwd: dir, env: {}, overrides: { dbUrl: 'none', artifactsDir: path.join(dir, 'artifacts') } }), handleSignals: false })
  let progress: RunProgress | null = null
  const on = <K extends EngineEventName>(name: K, listener: (event: EngineEventMap[K]) => void) => engine.on(name, listener)
  on('run:start', event => display.runStarted((progress = new RunProgress(event))))
  on('node:start', event => display.nodeStarted(progress!, progress!.nodeStarted(event)!))
  on('node:attempt', event => display.attemptEnded(progress!, progress!.attemptEnded(event)!))
  on('node:end', event => display.nodeEnded(progress!, progress!.nodeEnded(event)!))
  on('run:end', event => {
    progress!.result = event.result
    display.runEnded(progress!)
  })
  await engine.run(workflow)
  display.close()
  return progress!
}

function workflow(): Workflow {
  const flaky = new Node({ name: 'flaky', executable: new Command('exit 3'), retries: 1, retryDelay: 1 })
  const after = new Node({ name: 'after', executable: new Command('true'), children: [new Node({ name: 'deep', executable: new Command('true') })] })
  return new Workflow({ name: 'demo', root: new Node({ name: 'root', children: [new Node({ name: 'ok', executable: new Command('true') }), flaky, after] }) })
}

describe('run progress', () => {
  it('follows every node from the plan through its attempts to its end', async () => {
    const progress = await runWith(new PlainDisplay(recorder({ interactive: false })), workflow())
    expect(progress.nodes.map(node => [node.plan.path, node.status, node.attempt])).toEqual([
      ['root', 'failed', 0],
      ['root/ok', 'succeeded', 1],
      ['root/flaky', 'failed', 2],
      ['root/after', 'skipped', 0],
      ['root/after/deep', 'skipped', 0],
    ])
    expect(progress.parentOf(progress.nodes[4]!)?.plan.path).toBe('root/after')
    expect(progress.result?.status).toBe('failed')
  })
})

describe('plain display', () => {
  it('prints one timestamped line per event, a retry with its reason, and a skipped subtree once', async () => {
    const out = recorder({ interactive: false })
    const progress = await runWith(new PlainDisplay(out), workflow())
    const lines = out.text().trimEnd().split('\n')
    for (const line of lines) expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} /)
    // Durations vary: each is shown as T.
    expect(lines.map(line => line.slice(13).replace(/\b\d+(\.\d+)?(ms|s)\b/g, 'T'))).toEqual([
      `run    demo: started run ${progress.runId} (5 nodes)`,
      'start  root',
      'start  root/ok: true',
      'ok     root/ok (T)',
      'start  root/flaky: exit 3',
      'retry  root/flaky: attempt 1 failed (exit code 3); next attempt in T',
      'start  root/flaky (attempt 2/2): exit 3',
      'FAILED root/flaky: exit code 3 (T)',
      'skip   root/after: not started: "root/flaky" failed (and 1 node below)',
      'FAILED root: a node under it failed (T)',
      'end    demo: failed in T',
    ])
    expect(out.text()).not.toContain('\x1b')
  })
})

describe('live display', () => {
  it('draws the final tree with statuses and the run header, and never a line wider than the terminal', async () => {
    const out = recorder({ interactive: true, columns: 40, rows: 30 })
    await runWith(new LiveDisplay(out), workflow())
    // Each frame moves the cursor back up and rewrites its lines: the last frame is the last lines.
    const frames = stripAnsi(out.text()).split('\n').map(line => line.replace(/^\r/, ''))
    const last = frames.slice(-7, -1)
    expect(last[0]).toMatch(/^✗ demo {2}run [0-9a-f]{8} {2}\S+ {2}failed$/)
    expect(last.slice(1).map(line => line.replace(/\s+\S*\d(ms|s)\b.*$/, '').trimEnd())).toEqual([
      '✗ root',
      '├─ ✓ ok',
      '├─ ✗ flaky',
      '└─ - after    skipped',
      '   └─ - deep  skipped',
    ])
    for (const line of frames) expect([...line].length).toBeLessThanOrEqual(40)
  })
})
