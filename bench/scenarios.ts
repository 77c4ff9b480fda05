/**
 * The scenarios: what each side runs and what counts as a pass. Sides are implemented in
 * src/sides/ and run in their own processes; see run.ts.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { availableParallelism } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatKb, formatMs } from './src/format.js'
import { dropSchema, pgUnavailable, pgUrl } from './src/pg-admin.js'
import { peerScenarios } from './peers.js'
import { timeNodeProcess, type ProcessRun } from './process-side.js'
import type { SideResult } from './src/protocol.js'

export type SideSpec =
  | {
      kind: 'child'
      /** Name of an export of src/sides/ (see src/sides/index.ts). */
      side: string
      params: Record<string, unknown>
      env?: Record<string, string>
      nodeArgs?: string[]
    }
  | {
      /** Measured by the orchestrator itself (whole-process timings). */
      kind: 'process'
      label: string
      run(options: ProcessRun): Promise<SideResult>
    }

/** The repetitions of one side: best (or median, BENCH_STAT) wall and CPU time, maximum peak RSS. */
export interface Aggregate {
  wallMs: number
  rssKb: number
  /** CPU time of the process and of the processes it started, same statistic as wallMs. */
  cpuMs: number
  runs: SideResult[]
}

export interface Evaluation {
  status: 'pass' | 'fail' | 'info'
  ratio?: number | undefined
  /** Overrides the default CPU ratio (engine CPU / baseline CPU). */
  cpuRatio?: number | undefined
  note?: string | undefined
}

/** What a scenario's setup may use. */
export interface SetupContext {
  /** Runs a side in a fresh process (like a measured one) and returns what it reported. */
  runSide(spec: SideSpec, name: string): Promise<SideResult>
  log(message: string): void
  resultsDir: string
  tmpRoot: string
  buildDir: string
}

export interface Scenario {
  id: string
  title: string
  /** The target, as shown in the table. */
  target: string
  /** Resolves to null when the scenario can run, else to the reason it is skipped. */
  available?(): Promise<string | null>
  /** Prepares what the sides need (seeded databases…); may be shared between scenarios. */
  setup?(ctx: SetupContext): Promise<void>
  /** Repetitions, given BENCH_REPEAT. */
  repeat?(requested: number): number
  engine: SideSpec
  baseline?: SideSpec
  evaluate(engine: Aggregate, baseline: Aggregate | undefined): Evaluation
}

const MiB = 1024 * 1024
const GiB = 1024 * MiB

function child(side: string, params: Record<string, unknown>): SideSpec {
  return { kind: 'child', side, params }
}

/** Pass when engine/baseline wall time ≤ maxRatio and the absolute limits hold. */
function ratioTarget(maxRatio: number, limits: { rssMb?: number; wallMs?: number } = {}) {
  return (engine: Aggregate, baseline: Aggregate | undefined): Evaluation => {
    if (baseline === undefined) throw new Error('ratio target without a baseline')
    const ratio = engine.wallMs / baseline.wallMs
    const misses: string[] = []
    if (ratio > maxRatio) misses.push(`ratio ${ratio.toFixed(2)} > ${maxRatio}`)
    if (limits.rssMb !== undefined && engine.rssKb > limits.rssMb * 1024) misses.push(`RSS ${formatKb(engine.rssKb)} > ${limits.rssMb} MB`)
    if (limits.wallMs !== undefined && engine.wallMs > limits.wallMs) misses.push(`wall ${formatMs(engine.wallMs)} > ${formatMs(limits.wallMs)}`)
    return { status: misses.length === 0 ? 'pass' : 'fail', ratio, note: misses.join('; ') || undefined }
  }
}

/** Null when @wtflow/core (as built) exports Func, else why the Func scenarios are skipped. */
async function funcAvailable(): Promise<string | null> {
  try {
    const core = (await import('@wtflow/core')) as Record<string, unknown>
    return typeof core.Func === 'function' ? null : 'Func not available yet: @wtflow/core (dist) does not export Func'
  } catch (error) {
    return `Func not available yet: cannot import @wtflow/core (${error instanceof Error ? error.message : String(error)})`
  }
}

