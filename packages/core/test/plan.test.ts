import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import {
  Command,
  Engine,
  Executable,
  Func,
  Node,
  ValidationError,
  Workflow,
  isExecutable,
  isRef,
  isWtflowError,
  planFromDocument,
  type ExecutableCapabilities,
  type ExecutableSpec,
  type ExecutionContext,
  type ExecutionOutcome,
} from '../src/index.js'
import * as core from '../src/index.js'
import { funcOf, measure, planWorkflow, show } from './fixtures/func/plan-steps.js'
import { tempDir, testConfig } from './helpers.js'

function engine(): Engine {
  return new Engine({ config: testConfig(), handleSignals: false })
}

describe('the run plan', () => {
  it('resolves every option, orders nodes parents first, and lists each node’s dependencies', async () => {
    const plan = await engine().validate(planWorkflow())
    expect(plan.nodes.map(node => [node.ordinal, node.path, node.kind, node.parent?.ordinal ?? null])).toEqual([
      [0, 'root', 'group', null],
      [1, 'root/produce', 'command', 0],
      [2, 'root/checks', 'group', 0],
      [3, 'root/checks/size', 'func', 2],
      [4, 'root/checks/copy', 'command', 2],
      [5, 'root/summary', 'func', 0],
      [6, 'root/on-failure', 'command', 0],
    ])
    const size = plan.nodeAt('root/checks/size')!
    expect([size.attempts, size.retryDelay, size.backoff, size.jitter, size.timeout]).toEqual([3, 10, 3, 0.5, null])
    // Defaults are resolved in the plan, and only there.
    expect([plan.root.attempts, plan.root.retryDelay, plan.root.backoff, plan.root.jitter]).toEqual([1, 1000, 2, 0])
    expect(plan.nodeAt('root/summary')!.dependencies.map(node => node.path)).toEqual(['root/checks/size', 'root/produce'])
    expect(plan.nodeAt('root/checks/copy')!.dependencies.map(node => node.path)).toEqual(['root/produce'])
    expect(plan.nodeDigest(size)).toMatch(/^[0-9a-f]{64}$/)
  })

  it('round-trips through JSON: the same document, digests and node digests, and the rebuilt plan runs', async () => {
    const plan = await engine().validate(planWorkflow())
    const document = JSON.parse(JSON.stringify(plan.toJSON()))
    expect(document.nodes[3]).toEqual({
      ordinal: 3,
      path: 'root/checks/size',
      name: 'size',
      parent: 'root/checks',
      kind: 'func',
      display: 'measure',
      options: { parallel: false, runIf: 'success', timeout: null, retries: 2, retryDelay: 10, backoff: 3, jitter: 0.5, continueOnFailure: false, when: null, env: null, cwd: null, artifacts: [], after: [] },
      dependencies: [],
      executable: { uses: 'func', with: { module: pathToFileURL(path.resolve('test/fixtures/func/plan-steps.ts')).href, export: 'measure', args: ['abc', 2] } },
      digest: plan.nodeDigest(plan.nodes[3]!),
    })
    expect(document.nodes[5].executable.with.args).toEqual([{ $ref: 'result', node: 'root/checks/size' }, { $ref: 'artifact', node: 'root/produce', name: 'stdout' }])

    const rebuilt = await planFromDocument(document)
    expect(rebuilt.toJSON()).toEqual(plan.toJSON())
    expect(rebuilt.digest).toBe(plan.digest)
    const result = await engine().run(rebuilt)
    expect(result.status).toBe('succeeded')
    expect(result.nodes.map(node => node.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'skipped'])
  })

  it('changes a node’s digest, and only its own, when its function’s source changes', async () => {
    const first = await engine().validate(new Workflow({ name: 'w', root: new Node({ name: 'root', children: [new Node({ name: 'a', executable: funcOf(measure, ['x', 1]) })] }) }))
    // The same export name, another body: what a changed script looks like to a resumed run.
    const changed = Func.fromExport(pathToFileURL(path.resolve('test/fixtures/func/plan-steps.ts')).href, 'summarize', { args: [1, 'x'] })
    const second = await engine().validate(new Workflow({ name: 'w', root: new Node({ name: 'root', children: [new Node({ name: 'a', executable: changed })] }) }))
    expect(second.nodeDigest(second.nodes[1]!)).not.toBe(first.nodeDigest(first.nodes[1]!))
    expect(second.nodeDigest(second.root)).toBe(first.nodeDigest(first.root))
  })

  it('cannot rebuild a when() predicate from its source text, and says what to do', async () => {
    const plan = await engine().validate(new Workflow({ name: 'w', root: new Node({ name: 'root', executable: new Command('true'), when: () => true }) }))
    await expect(planFromDocument(plan.toJSON())).rejects.toThrow(
      new ValidationError('root', 'has a when() predicate, which cannot be rebuilt from a plan document; load the workflow from its script instead'),
    )
  })

  it('says which executable it cannot rebuild', async () => {
    const plan = await engine().validate(new Workflow({ name: 'w', root: new Node({ name: 'root', executable: new Echo() }) }))
    await expect(planFromDocument(plan.toJSON())).rejects.toThrow('root: its executable "echo" cannot be rebuilt here: no executable of that name is registered')
    const rebuilt = await planFromDocument(plan.toJSON(), { executables: [{ name: 'echo', create: () => new Echo() }] })
    expect(rebuilt.digest).toBe(plan.digest)
  })
})

