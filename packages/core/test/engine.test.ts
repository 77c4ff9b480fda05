import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Command, Engine, Executable, Node, Workflow, isWtflowError, type EngineEventMap, type ExecutionContext, type ExecutionOutcome, type NodeOptions, type NodeResult, type RunResult, type RunWarmUp } from '../src/index.js'
import { tempDir, testConfig, waitFor } from './helpers.js'

function cmd(name: string, command: string | string[], extra: Partial<NodeOptions> = {}): Node {
  return new Node({ name, executable: new Command(command), ...extra })
}

async function run(root: Node<unknown>, overrides: Parameters<typeof testConfig>[0] = {}, signal?: AbortSignal) {
  const engine = new Engine({ config: testConfig(overrides), handleSignals: false })
  const events: Array<{ name: keyof EngineEventMap; path?: string; detail?: string }> = []
  engine.on('node:start', e => events.push({ name: 'node:start', path: e.path, detail: String(e.attempt) }))
  engine.on('node:attempt', e => events.push({ name: 'node:attempt', path: e.path, detail: e.attempt.status }))
  engine.on('node:end', e => events.push({ name: 'node:end', path: e.node.path, detail: e.node.status }))
  const result = await engine.run(new Workflow({ name: 'test', root }), { signal })
  return { result, events }
}

function node(result: RunResult, nodePath: string): NodeResult {
  const found = result.nodes.find(n => n.path === nodePath)
  if (!found) throw new Error(`no node ${nodePath} in ${result.nodes.map(n => n.path).join(', ')}`)
  return found
}

function statuses(result: RunResult): Record<string, string> {
  return Object.fromEntries(result.nodes.map(n => [n.path, n.status]))
}

