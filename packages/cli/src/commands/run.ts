import { readFile } from 'node:fs/promises'
import { Engine, isWtflowError, resolveInputs, toRunDocument, type EngineEventMap, type EngineEventName, type RunDocument, type RunCache, type RunOptions, type RunPlan, type RunResult, type Workflow } from '@wtflow/core'
import { Interrupts, killAllProcessGroups, maskDeep, maskSecrets, preloadCommandRuntime } from '@wtflow/core/internal'
import type { HistoryDatabase, Recorder } from '@wtflow/db'
import { createDisplay, type RunDisplay } from '../display/display.js'
import { JsonLog } from '../display/json-log.js'
import { OutputPrinter, resolveOutputLogs } from '../display/output-logs.js'
import { printPlan } from '../display/plan.js'
import { RunProgress } from '../display/progress.js'
import { printSummary } from '../display/summary.js'
import { CliError, ExitCode, formatError, sentence } from '../errors.js'
import { openHistoryForRun, readConfig } from '../history.js'
import type { RunCommandOptions } from '../main.js'
import { loadScript, selectWorkflows } from '../script.js'
import { outputFor, writeOut } from '../terminal.js'

/** `wtflow run [FILE] [--workflow NAME] [--dry-run] [--config INI] [--json]` */
export async function runCommand(file: string | undefined, options: RunCommandOptions): Promise<number> {
  // Ctrl-C before the run starts: nothing is running yet, so just stop.
  const interrupts = new RunInterrupts()
  try {
    const config = await readConfig(options.config)
    const tracked = config.database.kind !== 'none' && options.dryRun !== true
    // What the run needs is imported before tsx registers its hooks (later imports take a
    // slower path): @wtflow/core statically above, @wtflow/db with its driver and the command
    // runtime here.
    await Promise.all([tracked ? import('@wtflow/db').then(db => db.preloadDatabaseDriver(config.database)) : null, preloadCommandRuntime()])
    const given = { ...(options.inputsFile === undefined ? {} : await readInputsFile(options.inputsFile)), ...options.input }
    const script = await loadScript(file, undefined, { inputs: given, secrets: config.secrets })
    const selected = selectWorkflows(script, options.workflow)
    // A flow file took its inputs when it was compiled; a script's workflows take theirs at run.
    const inputs = script.document === undefined ? inputsOf(selected.map(entry => entry.workflow), given) : selected.map(() => ({}))
    // A flow's own secrets are masked like those of the configuration.
    const engine = new Engine({ config, handleSignals: false, secrets: script.secrets })
    const plans: RunPlan[] = []
    for (const { workflow } of selected) plans.push(await validate(engine, workflow, script.shown))
    if (options.dryRun === true) {
      printPlans(plans, script.shown, options.json === true, [...Object.values(config.secrets), ...(script.secrets ?? [])])
      return ExitCode.ok
    }

    // Only now, with a valid workflow to run, is history opened (and created if need be).
    const db = tracked ? await openHistoryForRun(config) : null
    // A run of this history killed earlier (SIGKILL, the OOM killer) is recorded crashed and what
    // it left running is stopped, alongside this run rather than before it.
    const reaping = db?.reapCrashedRuns().catch(() => [])
    try {
      // A flow's inputs are recorded as given (it took them when compiled); a script's workflows each get theirs.
      const extras: RunExtras = {
        script: script.file,
        ...(script.document === undefined ? {} : { flow: script.document }),
        ...(script.document !== undefined && Object.keys(given).length > 0 ? { inputs: given } : {}),
      }
      return await runPlans(engine, db, plans, options, interrupts, extras, script.document === undefined ? inputs : undefined)
    } finally {
      await reaping
      await db?.close()
    }
  } finally {
    interrupts.dispose()
  }
}

/** What each run records besides its plan, and (for `wtflow resume`) the outcomes it reuses. */
export type RunExtras = Pick<RunOptions, 'script' | 'inputs' | 'reuse' | 'flow'>

/** Whether to use the cache, and how (`--no-cache`, `WTFLOW_NO_CACHE`, `--refresh-cache`). */
export interface CacheFlags {
  cache?: boolean
  refreshCache?: boolean
}