/** An executable of a test's own: it returns its working directory as its result. */
class Echo extends Executable<{ cwd: string }> {
  readonly kind = 'echo'
  override readonly capabilities: ExecutableCapabilities = { result: true, cwd: true }
  describe(): string {
    return 'echo the working directory'
  }
  references(): [] {
    return []
  }
  override toSpec(): ExecutableSpec {
    return { uses: 'echo', with: {} }
  }
  async execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    return { exitCode: 0, signal: null, error: null, resultJson: JSON.stringify({ cwd: ctx.cwd }) }
  }
}

/** The same, without declaring any capability. */
class Quiet extends Executable {
  readonly kind = 'quiet'
  describe(): string {
    return 'quiet'
  }
  references(): [] {
    return []
  }
  async execute(): Promise<ExecutionOutcome> {
    return { exitCode: 0, signal: null, error: null }
  }
}

describe('executables by capability', () => {
  it('gives an executable of a test’s own its cwd and a result later nodes take', async () => {
    const dir = tempDir()
    mkdirSync(path.join(dir, 'sub'))
    const echo = new Node({ name: 'echo', executable: new Echo(), cwd: 'sub' })
    const shown = new Node({ name: 'shown', executable: funcOf(show, [echo.result as never]) })
    const root = new Node({ name: 'root', cwd: dir, children: [echo, shown] })
    const result = await engine().run(new Workflow({ name: 'w', root }))
    expect(result.status).toBe('succeeded')
    const stored = result.nodes.find(node => node.path === 'root/shown')!.artifacts.find(a => a.name === 'result')!
    expect(JSON.parse(readFileSync(stored.path, 'utf8'))).toBe(path.join(dir, 'sub'))
  })

  it('refuses cwd and a result reference where the executable does not offer them', async () => {
    await expect(engine().validate(new Workflow({ name: 'w', root: new Node({ name: 'root', executable: new Quiet(), cwd: 'x' }) }))).rejects.toThrow(
      new ValidationError('root', 'cwd cannot apply to a quiet executable: it does not run in a working directory'),
    )
    const quiet = new Node({ name: 'quiet', executable: new Quiet() })
    const taker = new Node({ name: 'taker', executable: funcOf(show, [quiet.result as never]) })
    await expect(engine().validate(new Workflow({ name: 'w', root: new Node({ name: 'root', children: [quiet, taker] }) }))).rejects.toThrow(
      new ValidationError('root/taker', 'refers to the result of "root/quiet", which is a quiet executable and has none'),
    )
  })

  it('refuses a module that is neither a URL nor an absolute path at construction', () => {
    expect(() => new Func(show, { module: 42 as never, args: [{ cwd: '' }] })).toThrow(new TypeError('new Func(show): module must be a URL or an absolute path (use import.meta.url), got "42"'))
  })
})

describe('two copies of @wtflow/core', () => {
  // A second copy of the built package, as a plugin's own install would bring (its dependencies
  // resolve from the repository's node_modules).
  const copyDir = path.resolve('../../node_modules/.cache', `wtflow-core-copy-${process.pid}`)
  afterAll(() => rmSync(copyDir, { recursive: true, force: true }))

  async function loadCopy(): Promise<typeof core> {
    cpSync(path.resolve('dist'), path.join(copyDir, 'dist'), { recursive: true })
    writeFileSync(path.join(copyDir, 'package.json'), JSON.stringify({ name: 'wtflow-core-copy', type: 'module' }))
    return import(pathToFileURL(path.join(copyDir, 'dist/index.js')).href)
  }

  it('recognize each other’s errors, executables and references, and run each other’s trees', async () => {
    const copy = await loadCopy()
    expect(copy.WtflowError).not.toBe(core.WtflowError)
    const error = new copy.ValidationError('a/b', 'from the copy')
    expect(error instanceof ValidationError).toBe(false)
    expect(isWtflowError(error)).toBe(true)
    expect(isWtflowError(error, 'WTFLOW_VALIDATION')).toBe(true)
    expect(isWtflowError(error, 'WTFLOW_CONFIG')).toBe(false)
    expect(isWtflowError(new Error('plain'))).toBe(false)

    const producer = new copy.Node({ name: 'producer', executable: new copy.Command('echo from-the-copy') })
    const consumer = new Node({ name: 'consumer', executable: new Command(['cat', producer.stdout as never]) })
    expect(isExecutable(producer.executable)).toBe(true)
    expect(isRef(producer.stdout)).toBe(true)
    const root = new copy.Node({ name: 'root', children: [producer, consumer as never] })
    const result = await engine().run(new copy.Workflow({ name: 'mixed', root }) as never)
    expect(result.status).toBe('succeeded')
    expect(result.nodes.map(node => node.status)).toEqual(['succeeded', 'succeeded', 'succeeded'])
  })
})