describe('engine', () => {
  it('runs a command tree and returns the result tree with artifacts', async () => {
    const { result } = await run(cmd('root', 'echo hello; echo oops >&2', { children: [cmd('child', ['printf', '%s', 'a b'])] }))
    expect(result.status).toBe('succeeded')
    expect(result.exitCode).toBe(0)
    expect(result.root.children.map(c => c.path)).toEqual(['root/child'])
    const root = node(result, 'root')
    expect(root).toMatchObject({ status: 'succeeded', exitCode: 0, signal: null, error: null, kind: 'command', display: 'echo hello; echo oops >&2' })
    expect(root.attempts).toHaveLength(1)
    const [stdout, stderr] = root.artifacts
    expect(stdout).toMatchObject({ name: 'stdout', size: 6, sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03' })
    expect(readFileSync(stdout!.path, 'utf8')).toBe('hello\n')
    expect(readFileSync(stderr!.path, 'utf8')).toBe('oops\n')
    expect(stdout!.path).toBe(path.join(result.runDir, 'root', 'stdout.log'))
    expect(readFileSync(node(result, 'root/child').artifacts[0]!.path, 'utf8')).toBe('a b')
  })

  it('runs sequential children one subtree after another', async () => {
    const log = path.join(tempDir(), 'log')
    const step = (name: string, children: Node[] = []) => cmd(name, `echo ${name} >> ${log}`, { children })
    const { result } = await run(new Node({ name: 'root', children: [step('a', [step('a1'), step('a2')]), step('b'), step('c')] }))
    expect(result.status).toBe('succeeded')
    expect(readFileSync(log, 'utf8').split('\n')).toEqual(['a', 'a1', 'a2', 'b', 'c', ''])
  })

  it('runs parallel children at the same time', async () => {
    const dir = tempDir()
    // `waiter` only finishes once `opener` has run: sequentially (waiter first) it would time out.
    const waiter = cmd('waiter', `while [ ! -f ${dir}/gate ]; do sleep 0.01; done`, { timeout: 15_000 })
    const opener = cmd('opener', `touch ${dir}/gate`)
    const { result } = await run(new Node({ name: 'root', parallel: true, children: [waiter, opener] }))
    expect(statuses(result)).toEqual({ root: 'succeeded', 'root/waiter': 'succeeded', 'root/opener': 'succeeded' })
  })

  it('bounds running executables by max_parallel across the whole tree', async () => {
    const leaves = (prefix: string) => Array.from({ length: 6 }, (_, i) => cmd(`${prefix}${i}`, ['true']))
    const tree = new Node({
      name: 'root',
      parallel: true,
      children: [new Node({ name: 'x', parallel: true, children: leaves('x') }), new Node({ name: 'y', parallel: true, children: leaves('y') })],
    })
    const { result, events } = await run(tree, { maxParallel: 3 })
    expect(result.status).toBe('succeeded')
    let running = 0
    let peak = 0
    for (const event of events) {
      if (event.name === 'node:start' && event.detail !== '0') peak = Math.max(peak, ++running)
      if (event.name === 'node:attempt') running--
    }
    expect(peak).toBe(3)
  })

  it('fails the run on a failed node and starts nothing new; unstarted nodes are skipped with a reason', async () => {
    const { result } = await run(new Node({ name: 'root', children: [cmd('ok', 'true'), cmd('bad', 'exit 3', { children: [cmd('after-bad', 'true')] }), cmd('later', 'true')] }))
    expect(result).toMatchObject({ status: 'failed', exitCode: 1 })
    // A group's status is what its subtree did.
    expect(statuses(result)).toEqual({ root: 'failed', 'root/ok': 'succeeded', 'root/bad': 'failed', 'root/bad/after-bad': 'skipped', 'root/later': 'skipped' })
    expect(node(result, 'root/bad')).toMatchObject({ exitCode: 3, error: { name: 'NodeFailure', message: 'exited with code 3' } })
    expect(node(result, 'root/bad/after-bad').skipReason).toBe('"root/bad" did not succeed')
    expect(node(result, 'root/later').skipReason).toBe('not started: "root/bad" failed')
  })

  it('keeps going with ignore_failure but still reports the run failed', async () => {
    const { result } = await run(new Node({ name: 'root', children: [cmd('bad', 'exit 1'), cmd('later', 'true')] }), { ignoreFailure: true })
    expect(statuses(result)).toMatchObject({ 'root/bad': 'failed', 'root/later': 'succeeded' })
    expect(result.status).toBe('failed')
  })

  it('tolerates a continueOnFailure node: the run succeeds and other nodes run', async () => {
    const { result } = await run(new Node({ name: 'root', children: [cmd('flaky', 'exit 1', { continueOnFailure: true, children: [cmd('needs-flaky', 'true')] }), cmd('later', 'true')] }))
    // A tolerated failure does not fail the group either.
    expect(statuses(result)).toEqual({ root: 'succeeded', 'root/flaky': 'failed', 'root/flaky/needs-flaky': 'skipped', 'root/later': 'succeeded' })
    expect(result.status).toBe('succeeded')
  })

  it('runs failure branches only on failure and always branches either way', async () => {
    const branches = () => [cmd('on-failure', 'true', { runIf: 'failure' }), cmd('always', 'true', { runIf: 'always' }), cmd('on-success', 'true')]
    const failed = await run(new Node({ name: 'root', children: [cmd('step', 'exit 1', { children: branches() }), cmd('cleanup', 'true', { runIf: 'always' })] }))
    expect(statuses(failed.result)).toEqual({
      root: 'failed',
      'root/step': 'failed',
      'root/step/on-failure': 'succeeded',
      'root/step/always': 'succeeded',
      'root/step/on-success': 'skipped',
      'root/cleanup': 'succeeded',
    })
    expect(failed.result.status).toBe('failed')
    const succeeded = await run(cmd('step', 'true', { children: branches() }))
    expect(statuses(succeeded.result)).toEqual({ step: 'succeeded', 'step/on-failure': 'skipped', 'step/always': 'succeeded', 'step/on-success': 'succeeded' })
    expect(node(succeeded.result, 'step/on-failure').skipReason).toBe('failure branch: "step" succeeded')
  })

  it('skips a node whose when() is false, with its subtree', async () => {
    const first = cmd('first', 'true')
    const seen: string[] = []
    const { result } = await run(
      new Node({
        name: 'root',
        children: [
          first,
          cmd('yes', 'true', { when: ctx => (seen.push(`${ctx.path}:${ctx.status(first)}`), true) }),
          cmd('no', 'true', { when: async () => false, children: [cmd('below', 'true')] }),
        ],
      }),
    )
    expect(seen).toEqual(['root/yes:succeeded'])
    expect(statuses(result)).toEqual({ root: 'succeeded', 'root/first': 'succeeded', 'root/yes': 'succeeded', 'root/no': 'skipped', 'root/no/below': 'skipped' })
    expect(node(result, 'root/no').skipReason).toBe('when() returned false')
    expect(node(result, 'root/no/below').skipReason).toBe('"root/no" was skipped')
  })

  it('retries with backoff and keeps every attempt and its output', async () => {
    const counter = path.join(tempDir(), 'count')
    // Fails twice, then succeeds.
    const flaky = cmd('flaky', `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo try $n; [ $n -ge 3 ]`, {
      retries: 3,
      retryDelay: 20,
      backoff: 2,
      jitter: 0.5,
    })
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    const delays: Array<number | null> = []
    engine.on('node:attempt', e => delays.push(e.retryInMs))
    const result = await engine.run(new Workflow({ name: 't', root: flaky }))
    expect(result.status).toBe('succeeded')
    const n = node(result, 'flaky')
    expect(n.attempts.map(a => [a.attempt, a.status, a.exitCode])).toEqual([
      [1, 'failed', 1],
      [2, 'failed', 1],
      [3, 'succeeded', 0],
    ])
    expect(delays[0]).toBeGreaterThanOrEqual(10)
    expect(delays[0]).toBeLessThanOrEqual(30)
    expect(delays[1]).toBeGreaterThanOrEqual(20)
    expect(delays[1]).toBeLessThanOrEqual(60)
    expect(delays[2]).toBeNull()
    const byName = Object.fromEntries(n.artifacts.map(a => [a.name, readFileSync(a.path, 'utf8')]))
    expect(byName).toMatchObject({ 'stdout.attempt-1': 'try 1\n', 'stdout.attempt-2': 'try 2\n', stdout: 'try 3\n' })
  })

  it('gives up after the last retry', async () => {
    const { result } = await run(cmd('never', 'exit 7', { retries: 2, retryDelay: 1 }))
    expect(node(result, 'never')).toMatchObject({ status: 'failed', exitCode: 7 })
    expect(node(result, 'never').attempts).toHaveLength(3)
  })

  it('times a node out', async () => {
    const { result } = await run(cmd('slow', 'sleep 30', { timeout: 200 }))
    expect(node(result, 'slow')).toMatchObject({ status: 'timed_out', error: { code: 'WTFLOW_TIMEOUT', message: 'timed out after 200 ms' } })
    expect(result.status).toBe('failed')
  })

  it('cancels through an AbortSignal: running nodes cancelled, the rest skipped', async () => {
    const dir = tempDir()
    const controller = new AbortController()
    const running = run(new Node({ name: 'root', children: [cmd('long', `touch ${dir}/started; sleep 30`), cmd('next', 'true')] }), {}, controller.signal)
    await waitFor(() => existsSync(`${dir}/started`), 'the command to start')
    controller.abort()
    const { result } = await running
    expect(result).toMatchObject({ status: 'cancelled', exitCode: 130 })
    expect(statuses(result)).toEqual({ root: 'cancelled', 'root/long': 'cancelled', 'root/next': 'skipped' })
    expect(node(result, 'root/next').skipReason).toBe('the run was cancelled')
  })

  it('reports a spawn error as a failed node', async () => {
    const { result } = await run(cmd('missing', ['/no/such/program']))
    expect(node(result, 'missing')).toMatchObject({ status: 'failed', exitCode: null, error: { code: 'WTFLOW_SPAWN_FAILED', message: 'could not start the command: spawn /no/such/program ENOENT: no such file /no/such/program' } })
  })

  it('passes env and cwd down the tree', async () => {
    const dir = tempDir()
    const { result } = await run(
      new Node({ name: 'root', env: { A: 'from-root' }, cwd: dir, children: [cmd('leaf', 'echo $A $B; pwd', { env: { B: 'from-leaf' } })] }),
    )
    expect(readFileSync(node(result, 'root/leaf').artifacts[0]!.path, 'utf8')).toBe(`from-root from-leaf\n${dir}\n`)
  })

  it('substitutes artifact references in argv as one argument, never through a shell', async () => {
    const producer = cmd('produce', 'echo "a;b $(whoami)"')
    const consumer = new Node({ name: 'consume', executable: new Command(['cat', producer.stdout]) })
    const { result } = await run(new Node({ name: 'root', children: [producer, consumer] }))
    expect(readFileSync(node(result, 'root/consume').artifacts[0]!.path, 'utf8')).toBe(`a;b ${process.env.USER ?? 'root'}\n`)
  })

  it('creates no files for a silent node, and an empty one for a reference to its output', async () => {
    const silent = cmd('silent', ['true'])
    const reader = new Node({ name: 'reader', executable: new Command(['wc', '-c', silent.stdout]) })
    // A second consumer gets the same empty file (made once).
    const again = new Node({ name: 'again', executable: new Command(['wc', '-c', silent.stdout]) })
    const { result } = await run(new Node({ name: 'root', children: [silent, reader, again] }))
    expect(result.status).toBe('succeeded')
    expect(node(result, 'root/silent').artifacts).toEqual([])
    const first = readFileSync(node(result, 'root/reader').artifacts[0]!.path, 'utf8')
    expect(first).toMatch(/^0 .*silent\/stdout\.log\n$/)
    expect(readFileSync(node(result, 'root/again').artifacts[0]!.path, 'utf8')).toBe(first)
  })

  it('collects declared artifact files after the command', async () => {
    const { result } = await run(cmd('report', 'mkdir -p out && echo "<ok/>" > out/report.xml', { cwd: tempDir(), artifacts: ['out/report.xml'] }))
    const report = node(result, 'report').artifacts.find(a => a.name === 'report.xml')
    expect(report).toMatchObject({ size: 6 })
    expect(readFileSync(report!.path, 'utf8')).toBe('<ok/>\n')
    const missing = await run(cmd('report', 'true', { cwd: tempDir(), artifacts: ['nope.txt'] }))
    expect(node(missing.result, 'report')).toMatchObject({ status: 'failed', error: { code: 'WTFLOW_ARTIFACT_MISSING' } })
  })

  it('emits lifecycle events in order', async () => {
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    const names: string[] = []
    for (const name of ['run:start', 'node:start', 'node:attempt', 'node:end', 'run:end'] as const) engine.on(name, () => names.push(name))
    const outputs: string[] = []
    engine.on('node:output', e => outputs.push(`${e.stream}:${Buffer.from(e.chunk).toString()}`))
    await engine.run(new Workflow({ name: 'events', root: cmd('one', 'echo hi') }))
    expect(names).toEqual(['run:start', 'node:start', 'node:attempt', 'node:end', 'run:end'])
    expect(outputs).toEqual(['stdout:hi\n'])
  })

  it('runs a chain 500 deep whose directory paths exceed the OS limit', async () => {
    let leaf: Node | undefined
    for (let i = 500; i >= 1; i--) {
      leaf = cmd(`step-${String(i).padStart(4, '0')}`, ['echo', String(i)], { children: leaf ? [leaf] : [] })
    }
    const { result } = await run(leaf!)
    expect(result.status).toBe('succeeded')
    expect(result.nodes).toHaveLength(500)
    const deepest = result.nodes[499]!
    expect(deepest.path.split('/')).toHaveLength(500)
    expect(deepest.artifacts[0]!.path).toMatch(new RegExp(`^${result.runDir}/%deep/[0-9a-f]{32}/(step-\\d{4}/)+stdout\\.log$`))
    expect(readFileSync(deepest.artifacts[0]!.path, 'utf8')).toBe('500\n')
  })

  it('survives a listener that throws', async () => {
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    engine.on('node:end', () => {
      throw new Error('subscriber bug')
    })
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(warning.message)
    process.on('warning', onWarning)
    try {
      const result = await engine.run(new Workflow({ name: 'listener', root: cmd('one', 'true') }))
      expect(result.status).toBe('succeeded')
      await new Promise(resolve => setImmediate(resolve))
      expect(warnings).toContain('a "node:end" listener threw: subscriber bug')
    } finally {
      process.off('warning', onWarning)
    }
  })

  it('fails a node whose result cannot be stored, and the run goes on', async () => {
    /** Returns a result after putting a file where its node directory would go. */
    class BlockedResult extends Executable {
      readonly kind = 'func' as const
      describe(): string {
        return 'blocked'
      }
      references(): [] {
        return []
      }
      execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
        mkdirSync(path.dirname(ctx.nodeDir), { recursive: true })
        writeFileSync(ctx.nodeDir, 'in the way')
        return Promise.resolve({ exitCode: 0, signal: null, error: null, resultJson: '42' })
      }
    }
    const root = new Node({ name: 'root', children: [new Node({ name: 'blocked', executable: new BlockedResult(), continueOnFailure: true }), cmd('next', ['true'])] })
    const { result } = await run(root)
    expect(statuses(result)).toEqual({ root: 'succeeded', 'root/blocked': 'failed', 'root/next': 'succeeded' })
    expect(node(result, 'root/blocked').error).toMatchObject({ code: 'WTFLOW_ARTIFACT_WRITE', message: expect.stringContaining('could not store the result') })
  })

  it('gives every run its own directory, even with the same artifacts dir', async () => {
    const config = testConfig()
    const engine = new Engine({ config, handleSignals: false })
    const workflow = new Workflow({ name: 'twice', root: cmd('one', 'echo hi') })
    const first = await engine.run(workflow)
    const second = await engine.run(workflow)
    expect(first.status).toBe('succeeded')
    expect(second.status).toBe('succeeded')
    expect(first.runDir).not.toBe(second.runDir)
    expect(path.dirname(first.runDir)).toBe(config.artifactsDir)
  })
})


/** An executable of its own, as a user may write: it waits until the engine stops it. */
class WaitForStop extends Executable {
  readonly kind = 'command' as const
  readonly seen: Array<{ via: string; reason: unknown; aborted?: boolean }> = []
  constructor(readonly via: 'signal' | 'onStop' | 'late signal') {
    super()
  }
  describe(): string {
    return `wait (${this.via})`
  }
  references(): [] {
    return []
  }
  execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    return new Promise(resolve => {
      const done = (reason: unknown, aborted?: boolean) => {
        this.seen.push({ via: this.via, reason, aborted })
        resolve({ exitCode: null, signal: null, error: null })
      }
      if (this.via === 'signal') ctx.signal.addEventListener('abort', () => done(ctx.signal.reason), { once: true })
      // The AbortController is made only when `signal` is read: after the stop, it is born aborted.
      else if (this.via === 'late signal') ctx.onStop(() => done(ctx.signal.reason, ctx.signal.aborted))
      else ctx.onStop(reason => done(reason))
    })
  }
}