/** `inputsPerPlan`: each plan's inputs (a script's workflows), instead of `extras.inputs`. */
export async function runPlans(
  engine: Engine,
  db: HistoryDatabase | null,
  plans: readonly RunPlan[],
  options: Pick<RunCommandOptions, 'json' | 'logFormat' | 'outputLogs' | 'outputLogsGrouped'> & CacheFlags,
  interrupts: RunInterrupts,
  extras: RunExtras = {},
  inputsPerPlan?: readonly Record<string, string>[],
): Promise<number> {
  const { attachRecorder } = db === null ? { attachRecorder: null } : await import('@wtflow/db')
  const json = options.json === true
  // With --json, stdout holds the document only: progress goes to stderr.
  const out = outputFor(json ? process.stderr : process.stdout)
  const jsonLog = options.logFormat === 'json' ? new JsonLog(line => writeOut(process.stderr, line)) : null
  const display = jsonLog ?? createDisplay(out)
  // Once the runs end, history gets 10 s more to take what is left (a database that stopped answering must not hold the process).
  let toldRetry = false
  const onRetry = (error: unknown) => {
    if (toldRetry) return
    toldRetry = true
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error)
    writeOut(process.stderr, `wtflow: history writes are waiting (${why}); they are kept and tried again, the run goes on\n`)
  }
  // `wtflow cancel` from elsewhere (another host, or a process that could not signal this one).
  const onCancelRequest = () => interrupts.requestCancel()
  const recorder: Recorder | null = attachRecorder === null ? null : attachRecorder(engine, db, { retryForMs: 10_000, onRetry, onCancelRequest })
  const tracked = recorder !== null
  const runCache = cacheFor(engine, db, plans, options, line => (jsonLog !== null ? jsonLog.note(line) : writeOut(process.stderr, `wtflow: ${line}\n`)))
  interrupts.arm(display)
  // With --log-format json the output is in its node:output lines already. Subscribed before
  // the display: a node's last output lines come before the line that says it ended.
  const outputLogs = jsonLog === null ? resolveOutputLogs(options.outputLogs ?? engine.config.outputLogs, out.interactive) : 'none'
  const detachOutput = new OutputPrinter(outputLogs, options.outputLogsGrouped === true, out, text => display.print(text)).follow(engine)
  const detachDisplay = jsonLog?.follow(engine) ?? followEngine(engine, display)
  const detach = () => {
    detachOutput()
    detachDisplay()
  }

  const documents: RunDocument[] = []
  let exitCode: number = ExitCode.ok
  try {
    for (const [index, plan] of plans.entries()) {
      // Interrupted between two workflows: the rest do not run.
      if (interrupts.cancelled) exitCode = ExitCode.interrupted
      if (interrupts.cancelled) break
      // The run's row is written before its first command starts: a run killed at once is still in history.
      const own = inputsPerPlan?.[index]
      const result: RunResult = await engine.run(plan, { ...extras, ...(own === undefined ? {} : { inputs: own }), ...(runCache === null ? {} : { cache: runCache }), signal: interrupts.signal, beforeNodes: () => recorder?.flush() })
      documents.push(toRunDocument(result))
      exitCode = worse(exitCode, result.exitCode)
      display.close()
      if (jsonLog === null) await printSummary(out, result, tracked)
    }
  } finally {
    detach()
    display.close()
    if (recorder !== null) {
      try {
        await recorder.close()
      } catch (error) {
        // The run itself is over and its artifacts are on disk; only its record is incomplete.
        outputFor(process.stderr).write(`wtflow: warning: ${formatError(error)}\n`)
      }
    }
  }
  // Every run is recorded with its end: a signal that comes now changes nothing (the exit code
  // says what history says).
  interrupts.settle()
  if (json) writeJson(plans.length === 1 ? documents[0] : documents)
  if (db !== null) {
    const { applyRetention } = await import('./gc.js')
    await applyRetention(db, engine.config, line => (jsonLog !== null ? jsonLog.note(line) : writeOut(process.stderr, `wtflow: ${line}\n`)))
  }
  if (engine.config.database.kind === 'none' && jsonLog !== null) jsonLog.note('history is off (database.url = none): nothing was recorded')
  else if (engine.config.database.kind === 'none' && !json) out.write(out.style.dim(`history is off (database.url = none): nothing was recorded\n`))
  return exitCode
}

