import {
  Engine,
  preloadCommandRuntime,
  ValidationError,
  killAllProcessGroups,
  toRunDocument,
  type EngineEventMap,
  type EngineEventName,
  type NodePlan,
  type RunDocument,
  type RunResult,
  type Workflow,
} from '@wtflow/core'
import type { HistoryDatabase, Recorder } from '@wtflow/db'
import { createDisplay, type RunDisplay } from '../display/display.js'
import { nodesByPath, planNodes, printPlan, type PlannedNode } from '../display/plan.js'
import { RunProgress } from '../display/progress.js'
import { printSummary } from '../display/summary.js'
import { CliError, ExitCode, formatError, sentence } from '../errors.js'
import { openHistoryForRun, readConfig } from '../history.js'
import type { RunCommandOptions } from '../main.js'
import { loadScript, selectWorkflows, type ScriptWorkflow } from '../script.js'
import { outputFor } from '../terminal.js'

/** `wtflow run [FILE] [--workflow NAME] [--dry-run] [--config INI] [--json]` */
export async function runCommand(file: string | undefined, options: RunCommandOptions): Promise<number> {
  // Ctrl-C before the run starts: nothing is running yet, so just stop.
  const interrupts = new Interrupts()
  try {
    const config = await readConfig(options.config)
    const tracked = config.database.kind !== 'none' && options.dryRun !== true
    // What the run needs is imported before tsx registers its hooks (later imports take a
    // slower path): @wtflow/core statically above, @wtflow/db with its driver and the command
    // runtime here.
    await Promise.all([tracked ? import('@wtflow/db').then(db => db.preloadDatabaseDriver(config.database)) : null, preloadCommandRuntime()])
    const script = await loadScript(file, undefined, { inputs: options.input, secrets: config.secrets })
    const selected = selectWorkflows(script, options.workflow)
    const engine = new Engine({ config, handleSignals: false, secrets: script.secrets })
    const planned: PlannedNode[][] = []
    for (const { workflow } of selected) planned.push(planNodes(workflow, await validate(engine, workflow, script.shown)))
    if (options.dryRun === true) {
      printPlans(selected, planned, script.shown, options.json === true)
      return ExitCode.ok
    }

    // Only now, with a valid workflow to run, is history opened (and created if need be).
    const db = tracked ? await openHistoryForRun(config) : null
    try {
      return await runWorkflows(engine, db, selected, options, interrupts)
    } finally {
      await db?.close()
    }
  } finally {
    interrupts.dispose()
  }
}

