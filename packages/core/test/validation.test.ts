import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Command, Engine, Node, ValidationError, Workflow, type NodeOptions } from '../src/index.js'
import { tempDir, testConfig } from './helpers.js'

/** Runs a workflow expected to be invalid; checks that nothing at all was spawned. */
async function rejection(root: Node<unknown>): Promise<ValidationError> {
  const marker = path.join(tempDir(), 'spawned')
  const config = testConfig()
  const engine = new Engine({ config, handleSignals: false })
  // A node that would leave a trace if anything ran.
  const tracer = new Node({ name: 'tracer', executable: new Command(['touch', marker]) })
  const wrapped = new Node({ name: 'top', children: [tracer, root] })
  const error = await engine.run(new Workflow({ name: 'invalid', root: wrapped })).then(
    () => {
      throw new Error('expected a ValidationError')
    },
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(ValidationError)
  expect(existsSync(marker)).toBe(false)
  expect(existsSync(config.artifactsDir)).toBe(false)
  return error as ValidationError
}

const leaf = (name: string, options: Partial<NodeOptions> = {}) => new Node({ name, executable: new Command('true'), ...options })

describe('validation', () => {
  it('rejects bad names with the node path', async () => {
    expect((await rejection(leaf(''))).message).toBe('top/[1]: a node needs a non-empty name')
    expect((await rejection(leaf('a/b'))).message).toBe('top/a/b: node name "a/b" must not contain "/"')
    expect((await rejection(leaf('..'))).message).toBe('top/..: node name ".." is not allowed')
    expect((await rejection(leaf('.'))).message).toBe('top/.: node name "." is not allowed')
    const error = await rejection(new Node({ name: 'group', children: [leaf('same'), leaf('same')] }))
    expect(error.message).toBe('top/group/same: duplicate name: "top/group" already has a child named "same"')
    expect(error.nodePath).toBe('top/group/same')
    expect(error.code).toBe('WTFLOW_VALIDATION')
  })

  it('rejects a node used twice, and cycles', async () => {
    const shared = leaf('shared')
    expect((await rejection(new Node({ name: 'g', children: [new Node({ name: 'x', children: [shared] }), new Node({ name: 'y', children: [shared] })] }))).message).toBe(
      'top/g/y/shared: the same Node object is already used at "top/g/x/shared"; build a new Node for each place in the tree',
    )
    const loop = new Node({ name: 'loop', children: [] })
    ;(loop as unknown as { children: Node<unknown>[] }).children = [loop]
    expect((await rejection(loop)).message).toBe('top/loop/loop: the node contains itself (a cycle); build a new Node for each place in the tree')
  })

  it('rejects bad option values', async () => {
    const cases: Array<[Partial<NodeOptions>, string]> = [
      [{ timeout: -1 }, 'timeout must be a positive number of milliseconds, got -1'],
      [{ timeout: 0 }, 'timeout must be a positive number of milliseconds, got 0'],
      [{ retries: 1.5 }, 'retries must be a non-negative integer, got 1.5'],
      [{ retries: -1 }, 'retries must be a non-negative integer, got -1'],
      [{ retryDelay: Number.NaN }, 'retryDelay must be a non-negative number of milliseconds, got NaN'],
      [{ backoff: 0.5 }, 'backoff must be a number >= 1 (1 keeps the delay constant), got 0.5'],
      [{ jitter: 2 }, 'jitter must be a number between 0 and 1, got 2'],
      [{ runIf: 'sometimes' as never }, `runIf must be 'success', 'failure' or 'always', got "sometimes"`],
      [{ env: { N: 1 as never } }, 'env.N must be a string, got number'],
      [{ when: true as never }, 'when must be a function (ctx) => boolean'],
      [{ artifacts: ['out/stdout.log'] }, 'artifact "out/stdout.log" would be stored as "stdout.log", which is reserved; rename the file'],
    ]
    for (const [options, message] of cases) {
      expect((await rejection(leaf('bad', options))).message).toBe(`top/bad: ${message}`)
    }
    expect((await rejection(new Node({ name: 'cmd', executable: new Command('  ') }))).message).toBe('top/cmd: the command is empty')
  })

  it('rejects references that could never be satisfied: a cycle, printed as node paths, or a node elsewhere', async () => {
    const consumer = (name: string, ref: Node<unknown>) => new Node({ name, executable: new Command(['cat', ref.stdout]) })
    const later = leaf('later')
    expect((await rejection(new Node({ name: 'seq', children: [consumer('c', later), later] }))).message).toBe(
      'these nodes wait for each other, so none of them could ever start: "top/seq/c" waits for "top/seq/later", which waits for "top/seq/c"; remove one of these dependencies',
    )
    const stranger = leaf('stranger')
    expect((await rejection(consumer('c', stranger))).message).toBe('top/c: refers to stranger.stdout, but node "stranger" is not in this workflow')
    const child = leaf('child')
    expect((await rejection(new Node({ name: 'parent', executable: new Command(['cat', child.stdout]), children: [child] }))).message).toBe(
      'these nodes wait for each other, so none of them could ever start: "top/parent" waits for "top/parent/child", which waits for "top/parent"; remove one of these dependencies',
    )
    const early = leaf('early')
    expect((await rejection(new Node({ name: 'seq', children: [early, new Node({ name: 'r', executable: new Command(['cat', early.artifact('report.xml')]) })] }))).message).toBe(
      'top/seq/r: refers to artifact "report.xml" of "top/seq/early", which declares no extra artifacts',
    )
  })

  it('accepts a reference to a parallel sibling: the consumer waits for it', async () => {
    const sibling = new Node({ name: 'sibling', executable: new Command('sleep 0.2; echo from-sibling') })
    const consumer = new Node({ name: 'c', executable: new Command(['cat', sibling.stdout]) })
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    const result = await engine.run(new Workflow({ name: 'w', root: new Node({ name: 'par', parallel: true, children: [consumer, sibling] }) }))
    expect(result.nodes.map(node => node.status)).toEqual(['succeeded', 'succeeded', 'succeeded'])
    const [, c, s] = result.nodes
    expect(c!.startedAt!.getTime()).toBeGreaterThanOrEqual(s!.endedAt!.getTime())
    expect(readFileSync(c!.artifacts.find(a => a.name === 'stdout')!.path, 'utf8')).toBe('from-sibling\n')
  })

  it('accepts references to ancestors and to earlier sequential subtrees', async () => {
    const early = new Node({ name: 'early', executable: new Command('echo hi'), children: [leaf('deep')] })
    const fromEarlier = new Node({ name: 'from-earlier', executable: new Command(['cat', early.stdout]) })
    const root: Node = new Node({
      name: 'root',
      executable: new Command('echo root'),
      children: [early, new Node({ name: 'later', parallel: true, children: [fromEarlier] })],
    })
    const fromAncestor = new Node({ name: 'from-ancestor', executable: new Command(['cat', root.stdout]) })
    const top = new Node({ name: 'top', children: [root, new Node({ name: 'group', children: [fromAncestor] })] })
    // fromAncestor reads root's stdout from a later sequential subtree; fromEarlier from an earlier sibling subtree.
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    const plan = await engine.validate(new Workflow({ name: 'ok', root: top }))
    expect(plan.nodes).toHaveLength(8)
    expect(plan.nodeAt('top/root/later/from-earlier')!.dependencies.map(node => node.path)).toEqual(['top/root/early'])
    expect(plan.nodeAt('top/group/from-ancestor')!.dependencies.map(node => node.path)).toEqual(['top/root'])
    const result = await engine.run(new Workflow({ name: 'ok', root: top }))
    expect(result.status).toBe('succeeded')
  })
})

describe('tree digest', () => {
  /** The digests these trees have always had: a history keys workflow versions by them. */
  it('is stable across releases, also for a tree whose definition text spans many hash chunks', async () => {
    let chain: Node | undefined
    for (let i = 299; i >= 0; i--) {
      chain = new Node({
        name: `step-${i}`,
        executable: new Command(['echo', String(i)]),
        retries: i % 3,
        ...(i % 5 === 0 ? { timeout: 1000 + i, env: { N: String(i) } } : {}),
        children: chain ? [chain] : [],
      })
    }
    const small = new Node({
      name: 'root',
      parallel: true,
      children: [new Node({ name: 'a', executable: new Command('echo a'), when: () => true }), new Node({ name: 'b', runIf: 'always', continueOnFailure: true })],
    })
    const digests: Record<string, string> = {}
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    engine.on('run:start', event => (digests[event.workflow] = event.plan.digest))
    await engine.run(new Workflow({ name: 'chain', root: chain! }))
    await engine.run(new Workflow({ name: 'small', root: small }))
    expect(digests).toEqual({
      chain: '68b212ce69b81263be93d501a3b5cd2e2889339606d0b73b51252c613f879daa',
      small: 'bdae71dc43ad57daf7822225b763b9161ee15018dbf18c5e57207342a71ca30b',
    })
  })
})
