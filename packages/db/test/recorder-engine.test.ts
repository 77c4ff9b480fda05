import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Command, Engine, Node, Workflow, loadConfig, toRunDocument, type RunResult } from '@wtflow/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { attachRecorder, type HistoryDatabase } from '../src/index.js'
import { DIALECTS, type TestDatabase } from './helpers.js'

describe.each(DIALECTS)('engine + recorder: $label', dialect => {
  let t: TestDatabase & { dispose(): Promise<void> }
  let db: HistoryDatabase

  beforeEach(async ctx => {
    if (dialect.skip) return ctx.skip()
    t = await dialect.create()
    db = t.db
  })
  afterEach(async () => {
    await t?.dispose()
  })

  function engine(): Engine {
    const config = loadConfig({
      cwd: t.dir,
      env: {},
      overrides: { artifactsDir: path.join(t.dir, 'artifacts'), dbUrl: 'none', killGraceMs: 500 },
    })
    return new Engine({ config, cwd: t.dir, handleSignals: false })
  }

  /** Runs a workflow with a recorder attached; resolves once everything is written. */
  async function record(workflow: Workflow, options: { signal?: AbortSignal; setup?: (e: Engine) => void } = {}): Promise<RunResult> {
    const e = engine()
    options.setup?.(e)
    const recorder = attachRecorder(e, db)
    try {
      return await e.run(workflow, options.signal === undefined ? {} : { signal: options.signal })
    } finally {
      await recorder.close()
    }
  }

  it('records a tree whose node paths are longer than a database index entry may be', async () => {
    // 120 levels of 40 random hex characters: the deepest path is ~4.9 KB that do not compress,
    // past PostgreSQL's ~2.7 KB limit for a btree entry.
    const names = Array.from({ length: 120 }, () => randomBytes(20).toString('hex'))
    let node: Node | undefined
    for (let i = names.length - 1; i >= 0; i--) {
      node = new Node({ name: names[i]!, executable: new Command(i === names.length - 1 ? 'echo deepest' : ['true']), children: node ? [node] : [] })
    }
    const result = await record(new Workflow({ name: 'deep', root: node! }))
    expect(result.status).toBe('succeeded')
    const deepest = result.nodes.at(-1)!
    expect(deepest.path.length).toBeGreaterThan(4800)
    expect(await db.getRun(result.id)).toEqual(toRunDocument(result))
    const recorded = await db.getNode(result.id, deepest.path)
    expect(recorded).toMatchObject({ path: deepest.path, parentPath: result.nodes.at(-2)!.path, status: 'succeeded', attemptCount: 1 })
    expect(await fs.readFile(recorded.artifacts.find(a => a.name === 'stdout')!.path, 'utf8')).toBe('deepest\n')
  })

  it('reads back a successful run exactly, with artifacts on disk', async () => {
    const result = await record(
      new Workflow({
        name: 'ok',
        root: new Node({
          name: 'Root Node',
          executable: new Command('echo Starting'),
          children: [
            new Node({ name: 'Node 1', executable: new Command('echo STDOUT; echo STDERR >&2') }),
            new Node({ name: 'group', parallel: true, children: [new Node({ name: 'x', executable: new Command(['true']) })] }),
          ],
        }),
      }),
    )
    expect(result.status).toBe('succeeded')
    const doc = await db.getRun(result.id)
    expect(doc).toEqual(toRunDocument(result))
    expect(doc.nodes.map(n => `${n.path}:${n.status}:${n.attempts}`)).toEqual([
      'Root Node:succeeded:1',
      'Root Node/Node 1:succeeded:1',
      'Root Node/group:succeeded:0',
      'Root Node/group/x:succeeded:1',
    ])

    const node = await db.getNode(result.id.slice(0, 8), 'Root Node/Node 1')
    expect(node).toMatchObject({ status: 'succeeded', kind: 'command', display: 'echo STDOUT; echo STDERR >&2', parentPath: 'Root Node' })
    const stdout = node.artifacts.find(a => a.name === 'stdout')!
    expect(stdout.attempt).toBe(1)
    expect(await fs.readFile(stdout.path, 'utf8')).toBe('STDOUT\n')
    expect(node.dir).toBe(path.dirname(stdout.path))
    expect(await db.getNodeArtifacts(result.id, 'Root Node/Node 1')).toEqual(node.artifacts)

    const info = await db.getRunInfo(result.id)
    expect(info).toMatchObject({ workflow: 'ok', status: 'succeeded', pid: process.pid, runDir: result.runDir, nodeCount: 4 })
    expect(info.digest).toMatch(/^[0-9a-f]{64}$/)
    expect(info.config['run.max_parallel']).toBe(10)
    expect(await db.listRuns()).toEqual([
      {
        id: result.id,
        workflow: 'ok',
        status: 'succeeded',
        startedAt: result.startedAt.toISOString(),
        endedAt: result.endedAt.toISOString(),
        durationMs: result.endedAt.getTime() - result.startedAt.getTime(),
      },
    ])
  })

  it('reads back failed and skipped nodes exactly', async () => {
    const result = await record(
      new Workflow({
        name: 'fails',
        root: new Node({
          name: 'root',
          children: [
            new Node({ name: 'bad', executable: new Command('echo oops >&2; exit 3'), children: [new Node({ name: 'after bad', executable: new Command('true') })] }),
            new Node({ name: 'never', executable: new Command('true') }),
            new Node({ name: 'on failure', runIf: 'failure', executable: new Command('true') }),
          ],
        }),
      }),
    )
    expect(result.status).toBe('failed')
    const doc = await db.getRun(result.id)
    expect(doc).toEqual(toRunDocument(result))
    expect(doc.nodes.map(n => [n.path, n.status, n.exitCode, n.error, n.skipReason])).toEqual([
      ['root', 'failed', null, null, null],
      ['root/bad', 'failed', 3, 'exited with code 3', null],
      ['root/bad/after bad', 'skipped', null, null, '"root/bad" did not succeed'],
      ['root/never', 'skipped', null, null, 'not started: "root/bad" failed'],
      ['root/on failure', 'skipped', null, null, 'failure branch of the group "root", which has no executable that could fail'],
    ])
    const bad = await db.getNode(result.id, 'root/bad')
    expect(bad.error).toMatchObject({ name: 'NodeFailure', message: 'exited with code 3', code: 'WTFLOW_NODE_FAILED' })
    expect(bad.error?.stack).toContain('NodeFailure')
    expect(bad.attempts).toMatchObject([{ attempt: 1, status: 'failed', exitCode: 3 }])
    expect(await db.listRuns({ status: 'failed' })).toHaveLength(1)
  })

  it('reads back a retried node with every attempt and its artifacts', async () => {
    const marker = path.join(t.dir, 'marker')
    const result = await record(
      new Workflow({
        name: 'retry',
        root: new Node({
          name: 'flaky',
          retries: 2,
          retryDelay: 1,
          executable: new Command(`if [ -e "${marker}" ]; then echo second; echo err2 >&2; else touch "${marker}"; echo first; echo err1 >&2; exit 1; fi`),
        }),
      }),
    )
    expect(result.status).toBe('succeeded')
    expect(await db.getRun(result.id)).toEqual(toRunDocument(result))
    const node = await db.getNode(result.id, 'flaky')
    expect(node.attemptCount).toBe(2)
    expect(node.attempts.map(a => [a.attempt, a.status, a.exitCode])).toEqual([
      [1, 'failed', 1],
      [2, 'succeeded', 0],
    ])
    expect(node.attempts[0]!.error?.message).toBe('exited with code 1')
    expect(node.artifacts.map(a => [a.name, a.attempt])).toEqual([
      ['stdout.attempt-1', 1],
      ['stderr.attempt-1', 1],
      ['stdout', 2],
      ['stderr', 2],
    ])
    const [first, , second] = node.artifacts
    expect(await fs.readFile(first!.path, 'utf8')).toBe('first\n')
    expect(await fs.readFile(second!.path, 'utf8')).toBe('second\n')
  })

  it('reads back a timed-out node', async () => {
    const result = await record(
      new Workflow({ name: 'slow', root: new Node({ name: 'sleepy', timeout: 200, executable: new Command('sleep 30') }) }),
    )
    expect(result.status).toBe('failed')
    const doc = await db.getRun(result.id)
    expect(doc).toEqual(toRunDocument(result))
    expect(doc.nodes[0]).toMatchObject({ status: 'timed_out', error: 'timed out after 200 ms' })
    expect((await db.getNode(result.id, 'sleepy')).attempts).toMatchObject([{ status: 'timed_out' }])
  })

  it('reads back a cancelled run', async () => {
    const abort = new AbortController()
    const result = await record(
      new Workflow({
        name: 'cancel me',
        root: new Node({
          name: 'root',
          children: [new Node({ name: 'long', executable: new Command('sleep 30') }), new Node({ name: 'next', executable: new Command('true') })],
        }),
      }),
      {
        signal: abort.signal,
        setup: e => e.on('node:start', ({ path: p }) => p === 'root/long' && abort.abort()),
      },
    )
    expect(result.status).toBe('cancelled')
    expect(result.exitCode).toBe(130)
    const doc = await db.getRun(result.id)
    expect(doc).toEqual(toRunDocument(result))
    expect(doc.nodes.map(n => [n.path, n.status])).toEqual([
      ['root', 'cancelled'],
      ['root/long', 'cancelled'],
      ['root/next', 'skipped'],
    ])
    expect(doc).toMatchObject({ status: 'cancelled', exitCode: 130 })
  })

  it('records a node skipped by when()', async () => {
    const result = await record(
      new Workflow({
        name: 'when',
        root: new Node({ name: 'root', executable: new Command('true'), children: [new Node({ name: 'maybe', when: () => false, executable: new Command('true') })] }),
      }),
    )
    const doc = await db.getRun(result.id)
    expect(doc).toEqual(toRunDocument(result))
    expect(doc.nodes[1]).toMatchObject({ status: 'skipped', skipReason: 'when() returned false', attempts: 0 })
  })
})
