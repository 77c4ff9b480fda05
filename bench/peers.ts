/**
 * Whole-process rows against what a user would pick instead of wtflow: a bash loop, `xargs -P`,
 * GNU make -j and the Python wtflow (../shared/peers/wtflow-py). Every side is a process started
 * and timed the same way (spawn → exit, under /usr/bin/time for CPU and peak RSS); wtflow is
 * `wtflow run` of a TypeScript script, history off unless said, its output to a file.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { applyNice } from './nice.js'
import { childEnv, type ProcessRun } from './process-side.js'
import type { Aggregate, Evaluation, Scenario, SetupContext, SideSpec } from './scenarios.js'
import type { SideResult } from './src/protocol.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const treeScript = path.join(here, 'src', 'fixtures', 'peer-tree.ts')
const PY_PEER = process.env.BENCH_PY_PEER ?? path.resolve(here, '..', '..', 'shared', 'peers', 'wtflow-py')
/** Where the bench keeps the Python peer's virtual environment (gitignored). */
const PY_VENV = process.env.BENCH_PY_VENV ?? path.join(here, 'results', 'pyvenv')
const TIME = '/usr/bin/time'

interface Command {
  file: string
  args: string[]
  cwd?: string
  env?: Record<string, string>
}

/**
 * Times one process: wall from spawn to exit; CPU (user + system of it and everything it
 * waited for) and peak RSS from GNU time. stdout and stderr go to a file, as a user's CI log would.
 */
export async function timeCommand(command: Command, options: ProcessRun): Promise<SideResult> {
  fs.mkdirSync(options.tmpDir, { recursive: true })
  const stamp = process.hrtime.bigint()
  const timeFile = path.join(options.tmpDir, `time-${stamp}.txt`)
  const outFile = path.join(options.tmpDir, `out-${stamp}.log`)
  const out = fs.openSync(outFile, 'w')
  const env = childEnv(command.env)
  const start = performance.now()
  const child = spawn(TIME, ['-f', '%U %S %M', '-o', timeFile, command.file, ...command.args], { cwd: command.cwd ?? options.tmpDir, env, stdio: ['ignore', out, out] })
  fs.closeSync(out)
  applyNice(child.pid)
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (c, s) => resolve([c, s]))
  }).finally(() => clearTimeout(timer))
  const wallMs = performance.now() - start
  const output = fs.readFileSync(outFile, 'utf8')
  fs.rmSync(outFile, { force: true })
  if (code !== 0) throw new Error(`${command.file} ${command.args.join(' ')} exited with ${signal ?? `code ${code}`}: ${output.trim().slice(-1000)}`)
  const [user, system, rssKb] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
  fs.rmSync(timeFile, { force: true })
  return { wallMs, rssKb: rssKb!, cpuMs: (user! + system!) * 1000, childCpuMs: 0, extra: { output: output.trim().slice(-300) } }
}

function side(label: string, make: (options: ProcessRun) => Command): SideSpec {
  return {
    kind: 'process',
    label,
    run: options => {
      fs.mkdirSync(options.tmpDir, { recursive: true })
      return timeCommand(make(options), options)
    },
  }
}

/** `wtflow run peer-tree.ts`: `shape` chain | wide | one | out, history off unless `history`. */
function wtflow(cliBin: () => string, shape: string, n: number, extra: { history?: boolean } = {}): SideSpec {
  const history = extra.history === true
  return side(`wtflow run (${shape}${history ? ', SQLite history' : ', history off'})`, options => ({
    cwd: warmDir,
    file: process.execPath,
    args: [cliBin(), 'run', treeScript],
    env: {
      PEER_SHAPE: shape,
      PEER_N: String(n),
      WTFLOW_MAX_PARALLEL: '10',
      WTFLOW_ARTIFACTS_DIR: path.join(options.tmpDir, `artifacts-${process.hrtime.bigint()}`),
      // The history file outlives the repetitions (made by the warm-up), as a user's would.
      WTFLOW_DB_URL: history ? `sqlite://${path.join(warmDir, 'history.db')}` : 'none',
    },
  }))
}

function bash(label: string, script: string): SideSpec {
  return side(label, () => ({ file: 'bash', args: ['-c', script] }))
}

function make(label: string, makefile: (n: number) => string, n: number): SideSpec {
  return side(label, options => {
    const file = path.join(options.tmpDir, `Makefile-${label.replace(/\W+/g, '-')}`)
    if (!fs.existsSync(file)) fs.writeFileSync(file, makefile(n))
    return { file: 'make', args: ['-s', '-j10', '-f', file] }
  })
}

