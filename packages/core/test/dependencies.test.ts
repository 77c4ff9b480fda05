import { describe, expect, it, vi } from 'vitest'
import { Engine, Executable, Node, ValidationError, Workflow, type ExecutionContext, type ExecutionOutcome, type NodeOptions } from '../src/index.js'
import { testConfig } from './helpers.js'

/** An executable that ends when the test opens it (or fails, if told to). */
class Gate extends Executable {
  readonly kind = 'gate'
  #open: ((ok: boolean) => void) | null = null
  readonly started: Promise<void>
  #markStarted!: () => void
  constructor() {
    super()
    this.started = new Promise(resolve => (this.#markStarted = resolve))
  }
  describe(): string {
    return 'gate'
  }
  references(): [] {
    return []
  }
  execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    this.#markStarted()
    return new Promise(resolve => {
      this.#open = ok => resolve({ exitCode: ok ? 0 : 1, signal: null, error: null })
      ctx.onStop(() => resolve({ exitCode: null, signal: null, error: null }))
    })
  }
  open(ok = true): void {
    if (this.#open === null) throw new Error('the gate has not started')
    this.#open(ok)
  }
}

/** An executable that succeeds at once. */
class Instant extends Executable {
  readonly kind = 'instant'
  describe(): string {
    return 'instant'
  }
  references(): [] {
    return []
  }
  execute(): Promise<ExecutionOutcome> {
    return Promise.resolve({ exitCode: 0, signal: null, error: null })
  }
}

function node(name: string, executable: Executable<unknown>, options: Partial<NodeOptions<unknown>> = {}): Node<unknown> {
  return new Node({ name, executable, ...options })
}

function engine(maxParallel = 10): Engine {
  return new Engine({ config: testConfig({ maxParallel }), handleSignals: false })
}

describe('after: dependencies across the tree', () => {
  it('starts a node once both of its dependencies have ended, and does not wait for anything else', async () => {
    const [a, b, slow] = [new Gate(), new Gate(), new Gate()]
    const nodeA = node('a', a)
    const nodeB = node('b', b)
    const fanIn = node('fan-in', new Instant(), { after: [nodeA, nodeB] })
    const root = new Node({
      name: 'root',
      parallel: true,
      children: [new Node({ name: 'left', children: [nodeA] }), new Node({ name: 'right', children: [nodeB] }), node('slow', slow), fanIn],
    })
    const e = engine()
    const events: string[] = []
    e.on('node:start', event => events.push(`start ${event.path}`))
    e.on('node:end', event => events.push(`end ${event.node.path} ${event.node.status}`))
    const running = e.run(new Workflow({ name: 'w', root }))
    await Promise.all([a.started, b.started, slow.started])
    a.open()
    await new Promise(resolve => setImmediate(resolve))
    expect(events).not.toContain('start root/fan-in')
    b.open()
    await vi.waitFor(() => expect(events).toContain('end root/fan-in succeeded'), { timeout: 20_000, interval: 5 })
    // The slow node, which fan-in does not name, is still running.
    expect(events).not.toContain('end root/slow succeeded')
    expect(events.indexOf('start root/fan-in')).toBeGreaterThan(events.indexOf('end root/right/b succeeded'))
    slow.open()
    const result = await running
    expect(result.status).toBe('succeeded')
  })

  it('skips a node whose dependency did not succeed, naming it; a group counts once its subtree has ended', async () => {
    const bad = new Gate()
    const badNode = node('bad', bad, { continueOnFailure: true })
    const group = new Node({ name: 'group', parallel: true, children: [badNode, node('fine', new Instant())] })
    const afterBad = node('after-bad', new Instant(), { after: [badNode] })
    const afterGroup = node('after-group', new Instant(), { after: [group] })
    const root = new Node({ name: 'root', parallel: true, children: [group, afterBad, afterGroup] })
    const running = engine().run(new Workflow({ name: 'w', root }))
    await bad.started
    bad.open(false)
    const result = await running
    const byPath = Object.fromEntries(result.nodes.map(n => [n.path, [n.status, n.skipReason]]))
    expect(byPath).toEqual({
      root: ['succeeded', null],
      'root/group': ['succeeded', null],
      'root/group/bad': ['failed', null],
      'root/group/fine': ['succeeded', null],
      'root/after-bad': ['skipped', '"root/group/bad" ended failed, and it is in after'],
      'root/after-group': ['succeeded', null],
    })
  })

  it('gives ready nodes the slots in tree order', async () => {
    const gate = new Gate()
    const first = node('first', gate)
    const e = engine(1)
    const order: string[] = []
    e.on('node:start', event => event.attempt > 0 && order.push(event.path))
    // Everything becomes ready when `first` ends; the queue hands out the one slot by position in the tree.
    const waiters = ['w1', 'w2', 'w3', 'w4'].map(name => node(name, new Instant(), { after: [first] }))
    const root = new Node({ name: 'root', parallel: true, children: [waiters[2]!, waiters[0]!, first, waiters[3]!, waiters[1]!] })
    const running = e.run(new Workflow({ name: 'w', root }))
    await gate.started
    gate.open()
    await running
    expect(order).toEqual(['root/first', 'root/w3', 'root/w1', 'root/w4', 'root/w2'])
  })

  it('rejects an after that names a node outside the workflow, or itself, and a cycle through after', async () => {
    const stranger = node('stranger', new Instant())
    const e = engine()
    await expect(e.validate(new Workflow({ name: 'w', root: node('root', new Instant(), { after: [stranger] }) }))).rejects.toThrow(
      new ValidationError('root', 'after names node "stranger", which is not in this workflow; add it to the tree or remove it from after'),
    )
    // Through the parent relation: a node after its own child.
    const child = node('child', new Instant())
    await expect(e.validate(new Workflow({ name: 'w', root: node('parent', new Instant(), { after: [child], children: [child] }) }))).rejects.toThrow(
      'these nodes wait for each other, so none of them could ever start: "parent" waits for "parent/child", which waits for "parent"; remove one of these dependencies',
    )
    // Through a sequential group and after: first after third, third after second.
    const second = node('second', new Instant())
    const third = node('third', new Instant(), { after: [second] })
    const first = node('first', new Instant(), { after: [third] })
    await expect(e.validate(new Workflow({ name: 'w', root: new Node({ name: 'seq', children: [first, second, third] }) }))).rejects.toThrow(
      'these nodes wait for each other, so none of them could ever start: "seq/first" waits for "seq/third", which waits for "seq/second", which waits for "seq/first"; remove one of these dependencies',
    )
  })

  it('schedules a fan-in of 10,000 nodes', async () => {
    const leaves = Array.from({ length: 10_000 }, (_, i) => node(`n${i}`, new Instant()))
    const fanIn = node('fan-in', new Instant(), { after: leaves })
    const root = new Node({ name: 'root', parallel: true, children: [fanIn, ...leaves] })
    const result = await engine().run(new Workflow({ name: 'w', root }))
    expect(result.status).toBe('succeeded')
    expect(result.nodes[1]!.path).toBe('root/fan-in')
    expect(result.nodes[1]!.startedAt!.getTime()).toBeGreaterThanOrEqual(Math.max(...result.nodes.slice(2).map(n => n.endedAt!.getTime())))
  })
})

describe('deep trees', () => {
  it('validates, digests and runs a chain 10,000 nodes deep (no recursion limit)', async () => {
    let node: Node<unknown> = node0('n9999')
    for (let i = 9998; i >= 0; i--) node = new Node({ name: `n${i}`, executable: new Instant(), children: [node] })
    const e = engine()
    const plan = await e.validate(new Workflow({ name: 'deep', root: node }))
    expect(plan.nodes).toHaveLength(10_000)
    expect(plan.nodes.at(-1)!.depth).toBe(9999)
    expect(plan.digest).toMatch(/^[0-9a-f]{64}$/)
    const result = await e.run(plan)
    expect(result.status).toBe('succeeded')
    expect(result.nodes.every(n => n.status === 'succeeded')).toBe(true)
  })
})

function node0(name: string): Node<unknown> {
  return new Node({ name, executable: new Instant() })
}
