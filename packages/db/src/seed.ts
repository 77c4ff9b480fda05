import { createHash } from 'node:crypto'
import path from 'node:path'
import { Command, Engine, Node, Workflow, loadConfig, type ArtifactInfo, type NodeResult, type RunPlan, type RunResult } from '@wtflow/core'
import { CompiledQuery } from 'kysely'
import type { HistoryDatabase } from './history.js'
import { thisProcess } from './liveness.js'
import type { HistorySchema, NewArtifactRow, NewAttemptRow, NewNodeRow, NewRunRow } from './schema.js'
import { artifactRows, attemptRows, insertWorkflow, nodeRow, runRow } from './writes.js'

export interface SyntheticRunOptions {
  /** Default: a random UUID. */
  id?: string
  workflow?: string
  /** Nodes in the tree, root included (default 100): a root with groups of ten leaves. */
  nodes?: number
  startedAt?: Date
  /** Milliseconds each leaf takes (default 10). */
  nodeDurationMs?: number
  /** Default `/tmp/wtflow-bench/artifacts`. */
  artifactsDir?: string
  /** Make this leaf (by index) fail, and the run with it. */
  failAt?: number
}

/**
 * A finished, plausible `RunResult` built in memory (no engine, no files): for benchmarks
 * and tests that need many runs.
 *
 * @example
 * const runs = Array.from({ length: 500 }, (_, i) => syntheticRun({ startedAt: new Date(t0 + i * 1000) }))
 * await insertRuns(db, runs)
 */
export function syntheticRun(options: SyntheticRunOptions = {}): RunResult {
  const id = options.id ?? crypto.randomUUID()
  const count = Math.max(1, options.nodes ?? 100)
  const startedAt = options.startedAt ?? new Date()
  const step = options.nodeDurationMs ?? 10
  const runDir = path.join(options.artifactsDir ?? '/tmp/wtflow-bench/artifacts', id)
  let clock = startedAt.getTime()
  const nodes: NodeResult[] = []
  const make = (name: string, parent: NodeResult | null, kind: NodeResult['kind']): NodeResult => {
    const nodePath = parent === null ? name : `${parent.path}/${name}`
    const index = nodes.length
    const failed = options.failAt === index
    const begin = new Date(clock)
    clock += kind === 'group' ? 0 : step
    const end = new Date(clock)
    const artifacts: ArtifactInfo[] =
      kind === 'group'
        ? []
        : ['stdout', 'stderr'].map(stream => ({
            name: stream,
            path: path.join(runDir, nodePath, `${stream}.log`),
            size: 6,
            sha256: createHash('sha256').update(`${id}/${nodePath}/${stream}`).digest('hex'),
          }))
    const node: NodeResult = {
      ordinal: index,
      path: nodePath,
      name,
      parentPath: parent?.path ?? null,
      kind,
      display: kind === 'group' ? null : `echo ${name}`,
      status: failed ? 'failed' : 'succeeded',
      exitCode: kind === 'group' ? null : failed ? 1 : 0,
      signal: null,
      error: failed ? { name: 'NodeFailure', message: 'exited with code 1', code: 'WTFLOW_NODE_FAILED' } : null,
      skipReason: null,
      attempts:
        kind === 'group'
          ? []
          : [{ attempt: 1, status: failed ? 'failed' : 'succeeded', exitCode: failed ? 1 : 0, signal: null, error: null, startedAt: begin, endedAt: end, artifacts }],
      startedAt: begin,
      endedAt: end,
      artifacts,
      children: [],
    }
    nodes.push(node)
    parent?.children.push(node)
    return node
  }
  const root = make('root', null, 'group')
  let group: NodeResult | null = null
  for (let i = 1; i < count; i++) {
    if ((i - 1) % 11 === 0 && count - i > 1) {
      group = make(`group ${Math.floor((i - 1) / 11) + 1}`, root, 'group')
    } else {
      make(`task ${i}`, group ?? root, 'command')
    }
  }
  root.endedAt = new Date(clock)
  const failed = nodes.some(node => node.status === 'failed')
  return {
    id,
    workflow: options.workflow ?? 'bench',
    status: failed ? 'failed' : 'succeeded',
    exitCode: failed ? 1 : 0,
    startedAt,
    endedAt: new Date(clock),
    runDir,
    root,
    nodes,
  }
}

/**
 * Bulk-inserts finished runs (one transaction, multi-row inserts sized to the dialect's
 * parameter limit): seeds a database for benchmarks, or imports results recorded elsewhere.
 * Runs are stored as finished by this process; `digest` defaults to empty.
 *
 * @example
 * for (let batch = 0; batch < 20; batch++) await insertRuns(db, makeBatch(batch))  // 10,000 runs
 */
