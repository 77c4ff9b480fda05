/**
 * wtflow benchmarks: `npm run bench` (root) or `npm run bench -w @wtflow/bench`.
 *
 * Every scenario is measured beside its baseline in the same run, each side in a fresh child
 * process (plain node, see build.ts), repeated BENCH_REPEAT times with the sides alternating.
 * Prints one markdown table on stdout, progress on stderr, and writes results/latest.json.
 *
 * Environment:
 *   BENCH_REPEAT=3        repetitions of each side (sides alternate; the max peak RSS is kept)
 *   BENCH_STAT=best       best (lowest) or median wall/CPU time of the repetitions; best resists
 *                         load from other processes, which only ever adds time
 *   BENCH_PROFILE=1       run every side under --cpu-prof (results/profiles/; summarize with
 *                         `npx tsx profile.ts FILE`); timings then include profiler overhead
 *   BENCH_ONLY=a,b,db     scenarios to run: ids, or prefixes before a dash (`db` = db-sqlite,
 *                         db-sqlite-list…, `db-pg` = the PostgreSQL ones); default all
 *   BENCH_QUICK=1         small sizes, to check that everything works (numbers meaningless)
 *   BENCH_TMPDIR=dir      scratch directory for artifacts and output files (default results/tmp)
 *   BENCH_TIMEOUT=1800    seconds before a side is killed
 *   BENCH_E_REPEAT=1      repetitions of scenario (e) (its 100,000-node tree takes minutes)
 *   BENCH_KEEP_SEED=1     keep the seeded 10,000-run histories (results/seed/*.db, PostgreSQL
 *                         schema wtflow_bench_seed_*) and reuse them next time
 *   BENCH_NICE=-10        scheduling priority of the measured processes (negative needs root):
 *                         on a shared machine, keeps other load from swamping the measurement
 *   WTFLOW_BENCH_PG_URL   PostgreSQL server for the db scenarios (default postgres://postgres@127.0.0.1:5432/test)
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildChildren } from './build.js'
import { applyNice, nice } from './nice.js'
import { formatKb, formatMs } from './src/format.js'
import { median } from './src/measure.js'
import { MARKER, type SideRequest, type SideResult } from './src/protocol.js'
import { cleanup, scenarios, type Aggregate, type Evaluation, type Scenario, type SideSpec } from './scenarios.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const resultsDir = path.join(here, 'results')
const repeat = positiveInt(process.env.BENCH_REPEAT, 3, 'BENCH_REPEAT')
const timeoutMs = positiveInt(process.env.BENCH_TIMEOUT, 1800, 'BENCH_TIMEOUT') * 1000
const quick = /^(1|true)$/i.test(process.env.BENCH_QUICK ?? '')
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map(s => s.trim())
  .filter(Boolean)
const stat = (process.env.BENCH_STAT ?? 'best').toLowerCase()
if (stat !== 'best' && stat !== 'median') throw new Error(`BENCH_STAT must be best or median, got "${process.env.BENCH_STAT}"`)
const profile = /^(1|true)$/i.test(process.env.BENCH_PROFILE ?? '')
const profileDir = path.join(resultsDir, 'profiles')
const tmpRoot = path.resolve(process.env.BENCH_TMPDIR ?? path.join(resultsDir, 'tmp'), `run-${process.pid}`)

interface Row {
  id: string
  title: string
  target: string
  status: 'pass' | 'fail' | 'skipped' | 'error' | 'info'
  note?: string
  engine?: Aggregate
  baseline?: Aggregate
  ratio?: number | undefined
  /** Engine CPU time (process + children) over the baseline's: steadier than wall time on a busy machine. */
  cpuRatio?: number | undefined
  /** Median of the ratios of repetitions run back to back (whatever BENCH_STAT is): how typical the verdict is. */
  medianRatio?: number | undefined
}

/** 1-minute load averages seen around every side, for the header. */
const loads: number[] = []

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}