describe('stopping an executable of its own', () => {
  it('aborts ctx.signal and calls onStop listeners on timeout, with the reason', async () => {
    const executables = [new WaitForStop('signal'), new WaitForStop('onStop'), new WaitForStop('late signal')]
    const children = executables.map((executable, i) => new Node({ name: `wait${i}`, executable, timeout: 50 }))
    const { result } = await run(new Node({ name: 'root', parallel: true, children }), { ignoreFailure: true })
    expect(result.nodes.slice(1).map(n => n.status)).toEqual(['timed_out', 'timed_out', 'timed_out'])
    expect(executables.flatMap(e => e.seen)).toEqual([
      { via: 'signal', reason: 'timeout', aborted: undefined },
      { via: 'onStop', reason: 'timeout', aborted: undefined },
      { via: 'late signal', reason: 'timeout', aborted: true },
    ])
  })

  it('stops them with reason cancel when the run is cancelled', async () => {
    const executables = [new WaitForStop('signal'), new WaitForStop('onStop')]
    const children = executables.map((executable, i) => new Node({ name: `wait${i}`, executable }))
    const controller = new AbortController()
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    let started = 0
    engine.on('node:start', () => {
      if (++started === 3) controller.abort()
    })
    const result = await engine.run(new Workflow({ name: 'test', root: new Node({ name: 'root', parallel: true, children }) }), { signal: controller.signal })
    expect(result.status).toBe('cancelled')
    expect(executables.flatMap(e => e.seen.map(s => s.reason))).toEqual(['cancel', 'cancel'])
  })

  it('skips the nodes still waiting for a slot when the run is cancelled', async () => {
    const executables = [new WaitForStop('onStop'), new WaitForStop('onStop'), new WaitForStop('onStop')]
    const children = executables.map((executable, i) => new Node({ name: `wait${i}`, executable }))
    const controller = new AbortController()
    const engine = new Engine({ config: testConfig({ maxParallel: 1 }), handleSignals: false })
    engine.on('node:start', event => {
      if (event.path === 'root/wait0') controller.abort()
    })
    const result = await engine.run(new Workflow({ name: 'test', root: new Node({ name: 'root', parallel: true, children }) }), { signal: controller.signal })
    expect(result.status).toBe('cancelled')
    expect(result.nodes.slice(1).map(n => [n.status, n.skipReason])).toEqual([
      ['cancelled', null],
      ['skipped', 'the run was cancelled'],
      ['skipped', 'the run was cancelled'],
    ])
    expect(executables.map(e => e.seen.length)).toEqual([1, 0, 0])
  })

  it('leaves a node cancelled while it waits for a slot unstarted: no node:start, no start time', async () => {
    // Two parallel groups of two under a parallel root, three slots: the last node waits in the limiter.
    const executables = Array.from({ length: 4 }, () => new WaitForStop('onStop'))
    const group = (name: string, offset: number) =>
      new Node({ name, parallel: true, children: [0, 1].map(i => new Node({ name: `wait${i}`, executable: executables[offset + i]! })) })
    const controller = new AbortController()
    const engine = new Engine({ config: testConfig({ maxParallel: 3 }), handleSignals: false })
    const started: string[] = []
    engine.on('node:start', event => {
      if (event.attempt === 0) return
      started.push(event.path)
      // Once the microtasks that queue the last node in the limiter have run.
      if (started.length === 3) setImmediate(() => controller.abort())
    })
    const root = new Node({ name: 'root', parallel: true, children: [group('a', 0), group('b', 2)] })
    const result = await engine.run(new Workflow({ name: 'test', root }), { signal: controller.signal })
    const unstarted = result.nodes.filter(n => n.kind !== 'group' && !started.includes(n.path))
    expect(unstarted.map(n => [n.path, n.status, n.startedAt, n.attempts.length, n.skipReason])).toEqual([
      ['root/b/wait1', 'skipped', null, 0, 'the run was cancelled'],
    ])
    expect(executables.map(e => e.seen.length)).toEqual([1, 1, 1, 0])
  })
})

