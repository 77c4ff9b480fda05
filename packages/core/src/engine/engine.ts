import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { loadConfig, type WtflowConfig } from '../config/config.js'
import { ValidationError } from '../errors/errors.js'
import { TypedEmitter } from '../events.js'
import type { RunResult } from '../interfaces.js'
import type { RunWarmUp } from '../model/executable.js'
import { resolveInputs } from '../model/inputs.js'
import type { Workflow } from '../model/node.js'
import type { PlanNode } from '../plan/plan-node.js'
import { RunPlan } from '../plan/run-plan.js'
import { validateWorkflow } from '../plan/validate.js'
import { messageOf } from './outcome.js'
import { RunExecution } from './run-execution.js'
import type { RunCache } from './cache.js'
import type { RunReuse } from './reuse.js'
import { RunResourceSet } from './run-resources.js'
import { cancelOnInterrupt } from './signals.js'

export interface EngineOptions {
  /** Effective configuration; default `loadConfig()` (INI file, `WTFLOW_*` variables). */
  config?: WtflowConfig
  /** More values to mask in artifacts, besides the config's `[secrets]`. */
  secrets?: readonly string[]
  /** Directory relative node `cwd`s are resolved from (default `process.cwd()`). */
  cwd?: string
  /**
   * Cancel running workflows when this process gets SIGINT, SIGTERM or SIGHUP, then let the
   * signal take its course (default true). The CLI turns this off and cancels through `signal`.
   */
  handleSignals?: boolean
}

export interface RunOptions {
  /** Aborting it cancels the run: running process groups are terminated, nothing new starts. */
  signal?: AbortSignal
  /** Use this run id instead of a new UUID. */
  runId?: string
  /**
   * Values of the workflow's inputs (`--input NAME=VALUE`), recorded with the run
   * (`run:start.inputs`). When the workflow declares inputs, its defaults fill the rest and a
   * required input missing, or one not declared, rejects with `WTFLOW_INPUT` before anything
   * starts; a workflow that declares none (a compiled flow file) records them as given.
   */
  inputs?: Readonly<Record<string, string>>
  /**
   * Awaited after `run:start` and before any node starts (a rejection is ignored): the CLI lets
   * its recorder write the run's row first, so that a run killed at once is still in history
   * and what it left running can be found.
   */
  beforeNodes?: () => Promise<unknown> | void
  /**
   * Nodes not to run: each ends `cached` with the outcome of an earlier run, its artifacts
   * hard-linked (copied across file systems) into the new run's directory. Made by
   * `decideReuse` from what history recorded (`wtflow resume`). A reused node whose files
   * cannot be linked runs after all.
   */
  reuse?: RunReuse
  /**
   * Where nodes with `cache` look up and store their outcomes (`HistoryDatabase.cacheStore()`).
   * Without it, `cache` options are ignored.
   */
  cache?: RunCache
  /** Recorded with the run (`run:start.script`): the script's absolute path, for `wtflow resume`. */
  script?: string
  /** Most Funcs running at once in this run (default: the config's `run.max_funcs`). */
  maxFuncs?: number
  /** Recorded with the run (`run:start.flow`): a declarative flow's document. */
  flow?: { format: string; text: string }
}

/**
 * Validates and runs workflows. `validate()` checks a workflow and resolves to its `RunPlan`;
 * `run()` takes a plan (or a workflow, validated first). Errors found before anything starts
 * reject (`ValidationError`; `WTFLOW_STORAGE` when the artifact store cannot be written);
 * once started, `run()` never rejects because a node failed: it resolves to a `RunResult`
 * tree. Subscribe to lifecycle events with `engine.on('node:end', …)`.
 *
 * @example
 * const engine = new Engine({ config: loadConfig() })
 * engine.on('node:end', ({ node }) => console.log(node.path, node.status))
 * const result = await engine.run(workflow)
 * process.exitCode = result.exitCode
 */
export class Engine extends TypedEmitter {
  readonly config: WtflowConfig
  readonly #secrets: string[]
  readonly #cwd: string
  readonly #handleSignals: boolean

  constructor(options: EngineOptions = {}) {
    super()
    this.config = options.config ?? loadConfig({ cwd: options.cwd })
    this.#secrets = [...Object.values(this.config.secrets), ...(options.secrets ?? [])]
    this.#cwd = path.resolve(options.cwd ?? process.cwd())
    this.#handleSignals = options.handleSignals ?? true
  }

  /** Checks a workflow without running it; resolves to its plan, or rejects with a `ValidationError`. */
  validate(workflow: Workflow): Promise<RunPlan> {
    return validateWorkflow(workflow)
  }

  async run(target: Workflow | RunPlan, options: RunOptions = {}): Promise<RunResult> {
    const resources = new RunResourceSet()
    const config = runConfig(this.config, options)
    const run: RunWarmUp = { config, resources }
    let plan: RunPlan
    try {
      if (target instanceof RunPlan) {
        plan = target
        for (const node of plan.nodes) warmUp(node, run)
      } else {
        // Executables warm up (a Func pool's threads boot) while the rest of the tree is validated.
        plan = await validateWorkflow(target, { onPlaced: node => warmUp(node, run) })
      }
    } catch (error) {
      await resources.close()
      throw error
    }
    let inputs: Record<string, string>
    try {
      const declared = plan.workflow.inputs ?? {}
      inputs = Object.keys(declared).length === 0 ? { ...options.inputs } : resolveInputs(plan.name, declared, options.inputs)
    } catch (error) {
      await resources.close()
      throw error
    }
    const execution = new RunExecution(plan, {
      inputs,
      resources,
      config,
      // The executables' own secrets (an Authorization header) are masked like configured ones.
      secrets: plan.secrets.length === 0 ? this.#secrets : [...this.#secrets, ...plan.secrets],
      cwd: this.#cwd,
      runId: options.runId ?? randomUUID(),
      beforeNodes: options.beforeNodes,
      reuse: options.reuse ?? null,
      cache: options.cache ?? null,
      script: options.script ?? null,
      flow: options.flow,
      emit: (name, event) => this.emit(name, event),
      listens: name => this.hasListeners(name),
    })
    const detachSignal = linkAbort(options.signal, () => execution.cancel())
    const detachProcess = this.#handleSignals ? cancelOnInterrupt(execution) : () => {}
    try {
      return await execution.run()
    } finally {
      detachSignal()
      detachProcess()
    }
  }
}

/** The configuration of one run: the engine's, with what its options override. */
function runConfig(config: WtflowConfig, options: RunOptions): WtflowConfig {
  const { maxFuncs } = options
  if (maxFuncs === undefined) return config
  if (!Number.isSafeInteger(maxFuncs) || maxFuncs < 1) throw new TypeError(`RunOptions.maxFuncs must be an integer >= 1, got ${String(maxFuncs)}`)
  return { ...config, maxFuncs, sources: { ...config.sources, 'run.max_funcs': 'option' } }
}

function warmUp(node: PlanNode, run: RunWarmUp): void {
  try {
    node.executable?.warmUp(run)
  } catch (error) {
    throw new ValidationError(node.path, `could not get ready to run: ${messageOf(error)}`, { cause: error })
  }
}

function linkAbort(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (signal === undefined) return () => {}
  if (signal.aborted) {
    onAbort()
    return () => {}
  }
  signal.addEventListener('abort', onAbort, { once: true })
  return () => signal.removeEventListener('abort', onAbort)
}
