import { toRunDocument, type RunResult } from '@wtflow/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RecordingError, attachRecorder, type HistoryDatabase, type Recorder } from '../src/index.js'
import { syntheticPlan, syntheticRun } from '../src/internal.js'
import {
  StatementTemplates,
  artifactRows,
  attemptRows,
  heartbeat,
  insertAttempts,
  markNodeEnded,
  markNodeStarted,
  nodeRow,
  templatedRows,
  upsertArtifacts,
} from '../src/writes.js'
import { DIALECTS, FakeEngine, type TestDatabase } from './helpers.js'

async function startEvent(run: RunResult) {
  return {
    runId: run.id,
    workflow: run.workflow,
    plan: await syntheticPlan(run),
    startedAt: run.startedAt,
    runDir: run.runDir,
    config: { 'run.max_parallel': 4, 'database.url': 'postgres://u:***@h/db' },
    inputs: {},
    mask: (text: string) => text,
  }
}

describe.each(DIALECTS)('recorder (synthetic events): $label', dialect => {
  let t: TestDatabase & { dispose(): Promise<void> }
  let db: HistoryDatabase
  let engine: FakeEngine
  let recorder: Recorder

  beforeEach(async ctx => {
    if (dialect.skip) return ctx.skip()
    t = await dialect.create()
    db = t.db
    engine = new FakeEngine()
    recorder = attachRecorder(engine, db)
  })
  afterEach(async () => {
    await recorder?.close().catch(() => {})
    await t?.dispose()
  })

  it('leaves a truthful partial record after every event', async () => {
    const run = syntheticRun({ nodes: 4, startedAt: new Date('2030-01-02T03:04:05.678Z') })
    const [root, group, first, second] = run.nodes as [RunResult['nodes'][number], ...RunResult['nodes']]
    expect(group!.kind).toBe('group')

    engine.fire('run:start', await startEvent(run))
    await recorder.flush()
    let doc = await db.getRun(run.id)
    expect(doc).toMatchObject({ status: 'running', exitCode: null, startedAt: '2030-01-02T03:04:05.678Z', endedAt: null })
    expect(doc.nodes.map(n => [n.path, n.status, n.attempts, n.startedAt])).toEqual([
      [root.path, 'pending', 0, null],
      [group!.path, 'pending', 0, null],
      [first!.path, 'pending', 0, null],
      [second!.path, 'pending', 0, null],
    ])
    expect((await db.listRuns())[0]).toMatchObject({ id: run.id, status: 'running', endedAt: null, durationMs: null })
    expect((await db.getRunInfo(run.id)).config).toEqual({ 'run.max_parallel': 4, 'database.url': 'postgres://u:***@h/db' })

    engine.fire('node:start', { runId: run.id, ordinal: root.ordinal, path: root.path, attempt: 0, startedAt: root.startedAt! })
    engine.fire('node:start', { runId: run.id, ordinal: group!.ordinal, path: group!.path, attempt: 0, startedAt: group!.startedAt! })
    engine.fire('node:start', { runId: run.id, ordinal: first!.ordinal, path: first!.path, attempt: 1, startedAt: first!.startedAt! })
    await recorder.flush()
    doc = await db.getRun(run.id)
    expect(doc.nodes.map(n => [n.status, n.attempts])).toEqual([
      ['running', 0],
      ['running', 0],
      ['running', 1],
      ['pending', 0],
    ])
    expect(doc.nodes[2]!.startedAt).toBe(first!.startedAt!.toISOString())

    engine.fire('node:attempt', { runId: run.id, ordinal: first!.ordinal, path: first!.path, attempt: first!.attempts[0]!, retryInMs: null })
    await recorder.flush()
    expect((await db.getNode(run.id, first!.path)).attempts).toMatchObject([{ attempt: 1, status: 'succeeded', exitCode: 0 }])

    for (const node of [first!, second!, group!, root]) {
      if (node === second) engine.fire('node:start', { runId: run.id, ordinal: node.ordinal, path: node.path, attempt: 1, startedAt: node.startedAt! })
      if (node === second) engine.fire('node:attempt', { runId: run.id, ordinal: node.ordinal, path: node.path, attempt: node.attempts[0]!, retryInMs: null })
      engine.fire('node:end', { runId: run.id, ordinal: node.ordinal, node })
    }
    await recorder.flush()
    doc = await db.getRun(run.id)
    expect(doc.status).toBe('running')
    expect(doc.nodes).toEqual(toRunDocument(run).nodes)

    engine.fire('run:end', { result: run })
    await recorder.flush()
    expect(await db.getRun(run.id)).toEqual(toRunDocument(run))
  })

  it('stores any text verbatim (quotes, backslashes, placeholders, unicode)', async () => {
    const nasty = `it's a \\ back\\slash ' " $1 $$ $2::int E'\\x' 💥\n\t; drop table runs; --`
    const run = syntheticRun({ nodes: 3, failAt: 2 })
    const node = run.nodes[2]!
    node.error = { name: 'Weird', message: nasty, stack: nasty, code: nasty }
    node.skipReason = nasty
    node.signal = 'SIG$1'
    run.workflow = nasty
    engine.fire('run:start', await startEvent(run))
    engine.fire('node:start', { runId: run.id, ordinal: node.ordinal, path: node.path, attempt: 1, startedAt: node.startedAt! })
    engine.fire('node:end', { runId: run.id, ordinal: node.ordinal, node })
    engine.fire('run:end', { result: run })
    await recorder.flush()
    const doc = await db.getRun(run.id)
    expect(doc).toEqual(toRunDocument(run))
    expect(doc.workflow).toBe(nasty)
    expect((await db.getNode(run.id, node.path)).error).toEqual({ name: 'Weird', message: nasty, stack: nasty, code: nasty })
    expect(await db.listRuns({ workflow: nasty })).toHaveLength(1)
  })

  it('compiles each hot statement shape once and re-binds it', async () => {
    const templates = new StatementTemplates(db.db)
    const run = syntheticRun({ nodes: 3, failAt: 2 })
    const node = run.nodes[2]!
    const event = { runId: run.id, ordinal: 2, path: node.path, attempt: 1, startedAt: node.startedAt! }
    const first = markNodeStarted(templates, event, 2)
    const second = markNodeStarted(templates, { ...event, ordinal: 7, path: 'other', attempt: 3 }, 7)
    expect(second.sql).toBe(first.sql)
    expect(second.parameters).toEqual(first.parameters.map(p => (p === 2 ? 7 : p === 1 ? 3 : p)))
    markNodeEnded(templates, nodeRow(run.id, node, 2, 0))
    markNodeEnded(templates, nodeRow(run.id, run.nodes[1]!, 1, 0))
    templatedRows(templates, 'attempts', attemptRows(run.id, node, 2), (kdb, rows) => insertAttempts(kdb, rows, 1000))
    templatedRows(templates, 'artifacts', artifactRows(run.id, node, 2), (kdb, rows) => upsertArtifacts(kdb, rows, 1000))
    heartbeat(templates, [run.id], db.dialect.clock)
    expect([...templates.untemplated]).toEqual([])
  })

  it('ignores node:output and events of runs it did not see start', async () => {
    engine.fire('node:output', { runId: 'x', ordinal: 0, path: 'a', stream: 'stdout', chunk: new Uint8Array([65]) })
    engine.fire('node:start', { runId: 'unknown', ordinal: 0, path: 'a', attempt: 1, startedAt: new Date() })
    await recorder.flush()
    expect(await db.listRuns()).toEqual([])
  })

  it('writes the whole result when it only sees the end of a run', async () => {
    const run = syntheticRun({ nodes: 12, failAt: 5 })
    engine.fire('run:end', { result: run })
    await recorder.flush()
    expect(await db.getRun(run.id)).toEqual(toRunDocument(run))
  })

  it('fills in nodes whose end it missed from the final result', async () => {
    const run = syntheticRun({ nodes: 3 })
    engine.fire('run:start', await startEvent(run))
    engine.fire('run:end', { result: run })
    await recorder.flush()
    expect(await db.getRun(run.id)).toEqual(toRunDocument(run))
    expect((await db.getNode(run.id, run.nodes[2]!.path)).attempts).toHaveLength(1)
  })

  it('never throws into the engine, and reports lost writes on flush', async () => {
    const errors: unknown[] = []
    const broken = attachRecorder(engine, db, { onError: error => errors.push(error), retryForMs: 0 })
    await db.close()
    const run = syntheticRun({ nodes: 2 })
    const start = await startEvent(run)
    expect(() => engine.fire('run:start', start)).not.toThrow()
    expect(() => engine.fire('run:end', { result: run })).not.toThrow()
    const failure = await broken.close().then(
      () => null,
      (error: unknown) => error,
    )
    expect(failure).toBeInstanceOf(RecordingError)
    expect((failure as RecordingError).code).toBe('WTFLOW_DB_WRITE')
    expect((failure as RecordingError).lostWrites).toBeGreaterThan(0)
    expect(errors.length).toBeGreaterThan(0)
    // Reported once: the next flush has nothing new to report.
    await expect(broken.flush()).resolves.toBeUndefined()
  })

  it('keeps the heartbeat of a running run fresh', async () => {
    const beating = attachRecorder(engine, db, { heartbeatMs: 20 })
    const run = syntheticRun({ nodes: 2 })
    engine.fire('run:start', await startEvent(run))
    await beating.flush()
    const first = (await db.getRunInfo(run.id)).heartbeatAt.getTime()
    const later = await (async () => {
      const deadline = Date.now() + 10_000
      for (;;) {
        const at = (await db.getRunInfo(run.id)).heartbeatAt.getTime()
        if (at > first || Date.now() > deadline) return at
        await new Promise(resolve => setTimeout(resolve, 10))
      }
    })()
    expect(later).toBeGreaterThan(first)
    await beating.close()
  })
})