async function runWorkflows(
  engine: Engine,
  db: HistoryDatabase | null,
  selected: ScriptWorkflow[],
  options: RunCommandOptions,
  interrupts: Interrupts,
): Promise<number> {
  const { attachRecorder } = db === null ? { attachRecorder: null } : await import('@wtflow/db')
  const json = options.json === true
  // With --json, stdout holds the document only: progress goes to stderr.
  const out = outputFor(json ? process.stderr : process.stdout)
  const display = createDisplay(out)
  const recorder: Recorder | null = attachRecorder === null ? null : attachRecorder(engine, db)
  const tracked = recorder !== null
  interrupts.arm(display)
  const detach = followEngine(engine, display, selected)

  const documents: RunDocument[] = []
  let exitCode: number = ExitCode.ok
  try {
    for (const { workflow } of selected) {
      if (interrupts.cancelled) break
      const result: RunResult = await startRun(engine, workflow, interrupts.signal)
      documents.push(toRunDocument(result))
      exitCode = worse(exitCode, result.exitCode)
      display.close()
      await printSummary(out, result, tracked)
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
  if (interrupts.cancelled) exitCode = ExitCode.interrupted
  if (json) writeJson(selected.length === 1 ? documents[0] : documents)
  if (engine.config.database.kind === 'none' && !json) out.write(out.style.dim(`history is off (database.url = none): nothing was recorded\n`))
  return exitCode
}

function printPlans(selected: ScriptWorkflow[], planned: PlannedNode[][], scriptShown: string, json: boolean): void {
  if (json) {
    const plans = selected.map(({ workflow }, i) => ({ workflow: workflow.name, description: workflow.description ?? null, nodes: planned[i]! }))
    writeJson(selected.length === 1 ? plans[0] : plans)
    return
  }
  const out = outputFor(process.stdout)
  selected.forEach(({ workflow }, i) => printPlan(out, workflow, planned[i]!, scriptShown))
}

/** Validates before anything runs; an invalid tree is an error that names the workflow and the node. */
async function validate(engine: Engine, workflow: Workflow, scriptShown: string): Promise<NodePlan[]> {
  try {
    return await engine.validate(workflow)
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error
    throw new CliError(`workflow "${workflow.name}" in ${scriptShown} is invalid: ${sentence(error.message)} Fix it; nothing was run.`, { cause: error })
  }
}

/** Subscribes the display to the engine; returns the unsubscribe function. */
function followEngine(engine: Engine, display: RunDisplay, selected: ScriptWorkflow[]): () => void {
  const maxAttempts = new Map<string, number>()
  for (const { workflow } of selected) {
    for (const [path, node] of nodesByPath(workflow)) maxAttempts.set(path, (node.options.retries ?? 0) + 1)
  }
  let progress: RunProgress | null = null
  const listeners: { [K in EngineEventName]?: (event: EngineEventMap[K]) => void } = {
    'run:start': event => {
      progress = new RunProgress(event, maxAttempts)
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

/** Runs a workflow; failing to create its artifact directory is an actionable error. */
async function startRun(engine: Engine, workflow: Workflow, signal: AbortSignal): Promise<RunResult> {
  try {
    return await engine.run(workflow, { signal })
  } catch (error) {
    const { code, syscall } = error as NodeJS.ErrnoException
    if (syscall === undefined || code === undefined) throw error
    const { artifactsDir, sources } = engine.config
    throw new CliError(
      `cannot write artifacts under ${artifactsDir} (storage.artifacts_dir from ${sources['storage.artifacts_dir']}): ${(error as Error).message}. ` +
        'Point WTFLOW_ARTIFACTS_DIR (or [storage] artifacts_dir) at a writable directory.',
      { cause: error },
    )
  }
}

/** 130 beats 1 beats 0. */
function worse(a: number, b: number): number {
  const rank = (code: number) => (code === ExitCode.interrupted ? 3 : code === ExitCode.ok ? 0 : code === ExitCode.failed ? 1 : 2)
  return rank(b) > rank(a) ? b : a
}

function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

const FORCE_EXIT_AFTER_MS = 3000

/**
 * SIGINT, SIGTERM and SIGHUP. Before the run starts they end the process (exit 130). During the
 * run, the first cancels it gracefully through an AbortSignal (every process group gets
 * SIGTERM, then SIGKILL after the grace period; the run is recorded `cancelled`); the second
 * kills every process group at once and exits 130 shortly after, recorded or not.
 */
class Interrupts {
  readonly #controller = new AbortController()
  #display: RunDisplay | null = null
  #count = 0
  readonly #onSignal = (signal: NodeJS.Signals) => this.#handle(signal)

  constructor() {
    for (const signal of SIGNALS) process.on(signal, this.#onSignal)
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  get cancelled(): boolean {
    return this.#controller.signal.aborted
  }

  /** From now on a signal cancels the run instead of ending the process. */
  arm(display: RunDisplay): void {
    this.#display = display
  }

  dispose(): void {
    for (const signal of SIGNALS) process.off(signal, this.#onSignal)
  }

  #handle(signal: NodeJS.Signals): void {
    this.#count++
    const display = this.#display
    if (display === null) {
      process.exit(ExitCode.interrupted)
    }
    if (this.#count === 1) {
      display.note(`${signal === 'SIGINT' ? 'Ctrl-C' : signal}: cancelling, stopping every process… (Ctrl-C again to force)`)
      this.#controller.abort(new Error(`interrupted by ${signal}`))
      return
    }
    display.note('forced: killing every process')
    killAllProcessGroups('SIGKILL')
    // The killed processes let the run end at once and be recorded; if it does not, leave anyway.
    setTimeout(() => {
      display.close()
      process.exit(ExitCode.interrupted)
    }, FORCE_EXIT_AFTER_MS).unref()
  }
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