export async function insertRuns(db: HistoryDatabase, runs: readonly RunResult[], options: { digest?: string } = {}): Promise<void> {
  const digest = options.digest ?? ''
  const who = thisProcess()
  const runRows: NewRunRow[] = []
  const nodeRows: NewNodeRow[] = []
  const attempts: NewAttemptRow[] = []
  const artifacts: NewArtifactRow[] = []
  const workflows = new Map<string, number>()
  for (const run of runs) {
    if (!workflows.has(run.workflow)) workflows.set(run.workflow, run.startedAt.getTime())
    runRows.push({
      ...runRow({ runId: run.id, workflow: run.workflow, digest, startedAt: run.startedAt, runDir: run.runDir, config: {}, nodeCount: run.nodes.length }, who),
      status: run.status,
      exit_code: run.exitCode,
      ended_at: run.endedAt.getTime(),
      heartbeat_at: run.endedAt.getTime(),
    })
    const ordinals = new Map(run.nodes.map(node => [node.path, node.ordinal]))
    run.nodes.forEach((node, i) => {
      nodeRows.push(nodeRow(run.id, node, i, node.parentPath === null ? null : (ordinals.get(node.parentPath) ?? null)))
      attempts.push(...attemptRows(run.id, node, i))
      artifacts.push(...artifactRows(run.id, node, i))
    })
  }
  const statements: CompiledQuery[] = [
    ...[...workflows].map(([name, at]) => insertWorkflow(db.db, name, digest, at)),
    ...bulkInsert(db, 'runs', runRows),
    ...bulkInsert(db, 'nodes', nodeRows),
    ...bulkInsert(db, 'attempts', attempts),
    ...bulkInsert(db, 'artifacts', artifacts),
  ]
  await db.db.transaction().execute(async tx => {
    for (const statement of statements) await tx.executeQuery(statement)
  })
}

type PgType = 'text' | 'int' | 'bigint'

/** Column order and PostgreSQL types of the bulk-inserted tables. */
const COLUMNS: { [T in Exclude<keyof HistorySchema, 'workflows' | 'run_requests' | 'maintenance'>]: Record<string, PgType> } = {
  runs: {
    id: 'text', workflow: 'text', digest: 'text', status: 'text', exit_code: 'int', started_at: 'bigint', ended_at: 'bigint',
    heartbeat_at: 'bigint', host: 'text', pid: 'int', run_dir: 'text', config: 'text', node_count: 'int',
  },
  nodes: {
    run_id: 'text', ordinal: 'int', path: 'text', path_key: 'text', name: 'text', parent_ordinal: 'int', kind: 'text', display: 'text', status: 'text',
    exit_code: 'int', signal: 'text', error_message: 'text', error_detail: 'text', skip_reason: 'text', attempts: 'int',
    started_at: 'bigint', ended_at: 'bigint',
  },
  attempts: {
    run_id: 'text', node_ordinal: 'int', attempt: 'int', status: 'text', exit_code: 'int', signal: 'text', error_message: 'text',
    error_detail: 'text', started_at: 'bigint', ended_at: 'bigint',
  },
  artifacts: { run_id: 'text', node_ordinal: 'int', ordinal: 'int', name: 'text', attempt: 'int', path: 'text', size: 'bigint', sha256: 'text' },
}

/**
 * Plain SQL for big inserts, bypassing the query builder (whose per-value nodes dominate at
 * millions of rows): multi-row VALUES in SQLite, one array per column through `unnest` in
 * PostgreSQL (a single statement of any size).
 */
function bulkInsert(db: HistoryDatabase, table: keyof typeof COLUMNS, rows: readonly object[]): CompiledQuery[] {
  if (rows.length === 0) return []
  const columns = Object.entries(COLUMNS[table])
  const names = columns.map(([name]) => `"${name}"`).join(', ')
  const value = (row: object, name: string): unknown => (row as Record<string, unknown>)[name] ?? null
  if (db.dialect.name === 'postgres') {
    const statements: CompiledQuery[] = []
    for (let i = 0; i < rows.length; i += 100_000) {
      const part = rows.slice(i, i + 100_000)
      const arrays = columns.map(([name]) => part.map(row => value(row, name)))
      const unnest = columns.map(([, type], n) => `$${n + 1}::${type}[]`).join(', ')
      statements.push(CompiledQuery.raw(`insert into "${table}" (${names}) select * from unnest(${unnest})`, arrays))
    }
    return statements
  }
  const perStatement = Math.floor(db.dialect.maxParameters / columns.length)
  const tuple = `(${columns.map(() => '?').join(', ')})`
  const statements: CompiledQuery[] = []
  for (let i = 0; i < rows.length; i += perStatement) {
    const part = rows.slice(i, i + perStatement)
    const parameters: unknown[] = []
    for (const row of part) for (const [name] of columns) parameters.push(value(row, name))
    statements.push(CompiledQuery.raw(`insert into "${table}" (${names}) values ${Array(part.length).fill(tuple).join(', ')}`, parameters))
  }
  return statements
}

/**
 * The plan of a run's tree, for feeding a recorder synthetic events: the same paths and
 * ordinals, a Command for each node that has an executable (its `display` as the command line).
 */
export async function syntheticPlan(run: RunResult): Promise<RunPlan> {
  const byPath = new Map<string, Node<unknown>>()
  for (let i = run.nodes.length - 1; i >= 0; i--) {
    const result = run.nodes[i]!
    const children = result.children.map(child => byPath.get(child.path)!)
    const executable = result.kind === 'group' ? undefined : new Command(result.display ?? 'true')
    byPath.set(result.path, new Node({ name: result.name, executable, children }))
  }
  return new Engine({ config: loadConfig({ env: {}, overrides: { dbUrl: 'none' } }), handleSignals: false }).validate(
    new Workflow({ name: run.workflow, root: byPath.get(run.nodes[0]!.path)! }),
  )
}