function python(kind: string, n: number): SideSpec {
  return side(`Python wtflow (${kind})`, options => ({
    file: path.join(PY_VENV, 'bin', 'python'),
    args: [path.join(PY_PEER, 'driver.py'), kind, String(n)],
    env: { WTFLOW_PY_SRC: path.join(PY_PEER, 'src'), WTFLOW_ARTIFACTS_DIR: fs.mkdtempSync(path.join(options.tmpDir, 'py-')) },
  }))
}

/** A chain of `n` targets, each running `true` after the previous one. */
function chainMakefile(n: number): string {
  const lines = [`all: t${n - 1}`, 't0:\n\t@true']
  for (let i = 1; i < n; i++) lines.push(`t${i}: t${i - 1}\n\t@true`)
  return `.PHONY: all ${Array.from({ length: n }, (_, i) => `t${i}`).join(' ')}\n${lines.join('\n')}\n`
}

/** `n` independent targets, each running `true`. */
function wideMakefile(n: number): string {
  const names = Array.from({ length: n }, (_, i) => `t${i}`)
  return `.PHONY: all ${names.join(' ')}\nall: ${names.join(' ')}\n${names.map(name => `${name}:\n\t@true`).join('\n')}\n`
}

let pythonChecked: Promise<string | null> | undefined
/** Null when the Python peer can run: its virtual environment exists or is made now (SQLAlchemy from pip). */
function pythonAvailable(): Promise<string | null> {
  pythonChecked ??= (async () => {
    if (!fs.existsSync(path.join(PY_PEER, 'driver.py'))) return `the Python wtflow is not at ${PY_PEER} (set BENCH_PY_PEER)`
    const py = path.join(PY_VENV, 'bin', 'python')
    const works = () => spawnSync(py, ['-c', 'import sqlalchemy.orm; sqlalchemy.orm.DeclarativeBase'], { stdio: 'ignore' }).status === 0
    if (fs.existsSync(py) && works()) return null
    process.stderr.write(`peers: setting up the Python wtflow's virtual environment in ${PY_VENV} (python3 -m venv, pip install sqlalchemy)\n`)
    const venv = spawnSync('python3', ['-m', 'venv', PY_VENV], { encoding: 'utf8' })
    if (venv.status !== 0) return `cannot create a Python virtual environment (python3 -m venv: ${(venv.stderr || 'not found').trim().slice(0, 200)})`
    const pip = spawnSync(path.join(PY_VENV, 'bin', 'pip'), ['install', '-q', 'sqlalchemy>=2'], { encoding: 'utf8', timeout: 300_000 })
    if (pip.status !== 0 || !works()) return `cannot install SQLAlchemy 2 for the Python wtflow (pip: ${(pip.stderr || '').trim().split('\n').at(-1)?.slice(0, 200)}); set BENCH_PY_VENV to a venv that has it`
    return null
  })()
  return pythonChecked
}

function toolAvailable(tool: string): () => Promise<string | null> {
  return async () => (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0 ? null : `${tool} is not installed`)
}

/** Pass when engine ≤ maxRatio × baseline (whole processes); `info` rows only show the ratio. */
function peerTarget(maxRatio: number | null) {
  return (engine: Aggregate, baseline: Aggregate | undefined): Evaluation => {
    const ratio = engine.wallMs / baseline!.wallMs
    if (maxRatio === null) return { status: 'info', ratio }
    return ratio <= maxRatio ? { status: 'pass', ratio } : { status: 'fail', ratio, note: `ratio ${ratio.toFixed(2)} > ${maxRatio}` }
  }
}

/** Where `wtflow run` runs: its history file and tsx's cache are made once, by the warm-up. */
let warmDir = ''
let warmed: Promise<void> | undefined
function warmUp(cliBin: () => string) {
  return (ctx: SetupContext): Promise<void> => {
    warmed ??= (async () => {
      warmDir = path.join(ctx.tmpRoot, 'peers')
      fs.mkdirSync(warmDir, { recursive: true })
      ctx.log('peers: warm-up `wtflow run` (creates the history, warms the TypeScript cache)')
      await timeCommand(
        { file: process.execPath, args: [cliBin(), 'run', treeScript], cwd: warmDir, env: { PEER_SHAPE: 'one', PEER_N: '1', WTFLOW_DB_URL: `sqlite://${path.join(warmDir, 'history.db')}`, WTFLOW_ARTIFACTS_DIR: path.join(warmDir, 'artifacts') } },
        { tmpDir: warmDir, buildDir: ctx.buildDir, timeoutMs: 120_000 },
      )
    })()
    return warmed
  }
}

/** The one-node start-up time measured by `peer-one` in this run, for the capture row. */
let oneNodeMs: number | undefined