describe('a run that cannot start', () => {
  /** An executable whose warm-up starts a run resource (as a Func's worker pool does). */
  class WarmsUp extends Executable {
    readonly kind = 'warms-up'
    closed = 0
    describe(): string {
      return 'warms up'
    }
    references(): [] {
      return []
    }
    override warmUp(run: RunWarmUp): void {
      run.resources.get('test:resource', () => ({ close: async () => void this.closed++ }))
    }
    async execute(): Promise<ExecutionOutcome> {
      return { exitCode: 0, signal: null, error: null }
    }
  }

  it('rejects with WTFLOW_STORAGE when the run directory cannot be made, and closes what warming up started', async () => {
    const dir = tempDir()
    writeFileSync(path.join(dir, 'a-file'), '')
    const executable = new WarmsUp()
    const engine = new Engine({ config: testConfig({ artifactsDir: path.join(dir, 'a-file', 'artifacts') }), handleSignals: false })
    const error = await engine.run(new Workflow({ name: 'w', root: new Node({ name: 'root', executable }) })).then(
      () => null,
      (reason: unknown) => reason,
    )
    expect(isWtflowError(error, 'WTFLOW_STORAGE')).toBe(true)
    expect((error as Error).message).toMatch(/^cannot create the run's artifact directory under .*a-file\/artifacts \(storage\.artifacts_dir from option\): ENOTDIR.*; point WTFLOW_ARTIFACTS_DIR/)
    expect(executable.closed).toBe(1)
  })
})
