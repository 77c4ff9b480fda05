/** A flow file builds the tree a TypeScript script builds: the same nodes, executables and options. */
import { fileURLToPath } from 'node:url'
import { Command, Engine, Func, loadConfig, Node, Workflow, type Node as AnyNode } from '@wtflow/core'
import { afterAll, describe, expect, it } from 'vitest'
import { loadFlow } from '../src/index.js'
import { workspace } from './helpers.js'
import type * as tasks from './fixtures/tasks.js'

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url))

/** Every node: path, executable kind and text, and its options (functions by their text). */
function dump(workflow: Workflow): unknown[] {
  const rows: unknown[] = []
  const visit = (node: AnyNode<unknown>, parent: string | null) => {
    const path = parent === null ? node.name : `${parent}/${node.name}`
    const { executable: _e, children: _c, when, ...options } = node.options
    const executable = node.executable === undefined ? null : { kind: node.executable.kind, display: node.executable.describe(), class: node.executable.constructor.name }
    const func = node.executable instanceof Func ? { args: node.executable.args, moduleUrl: node.executable.moduleUrl, exportName: node.executable.exportName } : null
    rows.push({ path, executable, func, options, when: when?.toString() ?? null })
    for (const child of node.children) visit(child, path)
  }
  visit(workflow.root, null)
  return [{ name: workflow.name, description: workflow.description }, ...rows]
}

function engine(): Engine {
  return new Engine({ config: loadConfig({ env: {}, overrides: { dbUrl: 'none' } }), handleSignals: false })
}

describe('the same tree as a script', () => {
  const ws = workspace()
  afterAll(() => ws.cleanup())

  it('examples/ci.yaml is examples/ci.ts', async () => {
    const script = (await import(`${EXAMPLES}ci.ts`)) as { default: Workflow }
    const flow = await loadFlow(`${EXAMPLES}ci.yaml`)
    expect(dump(flow.workflow)).toEqual(dump(script.default))
    expect(await engine().validate(flow.workflow)).toEqual(await engine().validate(script.default))
  })

  it('options, defaults, durations, environment and funcs, option for option', async () => {
    const file = ws.write(
      'options.yaml',
      `
name: options
description: every option
env: { STAGE: test, LEVEL: 3 }
defaults: { timeout: 10m, retries: 2, retryDelay: 500ms }
steps:
  - name: build
    run: [make, all]
    backoff: 1.5
    jitter: 0.2
    cwd: src
    env: { CC: clang, DEBUG: true }
    artifacts: [out/app.js]
    retries: 0
  - name: group
    parallel: true
    continueOnFailure: true
    steps:
      - name: sum
        func: { module: ./tasks.ts, export: add, args: [1, 2] }
        timeout: 1h30m
      - name: main
        func: { module: ./tasks.ts }
  - name: cleanup
    runIf: always
    run: rm -rf out
    timeout: 2500
`,
    )
    const module = `${ws.dir}/tasks.ts`
    const fns = (await import(module)) as typeof tasks
    const expected = new Workflow({
      name: 'options',
      description: 'every option',
      root: new Node({
        name: 'options',
        env: { STAGE: 'test', LEVEL: '3' },
        children: [
          new Node({
            name: 'build',
            executable: new Command(['make', 'all']),
            timeout: 600_000,
            retries: 0,
            retryDelay: 500,
            backoff: 1.5,
            jitter: 0.2,
            env: { CC: 'clang', DEBUG: 'true' },
            cwd: 'src',
            artifacts: ['out/app.js'],
          }),
          new Node({
            name: 'group',
            parallel: true,
            continueOnFailure: true,
            children: [
              new Node({ name: 'sum', executable: new Func(fns.add, { module, exportName: 'add', args: [1, 2] }), timeout: 5_400_000, retries: 2, retryDelay: 500 }),
              new Node({ name: 'main', executable: new Func(fns.default, { module, exportName: 'default' }), timeout: 600_000, retries: 2, retryDelay: 500 }),
            ],
          }),
          new Node({ name: 'cleanup', executable: new Command('rm -rf out'), runIf: 'always', timeout: 2500, retries: 2, retryDelay: 500 }),
        ],
      }),
    })
    const flow = await loadFlow(file)
    expect(dump(flow.workflow)).toEqual(dump(expected))
  })
})