/**
 * The cache for nodes with `cache`: history's, unless history is off (then one warning line).
 * `--no-cache` / `WTFLOW_NO_CACHE`: hits are ignored, entries still stored where none exists.
 */
function cacheFor(engine: Engine, db: HistoryDatabase | null, plans: readonly RunPlan[], flags: CacheFlags, note: (line: string) => void): RunCache | null {
  if (!plans.some(plan => plan.nodes.some(node => node.cache !== null))) return null
  if (db === null) {
    note('warning: caching needs run history, which is off (database.url = none): nodes with `cache` run every time')
    return null
  }
  const store = db.cacheStore()
  const off = flags.cache === false || engine.config.noCache
  const refresh = flags.refreshCache === true
  return {
    // Ignoring hits is a store that never finds one.
    store: off && !refresh ? { lookup: async () => null, latest: (workflow, nodePath) => store.latest(workflow, nodePath), store: (entry, options) => store.store(entry, options) } : store,
    mode: refresh ? 'refresh' : 'use',
    onWarning: message => note(`warning: ${message}`),
  }
}

/**
 * Each workflow's inputs, checked before anything runs: a value for an input no selected workflow
 * declares, or a required input without a value, is an error (exit 2). Each workflow gets the
 * values of the inputs it declares.
 */
function inputsOf(workflows: readonly Workflow[], given: Readonly<Record<string, string>>): Record<string, string>[] {
  if (workflows.length > 1) {
    const unknown = Object.keys(given).filter(name => !workflows.some(workflow => Object.hasOwn(workflow.inputs ?? {}, name)))
    if (unknown.length > 0) {
      throw new CliError(`no selected workflow has an input ${unknown.map(name => `"${name}"`).join(', ')}; \`wtflow list\` shows each workflow's inputs.`)
    }
  }
  return workflows.map(workflow => {
    const declared = workflow.inputs ?? {}
    const own = workflows.length === 1 ? given : Object.fromEntries(Object.entries(given).filter(([name]) => Object.hasOwn(declared, name)))
    return resolveInputs(workflow.name, declared, own)
  })
}

/** `--inputs-file x.json`: an object of input names to values (numbers and booleans become strings). */
async function readInputsFile(file: string): Promise<Record<string, string>> {
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw new CliError(`cannot read the inputs file ${file}: ${error instanceof Error ? error.message : String(error)}. It must be a JSON object, e.g. {"region": "south"}.`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CliError(`the inputs file ${file} must hold a JSON object of input names to values, e.g. {"region": "south"}.`)
  const inputs: Record<string, string> = {}
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value === 'string') inputs[name] = value
    else if (typeof value === 'number' || typeof value === 'boolean') inputs[name] = String(value)
    else throw new CliError(`input "${name}" in ${file} is ${value === null ? 'null' : typeof value}; an input's value is a string (or a number or boolean).`)
  }
  return inputs
}

/** `--dry-run`: the plans, secrets masked. */
function printPlans(plans: readonly RunPlan[], scriptShown: string, json: boolean, secrets: readonly string[]): void {
  // Besides the configured secrets, what executables hold (an Http authorization header).
  const secretsOf = (plan: RunPlan) => (plan.secrets.length === 0 ? secrets : [...secrets, ...plan.secrets])
  if (json) {
    const documents = plans.map(plan => maskDeep(plan.toJSON(), secretsOf(plan)))
    writeJson(documents.length === 1 ? documents[0] : documents)
    return
  }
  const out = outputFor(process.stdout)
  for (const plan of plans) printPlan(out, plan, scriptShown, text => maskSecrets(text, secretsOf(plan)))
}

/** Validates before anything runs; an invalid tree is an error that names the workflow and the node. */
export async function validate(engine: Engine, workflow: Workflow, scriptShown: string): Promise<RunPlan> {
  try {
    return await engine.validate(workflow)
  } catch (error) {
    if (!isWtflowError(error, 'WTFLOW_VALIDATION')) throw error
    throw new CliError(`workflow "${workflow.name}" in ${scriptShown} is invalid: ${sentence(error.message)} Fix it; nothing was run.`, { cause: error })
  }
}