/** Null when @wtflow/db (as built) has what the db scenarios use. */
async function dbAvailable(): Promise<string | null> {
  try {
    const db = { ...((await import('@wtflow/db')) as Record<string, unknown>), ...((await import('@wtflow/db/internal')) as Record<string, unknown>) }
    const missing = ['openDatabase', 'attachRecorder', 'insertRuns', 'syntheticRun'].filter(name => typeof db[name] !== 'function')
    return missing.length === 0 ? null : `@wtflow/db not available yet: its build lacks ${missing.join(', ')}`
  } catch (error) {
    return `@wtflow/db not available yet: cannot import it (${error instanceof Error ? error.message : String(error)})`
  }
}

async function pgAvailable(): Promise<string | null> {
  return (await dbAvailable()) ?? (await pgUnavailable(pgUrl()))
}

const eRepeat = Math.max(1, Math.floor(Number(process.env.BENCH_E_REPEAT ?? '1')) || 1)
const keepSeed = /^(1|true)$/i.test(process.env.BENCH_KEEP_SEED ?? '')
const cleanups: Array<{ what: string; run: () => Promise<void> }> = []
const seeds = new Map<string, Promise<void>>()

/** Undoes what setups created (PostgreSQL schemas, seeded files); called once at the end. */
export async function cleanup(log: (message: string) => void): Promise<void> {
  for (const { what, run } of cleanups.splice(0).reverse()) {
    try {
      await run()
      log(`cleanup: ${what}`)
    } catch (error) {
      log(`cleanup failed: ${what}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

/** The PostgreSQL schema of this bench run for tracked runs, dropped at the end. */
let trackingSchema: string | null = null
function pgTrackingSchema(): string {
  if (trackingSchema === null) {
    trackingSchema = `wtflow_bench_${process.pid}_${Date.now().toString(36)}`
    const schema = trackingSchema
    cleanups.push({ what: `drop schema ${schema}`, run: () => dropSchema(pgUrl(), schema) })
  }
  return trackingSchema
}

interface SeedPlan {
  runs: number
  nodes: number
}

/** Where the seeded history of a dialect lives (params for the db sides). */
function seedTarget(dialect: 'sqlite' | 'postgres', plan: SeedPlan, ctx: { resultsDir: string; tmpRoot: string }): Record<string, unknown> {
  const tag = `${plan.runs}x${plan.nodes}`
  if (dialect === 'sqlite') {
    const dir = keepSeed ? path.join(ctx.resultsDir, 'seed') : ctx.tmpRoot
    return { db: 'sqlite', file: path.join(dir, `history-${tag}.db`) }
  }
  return { db: pgUrl(), schema: keepSeed ? `wtflow_bench_seed_${tag}` : `wtflow_bench_seed_${process.pid}` }
}

/** Seeds the history of a dialect once per bench run (or reuses a kept one, BENCH_KEEP_SEED=1). */
function ensureSeed(dialect: 'sqlite' | 'postgres', plan: SeedPlan, ctx: SetupContext): Promise<void> {
  const key = `${dialect}:${plan.runs}x${plan.nodes}`
  let seeding = seeds.get(key)
  if (seeding === undefined) {
    seeding = (async () => {
      const target = seedTarget(dialect, plan, ctx)
      if (dialect === 'sqlite') {
        const file = target.file as string
        fs.mkdirSync(path.dirname(file), { recursive: true })
        if (keepSeed && fs.existsSync(file)) {
          ctx.log(`seed: reusing ${file} (BENCH_KEEP_SEED=1; delete it to reseed)`)
          return
        }
        fs.rmSync(file, { force: true })
        if (!keepSeed) cleanups.push({ what: `delete ${file}`, run: async () => fs.rmSync(file, { force: true }) })
      } else {
        const schema = target.schema as string
        if (!keepSeed) cleanups.push({ what: `drop schema ${schema}`, run: () => dropSchema(pgUrl(), schema) })
        else ctx.log(`seed: schema ${schema} is kept (BENCH_KEEP_SEED=1); a complete one is reused`)
      }
      ctx.log(`seed: ${dialect} history of ${plan.runs.toLocaleString('en')} runs × ${plan.nodes} nodes`)
      const result = await ctx.runSide(child('db-seed', { ...target, ...plan, reuse: keepSeed }), `seed-${dialect}`)
      ctx.log(`seed: ${dialect} ${result.extra?.reused === true ? 'reused' : `seeded in ${formatMs(result.wallMs)}`}`)
    })()
    seeds.set(key, seeding)
  }
  return seeding
}

/** The built `wtflow` bin, found through the package's public entry. */
function cliBin(): string {
  try {
    return path.join(path.dirname(fileURLToPath(import.meta.resolve('@wtflow/cli'))), 'bin.js')
  } catch {
    return path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'cli', 'dist', 'bin.js')
  }
}

async function cliAvailable(): Promise<string | null> {
  const bin = cliBin()
  if (!fs.existsSync(bin)) return `wtflow CLI not available yet: ${bin} is not built`
  const result = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8', timeout: 30_000 })
  return result.status === 0 ? null : `wtflow CLI not working yet: \`wtflow --version\` exited with ${result.status}: ${(result.stderr || result.stdout).trim().slice(0, 200)}`
}

/** Pass when the whole process takes ≤ maxMs (the `node -e 0` baseline is shown beside). */
function absoluteTarget(maxMs: number) {
  return (engine: Aggregate, baseline: Aggregate | undefined): Evaluation => {
    const ratio = baseline === undefined ? undefined : engine.wallMs / baseline.wallMs
    return engine.wallMs <= maxMs ? { status: 'pass', ratio } : { status: 'fail', ratio, note: `${formatMs(engine.wallMs)} > ${formatMs(maxMs)}` }
  }
}

/** Pass when the median latency of a history query is ≤ maxMs. */
function latencyTarget(maxMs: number) {
  return (engine: Aggregate): Evaluation => {
    const p95 = engine.runs.map(r => r.extra?.p95Ms).filter((v): v is number => typeof v === 'number')
    const note = p95.length ? `p95 ${formatMs(Math.min(...p95))}` : undefined
    return engine.wallMs <= maxMs
      ? { status: 'pass', note }
      : { status: 'fail', note: [note, `median ${formatMs(engine.wallMs)} > ${maxMs} ms`].filter(Boolean).join('; ') }
  }
}

/** (e): per-node time of the big tree over that of the small one. */
function scalingTarget(bigNodes: number, smallNodes: number, maxRatio: number, rssMb: number) {
  return (engine: Aggregate, baseline: Aggregate | undefined): Evaluation => {
    if (baseline === undefined) throw new Error('scaling target without the small tree')
    const ratio = engine.wallMs / bigNodes / (baseline.wallMs / smallNodes)
    const misses: string[] = []
    if (ratio > maxRatio) misses.push(`per-node time ${ratio.toFixed(2)}× that of the small tree > ${maxRatio}`)
    if (engine.rssKb > rssMb * 1024) misses.push(`RSS ${formatKb(engine.rssKb)} > ${rssMb} MB`)
    const perNode = `${((1000 * engine.wallMs) / bigNodes).toFixed(0)} µs/node vs ${((1000 * baseline.wallMs) / smallNodes).toFixed(0)} µs/node`
    const cpuRatio = engine.cpuMs / bigNodes / (baseline.cpuMs / smallNodes)
    return { status: misses.length === 0 ? 'pass' : 'fail', ratio, cpuRatio, note: [perNode, ...misses].join('; ') }
  }
}

export function scenarios(quick: boolean): Scenario[] {
  const commands = quick ? 50 : 1000
  const outputBytes = quick ? 16 * MiB : GiB
  const concurrency = 10
  // Func threads: the engine's pool has min(maxParallel, availableParallelism()) threads.
  const threads = Math.min(concurrency, availableParallelism())
  const funcs = quick ? 100 : 1000
  const diamondNodes = quick ? 100 : 1000
  const diamondRuns = quick ? 2 : 10
  const httpRequests = quick ? 100 : 1000
  const tree = quick ? { small: 2, big: 10, perGroup: 100 } : { small: 10, big: 100, perGroup: 1000 }
  const treeNodes = (groups: number) => 1 + groups + groups * tree.perGroup
  const seed: SeedPlan = quick ? { runs: 200, nodes: 100 } : { runs: 10_000, nodes: 100 }
  const queryIterations = quick ? 20 : 100
  const dbScenarios: Scenario[] = (['sqlite', 'postgres'] as const).flatMap(dialect => {
    const name = dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'
    const available = dialect === 'sqlite' ? dbAvailable : pgAvailable
    const short = dialect === 'sqlite' ? 'sqlite' : 'pg'
    const maxRatio = dialect === 'sqlite' ? 1.1 : 1.25
    let params: Record<string, unknown> = {}
    const setupQuery = async (ctx: SetupContext) => {
      await ensureSeed(dialect, seed, ctx)
      params = seedTarget(dialect, seed, ctx)
    }
    const query = (op: 'list' | 'get'): SideSpec => ({
      kind: 'child',
      side: 'db-query',
      get params() {
        return { ...params, op, iterations: queryIterations, runs: seed.runs }
      },
    })
    const history = `${seed.runs.toLocaleString('en')} runs × ${seed.nodes} nodes`
    return [
      {
        id: `db-${short}`,
        title: `(db) chain of ${commands} \`true\` recorded in ${name} vs tracking off`,
        target: `≤ ${maxRatio.toFixed(2)}×`,
        available,
        engine: {
          kind: 'child',
          side: 'engine-chain-tracked',
          get params() {
            return dialect === 'sqlite' ? { count: commands, db: 'sqlite' } : { count: commands, db: pgUrl(), schema: pgTrackingSchema() }
          },
        },
        baseline: child('engine-chain-tracked', { count: commands, db: 'none' }),
        evaluate: ratioTarget(maxRatio),
      },
      {
        id: `db-${short}-list`,
        title: `(db) ${name}: list the newest 50 runs of ${history} (median of ${queryIterations})`,
        target: 'median ≤ 20 ms',
        available,
        setup: setupQuery,
        engine: query('list'),
        evaluate: latencyTarget(20),
      },
      {
        id: `db-${short}-show`,
        title: `(db) ${name}: load one run of ${seed.nodes} nodes from ${history} (median of ${queryIterations})`,
        target: 'median ≤ 20 ms',
        available,
        setup: setupQuery,
        engine: query('get'),
        evaluate: latencyTarget(20),
      },
    ]
  })
  return [
    {
      id: 'a',
      title: `(a) chain of ${commands} \`true\` (depth ${commands}) vs sequential execa loop`,
      target: '≤ 1.10×',
      engine: child('engine-chain', { count: commands, names: 'short' }),
      baseline: child('execa-seq', { count: commands }),
      evaluate: ratioTarget(1.1),
    },
    {
      id: 'b',
      title: `(b) ${commands} parallel \`true\`, maxParallel ${concurrency} vs execa pool of ${concurrency}`,
      target: '≤ 1.10×',
      engine: child('engine-parallel', { count: commands, concurrency }),
      baseline: child('execa-pool', { count: commands, concurrency }),
      evaluate: ratioTarget(1.1),
    },
    {
      id: 'd',
      title: `(d) ${outputBytes / MiB} MiB of 64-byte lines captured vs shell \`> file\``,
      target: '≤ 1.25×, RSS ≤ 150 MB',
      engine: child('engine-output', { bytes: outputBytes }),
      baseline: child('shell-redirect', { bytes: outputBytes }),
      evaluate: ratioTarget(1.25, { rssMb: 150 }),
    },
    {
      id: 'c',
      title: `(c) ${funcs} parallel no-op Funcs, maxParallel ${concurrency} (${threads} threads) vs tinypool loop`,
      target: '≤ 1.5×, < 1 s',
      available: funcAvailable,
      engine: child('engine-funcs', { count: funcs, concurrency }),
      baseline: child('tinypool-loop', { count: funcs, concurrency, threads }),
      evaluate: ratioTarget(1.5, { wallMs: 1000 }),
    },
    {
      id: 'e',
      title: `(e) ${treeNodes(tree.big).toLocaleString('en')} no-op Func nodes (${tree.big} parallel groups of ${tree.perGroup}) vs ${treeNodes(tree.small).toLocaleString('en')} (${tree.small} groups); ratio = per-node time`,
      target: 'per-node ≤ 1.25×, RSS ≤ 1 GB',
      available: funcAvailable,
      // The big tree takes minutes: one run of each tree unless BENCH_E_REPEAT says otherwise.
      repeat: () => eRepeat,
      engine: child('engine-func-tree', { groups: tree.big, perGroup: tree.perGroup, concurrency }),
      baseline: child('engine-func-tree', { groups: tree.small, perGroup: tree.perGroup, concurrency }),
      evaluate: scalingTarget(treeNodes(tree.big), treeNodes(tree.small), 1.25, 1024),
    },
    {
      id: 'f',
      title: `(f) diamond of ${diamondNodes} no-op executables by \`after\` (1 → ${diamondNodes - 2} parallel → 1), ${diamondRuns} runs, vs the same shape as a tree`,
      target: '≤ 1.10×',
      engine: child('engine-diamond', { nodes: diamondNodes, shape: 'after', runs: diamondRuns, concurrency }),
      baseline: child('engine-diamond', { nodes: diamondNodes, shape: 'tree', runs: diamondRuns, concurrency }),
      evaluate: ratioTarget(1.1),
    },
    {
      id: 'g',
      title: `(g) ${httpRequests} \`Http\` GETs to a local server, maxParallel ${concurrency} vs a fetch loop with ${concurrency} in flight`,
      target: '≤ 1.5×',
      engine: child('engine-http', { count: httpRequests, concurrency }),
      baseline: child('fetch-pool', { count: httpRequests, concurrency }),
      evaluate: ratioTarget(1.5),
    },
    ...flowScenarios(quick, commands),
    ...dbScenarios,
    ...cliScenarios(seed, outputBytes),
    ...peerScenarios(quick, cliBin, cliAvailable),
    ...serverScenarios(seed, quick),
  ]
}

/** Null when @wtflow/flow (as built) can load flows. */
async function flowAvailable(): Promise<string | null> {
  try {
    const flow = (await import('@wtflow/flow')) as Record<string, unknown>
    return typeof flow.loadFlow === 'function' ? null : '@wtflow/flow not available yet: its build lacks loadFlow'
  } catch (error) {
    return `@wtflow/flow not available yet: cannot import it (${error instanceof Error ? error.message : String(error)})`
  }
}

function flowScenarios(quick: boolean, commands: number): Scenario[] {
  const tree = quick ? { groups: 10, perGroup: 100 } : { groups: 100, perGroup: 100 }
  const steps = tree.groups * tree.perGroup
  return [
    {
      id: 'flow-load',
      title: `(flow) load and validate a ${steps.toLocaleString('en')}-step YAML flow (${tree.groups} parallel groups) vs import a TypeScript script that declares the same ${steps.toLocaleString('en')} nodes (tsx) and validate it`,
      target: '≤ 2×, ≤ 1 s',
      available: flowAvailable,
      engine: child('flow-load', tree),
      baseline: child('script-load', { ...tree, style: 'written' }),
      evaluate: ratioTarget(2, { wallMs: 1000 }),
    },
    {
      id: 'flow-load-loop',
      title: `(flow) the same YAML flow vs a script that builds the same tree in two loops (a 20-line file)`,
      target: 'info',
      available: flowAvailable,
      engine: child('flow-load', tree),
      baseline: child('script-load', { ...tree, style: 'loop' }),
      evaluate: (engine, baseline) => ({ status: 'info', ratio: baseline === undefined ? undefined : engine.wallMs / baseline.wallMs }),
    },
    {
      id: 'flow-chain',
      title: `(flow) ${commands} \`true\` steps in sequence as a YAML flow (loaded and run) vs the same tree built in TypeScript`,
      target: '≤ 1.05×',
      available: flowAvailable,
      engine: child('flow-chain', { count: commands }),
      baseline: child('script-chain', { count: commands }),
      evaluate: ratioTarget(1.05),
    },
  ]
}

/** Null when @wtflow/server is built and Debian's chromium is there (for the page scenario). */
async function serverAvailable(needsBrowser: boolean): Promise<string | null> {
  try {
    await import('@wtflow/server')
  } catch (error) {
    return `@wtflow/server not available: ${error instanceof Error ? error.message : String(error)}`
  }
  const browser = process.env.WTFLOW_CHROMIUM ?? '/usr/bin/chromium'
  return needsBrowser && !fs.existsSync(browser) ? `no Chromium at ${browser} (apt-get install chromium)` : null
}

/** `wtflow serve`: API latency at a steady rate, live-log delivery, the run page in Chromium. */
function serverScenarios(seed: SeedPlan, quick: boolean): Scenario[] {
  const seconds = quick ? 3 : 10
  const history = `${seed.runs.toLocaleString('en')} runs × ${seed.nodes} nodes`
  const list = (dialect: 'sqlite' | 'postgres'): Scenario => {
    let params: Record<string, unknown> = {}
    return {
      id: `server-${dialect === 'sqlite' ? 'sqlite' : 'pg'}-list`,
      title: `(server) \`GET /api/v1/runs?limit=50\` at 200 requests/s for ${seconds} s, ${dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'} history of ${history}`,
      target: 'p99 ≤ 20 ms',
      available: async () => (await serverAvailable(false)) ?? (dialect === 'postgres' ? await pgAvailable() : await dbAvailable()),
      async setup(ctx) {
        await ensureSeed(dialect, seed, ctx)
        params = seedTarget(dialect, seed, ctx)
      },
      engine: {
        kind: 'child',
        side: 'server-list',
        get params() {
          return { ...params, rate: 200, seconds }
        },
      },
      evaluate: percentileTarget(20, 'p99'),
    }
  }
  return [
    list('sqlite'),
    list('postgres'),
    {
      id: 'server-log',
      title: `(server) a log line written by a command → delivered to an SSE client, while the node prints 10 MB/s for ${seconds} s`,
      target: 'p99 ≤ 100 ms',
      available: () => serverAvailable(false),
      engine: child('server-log', { rate: Number(process.env.BENCH_LOG_RATE ?? 10 * 1000 * 1000), seconds }),
      evaluate: percentileTarget(100, 'p99'),
    },
    {
      id: 'server-log-view',
      title: `(server) a node's page in headless Chromium following its log while it prints 10 MB/s for ${seconds} s: longest gap between frames`,
      target: 'longest frame gap ≤ 200 ms',
      available: () => serverAvailable(true),
      engine: child('server-log-view', { rate: Number(process.env.BENCH_LOG_RATE ?? 10 * 1000 * 1000), seconds }),
      evaluate: (engine: Aggregate): Evaluation => {
        const p99 = Math.min(...engine.runs.map(r => Number(r.extra?.p99Ms ?? Infinity)))
        const note = `p99 frame ${formatMs(p99)}`
        return engine.wallMs <= 200 ? { status: 'pass', note } : { status: 'fail', note: `${note}; longest ${formatMs(engine.wallMs)} > 200 ms` }
      },
    },
    {
      id: 'server-page',
      title: '(server) first load of the page of a 1,000-node run in headless Chromium: transferred, time to interactive',
      target: '≤ 300 KB, ≤ 1 s',
      available: () => serverAvailable(true),
      engine: child('server-page', { nodes: 1000 }),
      evaluate: (engine: Aggregate): Evaluation => {
        const bytes = Math.max(...engine.runs.map(r => Number(r.extra?.transferredBytes ?? Infinity)))
        const misses: string[] = []
        if (bytes > 300 * 1024) misses.push(`${(bytes / 1024).toFixed(0)} KB > 300 KB`)
        if (engine.wallMs > 1000) misses.push(`interactive after ${formatMs(engine.wallMs)} > 1 s`)
        return { status: misses.length === 0 ? 'pass' : 'fail', note: [`${(bytes / 1024).toFixed(0)} KB transferred`, ...misses].join('; ') }
      },
    },
  ]
}

/** Pass when the side's wall time (a latency percentile) is ≤ maxMs; shows p50 too. */
function percentileTarget(maxMs: number, label: string) {
  return (engine: Aggregate): Evaluation => {
    const p50 = engine.runs.map(r => r.extra?.p50Ms).filter((v): v is number => typeof v === 'number')
    const note = p50.length ? `p50 ${formatMs(Math.min(...p50))}` : undefined
    return engine.wallMs <= maxMs ? { status: 'pass', note } : { status: 'fail', note: [note, `${label} ${formatMs(engine.wallMs)} > ${maxMs} ms`].filter(Boolean).join('; ') }
  }
}

function cliScenarios(seed: SeedPlan, outputBytes: number): Scenario[] {
  const wtfile = fileURLToPath(new URL('./src/fixtures/cli-wtfile.ts', import.meta.url))
  const outputFile = fileURLToPath(new URL('./src/fixtures/cli-output.ts', import.meta.url))
  // `wtflow run --output-logs MODE` of one command writing outputBytes, stdout to /dev/null, history off.
  const outputRun = (mode: string): SideSpec => ({
    kind: 'process',
    label: `wtflow run --output-logs ${mode} > /dev/null`,
    run: options =>
      timeNodeProcess([cliBin(), 'run', outputFile, '--output-logs', mode], {
        ...options,
        stdoutToDevNull: true,
        timeoutMs: Math.max(options.timeoutMs, 600_000),
        env: { WTFLOW_DB_URL: 'none', BENCH_OUTPUT_BYTES: String(outputBytes) },
      }),
  })
  const nodeE0: SideSpec = { kind: 'process', label: 'node -e 0', run: options => timeNodeProcess(['-e', '0'], options) }
  // One working directory for every `wtflow run` of this bench run: its default history
  // (.wtflow/wtflow.db) exists after the warm-up, as it would for a user.
  let runCwd = ''
  let seedParams: Record<string, unknown> = {}
  return [
    {
      id: 'cli-run',
      title: '(cli) `wtflow run` of a one-node workflow (whole process, SQLite history on) vs `node -e 0`',
      target: '≤ 0.6 s',
      available: cliAvailable,
      async setup(ctx) {
        runCwd = path.join(ctx.tmpRoot, 'cli-run')
        fs.mkdirSync(runCwd, { recursive: true })
        ctx.log('cli-run: warm-up run (creates the history, warms the tsx cache)')
        await timeNodeProcess([cliBin(), 'run', wtfile], { tmpDir: runCwd, cwd: runCwd, buildDir: ctx.buildDir, timeoutMs: 60_000 })
      },
      engine: { kind: 'process', label: 'wtflow run cli-wtfile.ts', run: options => timeNodeProcess([cliBin(), 'run', wtfile], { ...options, cwd: runCwd }) },
      baseline: nodeE0,
      evaluate: absoluteTarget(600),
    },
    {
      id: 'cli-runs',
      title: `(cli) \`wtflow runs --limit 50\` on a SQLite history of ${seed.runs.toLocaleString('en')} runs (whole process) vs \`node -e 0\``,
      target: '≤ 0.4 s',
      available: async () => (await cliAvailable()) ?? (await dbAvailable()),
      async setup(ctx) {
        await ensureSeed('sqlite', seed, ctx)
        seedParams = seedTarget('sqlite', seed, ctx)
      },
      engine: {
        kind: 'process',
        label: 'wtflow runs --limit 50',
        run: options => timeNodeProcess([cliBin(), 'runs', '--limit', '50'], { ...options, env: { WTFLOW_DB_URL: `sqlite://${seedParams.file as string}` } }),
      },
      baseline: nodeE0,
      evaluate: absoluteTarget(400),
    },
    {
      id: 'cli-output',
      title: `(cli) \`wtflow run --output-logs full\` of ${outputBytes / MiB} MiB of 64-byte lines, stdout to /dev/null (whole process) vs \`--output-logs none\``,
      target: '≤ 2×, RSS < 150 MB',
      available: cliAvailable,
      engine: outputRun('full'),
      baseline: outputRun('none'),
      evaluate: ratioTarget(2, { rssMb: 150 }),
    },
  ]
}