async function main(): Promise<void> {
  const selected = scenarios(quick).filter(s => only.length === 0 || only.some(o => s.id === o || s.id.startsWith(`${o}-`)))
  if (selected.length === 0) throw new Error(`BENCH_ONLY=${process.env.BENCH_ONLY} matches no scenario; ids: ${scenarios(quick).map(s => s.id).join(', ')}`)
  log(`transpiling bench/src for the child processes`)
  const buildDir = buildChildren()
  fs.mkdirSync(tmpRoot, { recursive: true })
  const startedAt = new Date()
  log(`${selected.length} scenario(s), ${repeat} repetition(s) each${quick ? ', QUICK sizes' : ''}; scratch ${tmpRoot}`)

  const rows: Row[] = []
  try {
    for (const scenario of selected) rows.push(await runScenario(scenario, buildDir))
  } finally {
    await cleanup(log)
    fs.rmSync(tmpRoot, { recursive: true, force: true })
    if (!profile) fs.rmSync(buildDir, { recursive: true, force: true })
  }

  const table = renderTable(rows, startedAt)
  process.stdout.write(`${table}\n`)
  fs.mkdirSync(resultsDir, { recursive: true })
  const file = path.join(resultsDir, 'latest.json')
  const document = {
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    environment: environment(),
    repeat,
    stat,
    quick,
    profiled: profile,
    nice: nice ?? null,
    rows,
    table,
  }
  fs.writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`)
  log(`wrote ${path.relative(process.cwd(), file)}`)
  if (rows.some(r => r.status === 'error')) process.exitCode = 1
}

async function runScenario(scenario: Scenario, buildDir: string): Promise<Row> {
  const base: Row = { id: scenario.id, title: scenario.title, target: scenario.target, status: 'skipped' }
  const reason = (await scenario.available?.()) ?? null
  if (reason !== null) {
    log(`${scenario.id}: SKIPPED: ${reason}`)
    return { ...base, note: reason }
  }
  const reps = scenario.repeat?.(repeat) ?? repeat
  const results: { engine: SideResult[]; baseline: SideResult[] } = { engine: [], baseline: [] }
  try {
    await scenario.setup?.({ runSide: (spec, name) => runSide(spec, buildDir, name), log, resultsDir, tmpRoot, buildDir })
    for (let rep = 1; rep <= reps; rep++) {
      // Alternate which side goes first, so that drift (page cache, other load) hits both.
      const order: Array<'engine' | 'baseline'> = rep % 2 === 1 ? ['baseline', 'engine'] : ['engine', 'baseline']
      for (const which of order) {
        const spec = scenario[which]
        if (spec === undefined) continue
        const label = `${scenario.id} ${which} ${rep}/${reps}`
        log(`${label}: ${describeSpec(spec)}`)
        const load = os.loadavg()[0]!
        const result = await runSide(spec, buildDir, `${scenario.id}-${which}-${rep}`)
        result.extra = { ...result.extra, loadAvg: Math.max(load, os.loadavg()[0]!) }
        loads.push(load, os.loadavg()[0]!)
        log(`${label}: ${formatMs(result.wallMs)}, peak RSS ${formatKb(result.rssKb)}${result.cpuMs === undefined ? '' : `, CPU ${formatMs(result.cpuMs + (result.childCpuMs ?? 0))}`}`)
        results[which].push(result)
      }
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    log(`${scenario.id}: ERROR: ${message}`)
    return { ...base, status: 'error', note: message.split('\n')[0] }
  }
  const engine = aggregate(results.engine, stat)
  const baseline = results.baseline.length > 0 ? aggregate(results.baseline, stat) : undefined
  const evaluation: Evaluation = scenario.evaluate(engine, baseline)
  // Repetition i of both sides ran back to back: their ratio is immune to the machine drifting
  // between repetitions, and the median of those ratios to one lucky or unlucky pair.
  const pairedRatios = results.baseline.length === 0
    ? []
    : results.engine.flatMap((run, i) => {
        const other = results.baseline[i]
        const ratio = other === undefined ? undefined : scenario.evaluate(aggregate([run], 'best'), aggregate([other], 'best')).ratio
        return ratio === undefined ? [] : [ratio]
      })
  const medianRatio = pairedRatios.length === 0 ? undefined : median(pairedRatios)
  const cpuRatio = evaluation.cpuRatio ?? (baseline === undefined ? undefined : engine.cpuMs / baseline.cpuMs)
  const row: Row = {
    ...base,
    engine,
    baseline,
    ratio: evaluation.ratio,
    cpuRatio: Number.isFinite(cpuRatio) ? cpuRatio : undefined,
    medianRatio,
    status: evaluation.status,
    note: evaluation.note,
  }
  log(`${scenario.id}: ${row.status.toUpperCase()}${row.ratio === undefined ? '' : ` (ratio ${row.ratio.toFixed(2)})`}${row.note ? ` ${row.note}` : ''}`)
  return row
}

function aggregate(runs: SideResult[], statistic: string): Aggregate {
  const pick = (values: number[]) => (statistic === 'best' ? Math.min(...values) : median(values))
  return {
    wallMs: pick(runs.map(r => r.wallMs)),
    rssKb: Math.max(...runs.map(r => r.rssKb)),
    cpuMs: pick(runs.map(r => (r.cpuMs ?? NaN) + (r.childCpuMs ?? 0))),
    runs,
  }
}

function describeSpec(spec: SideSpec): string {
  return spec.kind === 'process' ? spec.label : `${spec.side} ${JSON.stringify(spec.params)}`
}

/** Runs one side in a fresh process and returns what it measured. */
async function runSide(spec: SideSpec, buildDir: string, name: string): Promise<SideResult> {
  const tmpDir = path.join(tmpRoot, name)
  if (spec.kind === 'process') {
    try {
      return await spec.run({ tmpDir, buildDir, timeoutMs })
    } finally {
      fs.rmSync(tmpDir, { recursive: true, force: true })
    }
  }
  const request: SideRequest = { side: spec.side, params: spec.params, tmpDir }
  const profiling = profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []
  const child = spawn(process.execPath, [...profiling, ...(spec.nodeArgs ?? []), path.join(buildDir, 'child.js'), JSON.stringify(request)], {
    cwd: here,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...spec.env },
  })
  applyNice(child.pid)
  let stdout = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk
    if (stdout.length > 1 << 20) stdout = stdout.slice(-(1 << 16))
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (c, s) => resolve([c, s]))
  }).finally(() => clearTimeout(timer))
  await new Promise<void>(resolve => (child.stdout.readableEnded ? resolve() : child.stdout.once('end', resolve)))
  fs.rmSync(tmpDir, { recursive: true, force: true })
  const line = stdout.split('\n').find(l => l.startsWith(MARKER))
  if (code !== 0 || line === undefined) {
    throw new Error(`side ${spec.side} exited with ${signal ?? `code ${code}`}${signal === 'SIGKILL' ? ` (timeout ${timeoutMs / 1000} s?)` : ''}; see stderr above`)
  }
  return JSON.parse(line.slice(MARKER.length)) as SideResult
}

// -- output ------------------------------------------------------------------------------------

function renderTable(rows: Row[], startedAt: Date): string {
  const env = environment()
  const lines = [
    `**wtflow bench** ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC · node ${env.node} · ${env.cpus}× ${env.cpuModel} · ${env.memGb} GB · ` +
      `${repeat === 1 ? '1 run' : `${stat} of ${repeat}`} per side, each in a fresh process, sides alternating · ` +
      (loads.length === 0 ? 'nothing measured' : `load avg ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}${Math.max(...loads) > env.cpus ? ' (**busy machine: wall times noisy**)' : ''}`) +
      `${nice === undefined ? '' : ` · nice ${nice}`}${quick ? ' · **QUICK sizes: not comparable**' : ''}${profile ? ' · **profiled**' : ''}`,
    '',
    'wall: the measured operation in its process (imports excluded); ratio: engine wall / baseline wall; ' +
      'median ratio: median over repetitions of engine/baseline run back to back (robust to drift); ' +
      'CPU ratio: engine CPU time (its process + children) / baseline\'s, steadier than wall time when the machine is shared.',
    '',
    '| scenario | wall | peak RSS | baseline wall | baseline RSS | ratio | target | result | median ratio | CPU ratio |',
    '|---|--:|--:|--:|--:|--:|---|---|--:|--:|',
  ]
  for (const row of rows) {
    const result =
      row.status === 'pass' ? '✅ pass' : row.status === 'fail' ? '❌ FAIL' : row.status === 'info' ? 'info' : row.status === 'error' ? '💥 error' : '⏭ skipped'
    const note = row.note ? ` — ${row.note.replace(/\|/g, '\\|')}` : ''
    lines.push(
      `| ${row.title} | ${row.engine ? formatMs(row.engine.wallMs) : '—'} | ${row.engine ? formatKb(row.engine.rssKb) : '—'} | ` +
        `${row.baseline ? formatMs(row.baseline.wallMs) : '—'} | ${row.baseline ? formatKb(row.baseline.rssKb) : '—'} | ` +
        `${row.ratio === undefined ? '—' : `${row.ratio.toFixed(2)}×`} | ${row.target} | ${result}${note} | ` +
        `${row.medianRatio === undefined ? '—' : `${row.medianRatio.toFixed(2)}×`} | ` +
        `${row.cpuRatio === undefined ? '—' : `${row.cpuRatio.toFixed(2)}×`} |`,
    )
  }
  return lines.join('\n')
}

function environment() {
  const cpus = os.cpus()
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: cpus.length,
    cpuModel: (cpus[0]?.model ?? 'cpu').replace(/\s+/g, ' ').trim(),
    memGb: Math.round(os.totalmem() / 2 ** 30),
  }
}

function positiveInt(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${value}"`)
  return n
}

main().catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  process.exitCode = 1
})