/** Subscribes the display to the engine; returns the unsubscribe function. */
function followEngine(engine: Engine, display: RunDisplay): () => void {
  let progress: RunProgress | null = null
  const listeners: { [K in EngineEventName]?: (event: EngineEventMap[K]) => void } = {
    'run:start': event => {
      progress = new RunProgress(event)
      display.runStarted(progress)
    },
    'node:start': event => {
      const node = progress?.nodeStarted(event)
      if (progress !== null && node !== undefined) display.nodeStarted(progress, node)
    },
    'node:attempt': event => {
      const node = progress?.attemptEnded(event)
      if (progress !== null && node !== undefined) display.attemptEnded(progress, node)
    },
    'node:end': event => {
      const node = progress?.nodeEnded(event)
      if (progress !== null && node !== undefined) display.nodeEnded(progress, node)
    },
    'run:end': event => {
      if (progress === null) return
      progress.result = event.result
      display.runEnded(progress)
    },
  }
  const names = Object.keys(listeners) as EngineEventName[]
  for (const name of names) engine.on(name, listeners[name] as never)
  return () => {
    for (const name of names) engine.off(name, listeners[name] as never)
  }
}

/** 130 beats 1 beats 0. */
function worse(a: number, b: number): number {
  const rank = (code: number) => (code === ExitCode.interrupted ? 3 : code === ExitCode.ok ? 0 : code === ExitCode.failed ? 1 : 2)
  return rank(b) > rank(a) ? b : a
}

function writeJson(value: unknown): void {
  writeOut(process.stdout, `${JSON.stringify(value, null, 2)}\n`)
}

const FORCE_EXIT_AFTER_MS = 3000

/**
 * SIGINT, SIGTERM and SIGHUP. Before the run starts they end the process (exit 130). During the
 * run, the first cancels it gracefully through an AbortSignal (every process group gets
 * SIGTERM, then SIGKILL after the grace period; the run is recorded `cancelled`); the second
 * kills every process group at once and exits 130 shortly after, recorded or not.
 */
export class RunInterrupts {
  readonly #controller = new AbortController()
  #display: RunDisplay | null = null
  #settled = false
  readonly #interrupts = new Interrupts({
    first: signal => {
      if (this.#settled) return
      const display = this.#display
      if (display === null) process.exit(ExitCode.interrupted)
      display.note(`${signal === 'SIGINT' ? 'Ctrl-C' : signal}: cancelling, stopping every process… (Ctrl-C again to force)`)
      this.#controller.abort(new Error(`interrupted by ${signal}`))
    },
    again: () => {
      if (this.#settled) return
      const display = this.#display
      if (display === null) process.exit(ExitCode.interrupted)
      display.note('forced: killing every process')
      killAllProcessGroups('SIGKILL')
      // The killed processes let the run end at once and be recorded; if it does not, leave anyway.
      setTimeout(() => {
        display.close()
        process.exit(ExitCode.interrupted)
      }, FORCE_EXIT_AFTER_MS).unref()
    },
  })

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  /** `wtflow cancel` asked for it (through history): like a first Ctrl-C. */
  requestCancel(): void {
    if (this.#settled || this.#controller.signal.aborted) return
    this.#display?.note('cancel requested (wtflow cancel): cancelling, stopping every process…')
    this.#controller.abort(new Error('cancelled by wtflow cancel'))
  }

  get cancelled(): boolean {
    return this.#controller.signal.aborted
  }

  /** From now on a signal cancels the run instead of ending the process. */
  arm(display: RunDisplay): void {
    this.#display = display
  }

  /** The runs are over and recorded: from now on a signal is ignored while the process exits. */
  settle(): void {
    this.#settled = true
  }

  dispose(): void {
    if (!this.#settled) {
      this.#interrupts.dispose()
      return
    }
    // The process is about to exit with the runs' exit code: a signal in that last moment must not
    // turn a recorded success into exit 143. (Removed later for callers of main() that go on.)
    setTimeout(() => this.#interrupts.dispose(), 10_000).unref()
  }
}