export function peerScenarios(quick: boolean, cliBin: () => string, cliAvailable: () => Promise<string | null>): Scenario[] {
  const n = quick ? 100 : 1000
  const captureMiB = quick ? 64 : 1024
  const both = (...checks: Array<() => Promise<string | null>>) => async () => {
    for (const check of checks) {
      const reason = await check()
      if (reason !== null) return reason
    }
    return null
  }
  const withTime = toolAvailable(TIME)
  const setup = warmUp(cliBin)
  const rows: Scenario[] = [
    {
      id: 'peer-chain-bash',
      title: `(peers) chain of ${n} \`true\`: \`wtflow run\` vs a bash loop of /bin/true`,
      target: '≤ 2.0×',
      available: both(cliAvailable, withTime),
      engine: wtflow(cliBin, 'chain', n),
      baseline: bash('bash loop', `for i in $(seq ${n}); do /bin/true; done`),
      evaluate: peerTarget(2.0),
    },
    {
      id: 'peer-chain-py',
      title: `(peers) chain of ${n} \`true\`: \`wtflow run\` vs the Python wtflow`,
      target: '≤ 1.0×',
      available: both(cliAvailable, withTime, pythonAvailable),
      engine: wtflow(cliBin, 'chain', n),
      baseline: python('chain', n),
      evaluate: peerTarget(1.0),
    },
    {
      id: 'peer-chain-make',
      title: `(peers) chain of ${n} \`true\`: \`wtflow run\` vs GNU make -j10`,
      target: 'info',
      available: both(cliAvailable, withTime, toolAvailable('make')),
      engine: wtflow(cliBin, 'chain', n),
      baseline: make('make chain', chainMakefile, n),
      evaluate: peerTarget(null),
    },
    {
      id: 'peer-wide-xargs',
      title: `(peers) ${n} parallel \`true\`, 10 at once: \`wtflow run\` vs \`xargs -P10\``,
      target: '≤ 2.0×',
      available: both(cliAvailable, withTime),
      engine: wtflow(cliBin, 'wide', n),
      baseline: bash('xargs -P10', `seq ${n} | xargs -n1 -P10 /bin/true`),
      evaluate: peerTarget(2.0),
    },
    {
      id: 'peer-wide-py',
      title: `(peers) ${n} parallel \`true\`: \`wtflow run\` (10 at once) vs the Python wtflow (its thread pool)`,
      target: '≤ 1.0×',
      available: both(cliAvailable, withTime, pythonAvailable),
      engine: wtflow(cliBin, 'wide', n),
      baseline: python('wide', n),
      evaluate: peerTarget(1.0),
    },
    {
      id: 'peer-wide-make',
      title: `(peers) ${n} parallel \`true\`: \`wtflow run\` (10 at once) vs GNU make -j10`,
      target: 'info',
      available: both(cliAvailable, withTime, toolAvailable('make')),
      engine: wtflow(cliBin, 'wide', n),
      baseline: make('make wide', wideMakefile, n),
      evaluate: peerTarget(null),
    },
    {
      id: 'peer-one',
      title: '(peers) one-node run, history off: `wtflow run` vs `node -e 0`',
      target: '≤ 3×',
      available: both(cliAvailable, withTime),
      engine: wtflow(cliBin, 'one', 1),
      baseline: side('node -e 0', () => ({ file: process.execPath, args: ['-e', '0'] })),
      evaluate: (engine, baseline) => {
        oneNodeMs = engine.wallMs
        return peerTarget(3)(engine, baseline)
      },
    },
    {
      id: 'peer-one-sqlite',
      title: '(peers) one-node run, SQLite history: `wtflow run` vs `node -e 0`',
      target: '≤ 4×',
      available: both(cliAvailable, withTime),
      engine: wtflow(cliBin, 'one', 1, { history: true }),
      baseline: side('node -e 0', () => ({ file: process.execPath, args: ['-e', '0'] })),
      evaluate: peerTarget(4),
    },
    {
      id: 'peer-capture',
      title: `(peers) ${captureMiB} MiB of 64-byte lines: \`wtflow run\` capturing them vs the shell's \`> file\``,
      target: '≤ 1.15× + one-node start-up',
      available: both(cliAvailable, withTime),
      engine: wtflow(cliBin, 'out', captureMiB),
      baseline: side('> file', options => ({
        file: 'bash',
        args: ['-c', `yes "$(printf '%063d' 0)" | head -c ${captureMiB * 1024 * 1024} > ${JSON.stringify(path.join(options.tmpDir, 'capture.log'))}`],
      })),
      evaluate: (engine, baseline) => {
        const startup = oneNodeMs ?? 0
        const ratio = (engine.wallMs - startup) / baseline!.wallMs
        const note = oneNodeMs === undefined ? 'start-up not measured in this run (peer-one): counted as 0' : `start-up ${Math.round(startup)} ms subtracted`
        return { status: ratio <= 1.15 ? 'pass' : 'fail', ratio, note }
      },
    },
  ]
  return rows.map(row => ({ ...row, setup }))
}
