import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import fs from 'fs-extra'
import { ArtifactSink, ArtifactStore, collectFile, fileIn } from '../artifacts/artifact-store.js'
import { describeConfig, type WtflowConfig } from '../config/config.js'
import { WtflowError, serializeError } from '../errors/errors.js'
import type { ArtifactInfo, AttemptResult, EngineEventMap, EngineEventName, NodeResult, NodeStatus, RunResult, SerializedError } from '../interfaces.js'
import { Limiter } from '../limiter.js'
import type { ExecutionOutcome } from '../model/executable.js'
import type { WhenPredicate } from '../model/node.js'
import type { PlanNode } from '../plan/plan-node.js'
import type { RunPlan } from '../plan/run-plan.js'
import { AttemptContext, type AttemptHost } from './attempt-context.js'
import { NodeState } from './node-state.js'
import { NodeContext } from './node-context.js'
import { artifactMissing, artifactWriteFailed, attemptError, attemptStatus, messageOf, runExitCode, transition, whenFailed } from './outcome.js'
import { retryDelay, setAsideAttempt } from './retry.js'
import type { RunResourceSet } from './run-resources.js'

type Emit = <K extends EngineEventName>(name: K, event: EngineEventMap[K]) => void

export interface ExecutionSettings {
  resources: RunResourceSet
  config: WtflowConfig
  secrets: string[]
  cwd: string
  runId: string
  emit: Emit
  listens: (name: EngineEventName) => boolean
}

/** One run of one plan: schedules its nodes, runs their attempts, keeps their state. */
export class RunExecution {
  readonly #plan: RunPlan
  readonly #settings: ExecutionSettings
  readonly #store: ArtifactStore
  readonly #limiter: Limiter
  /** By ordinal: `#states[node.ordinal]`. */
  readonly #states: NodeState[] = []
  readonly #context: NodeContext
  readonly #cancel = new AbortController()
  /** Stopped by cancel(); a set rather than a listener each on the run's signal (see Limiter). */
  readonly #runningAttempts = new Set<AttemptContext>()
  #runDir = ''
  /** What every attempt's context asks of the run: made once, not closures per attempt. */
  readonly #attemptHost: AttemptHost
  /** Direct-mode stdout files are created here (see ArtifactSink.openDirect); made on first use. */
  #spoolDir: string | null = null
  #spooled = 0
  /** Set once a node failed that stops new nodes from starting (not with ignore_failure). */
  #haltReason: string | null = null
  #failed = false

  constructor(plan: RunPlan, settings: ExecutionSettings) {
    this.#plan = plan
    this.#settings = settings
    this.#store = new ArtifactStore(settings.config.artifactsDir)
    this.#limiter = new Limiter(settings.config.maxParallel, this.#cancel.signal)
    this.#attemptHost = {
      runId: settings.runId,
      config: settings.config,
      resources: settings.resources,
      sink: (state, stream) => this.#sink(state.plan, stream, fileIn(this.#context.dirOf(state), `${stream}.log`)),
      directStdout: attempt =>
        settings.secrets.length === 0 && !settings.listens('node:output') ? attempt.stdout.openDirect(this.#spoolFile()) : null,
      resolve: ref => this.#context.resolve(ref),
      dirOf: state => this.#context.dirOf(state),
      cwdOf: state => this.#context.cwdOf(state),
      envOf: state => this.#context.envOf(state),
    }
    const { nodes } = plan
    for (let i = 0; i < nodes.length; i++) {
      const parent = nodes[i]!.parent
      this.#states.push(new NodeState(nodes[i]!, parent === null ? null : this.#states[parent.ordinal]!))
    }
    this.#context = new NodeContext(plan, this.#states, this.#store, settings)
  }

  get cancelled(): boolean {
    return this.#cancel.signal.aborted
  }

  cancel(): void {
    if (this.cancelled) return
    this.#cancel.abort('cancel')
    for (const attempt of this.#runningAttempts) attempt.stop('cancel')
  }

  /**
   * Runs the plan; resolves to its result. Rejects only when the run cannot start (its artifact
   * directory cannot be made: a `WtflowError` with code `WTFLOW_STORAGE`); the run's resources
   * are closed either way.
   */
  async run(): Promise<RunResult> {
    const { runId, emit, config } = this.#settings
    const startedAt = new Date()
    try {
      try {
        this.#runDir = this.#context.runDir = this.#store.createRunDir(runId)
      } catch (cause) {
        throw new WtflowError(
          'WTFLOW_STORAGE',
          `cannot create the run's artifact directory under ${config.artifactsDir} (storage.artifacts_dir from ${config.sources['storage.artifacts_dir']}): ${messageOf(cause)}; point WTFLOW_ARTIFACTS_DIR (or [storage] artifacts_dir) at a writable directory`,
          { cause },
        )
      }
      if (this.#settings.listens('run:start')) {
        emit('run:start', { runId, workflow: this.#plan.name, plan: this.#plan, startedAt, runDir: this.#runDir, config: describeConfig(config) })
      }
      await this.#runNode(this.#states[0]!, false)
    } finally {
      await this.#settings.resources.close()
      // Every spooled file was moved or removed when its node ended.
      if (this.#spoolDir !== null) await fs.rmdir(this.#spoolDir).catch(() => {})
    }
    const status = this.cancelled ? 'cancelled' : this.#failed ? 'failed' : 'succeeded'
    const nodes = this.#states.map(state => this.#nodeResult(state))
    for (let i = 1; i < nodes.length; i++) nodes[this.#states[i]!.parent!.plan.ordinal]!.children.push(nodes[i]!)
    const result: RunResult = {
      id: runId,
      workflow: this.#plan.name,
      status,
      exitCode: runExitCode(status),
      startedAt,
      endedAt: new Date(),
      runDir: this.#runDir,
      root: nodes[0]!,
      nodes,
    }
    emit('run:end', { result })
    return result
  }

  // -- scheduling ------------------------------------------------------------------------------
  // A node that runs at once and succeeds takes a chain of small synchronous steps that return
  // promises, not `async` functions: a no-op Func's whole run is a few microseconds, and each
  // coroutine (allocated per call, sized by the function) and each large hot function that V8
  // compiles shows. Rare paths (`when`, waiting for a slot, retries, skips) stay `async`.

  /**
   * Runs a node, then its children; resolves once the subtree has ended. `exempt` is true inside
   * a failure or always branch: those run even after a failure elsewhere halted the run.
   */
  #runNode(state: NodeState, exempt: boolean): Promise<unknown> {
    if (this.cancelled) return this.#skipSubtree(state, 'the run was cancelled')
    if (this.#haltReason !== null && !exempt) return this.#skipSubtree(state, this.#haltReason)
    const when = state.plan.when
    if (when !== null) return this.#runNodeIf(state, when, exempt)
    return this.#startNode(state, exempt)
  }

  #startNode(state: NodeState, exempt: boolean): Promise<unknown> {
    if (state.plan.executable === undefined) return this.#runGroup(state, exempt)
    const ran = this.#runAttempts(state, 1)
    return state.plan.children.length === 0 ? ran : ran.then(succeeded => this.#runChildren(state, succeeded, exempt))
  }

  /** A group succeeds by running its children; its times span theirs. */
  async #runGroup(state: NodeState, exempt: boolean): Promise<void> {
    transition(state, 'running')
    state.startedAt = new Date()
    if (this.#settings.listens('node:start')) {
      this.#settings.emit('node:start', { runId: this.#settings.runId, ordinal: state.plan.ordinal, path: state.plan.path, attempt: 0, startedAt: state.startedAt })
    }
    await this.#runChildren(state, true, exempt)
    this.#finish(state, 'succeeded')
  }

  /** Decides `when`, then runs the node; skipped if it returns false, failed if it throws. */
  async #runNodeIf(state: NodeState, when: WhenPredicate, exempt: boolean): Promise<void> {
    let go: boolean
    try {
      go = (await when(this.#context.whenContext(state.plan))) === true
    } catch (error) {
      this.#recordFailure(state, 'failed', null, null, whenFailed(error))
      await this.#runChildren(state, false, exempt)
      return
    }
    if (go) await this.#startNode(state, exempt)
    else await this.#skipSubtree(state, 'when() returned false')
  }

  async #runChildren(state: NodeState, parentSucceeded: boolean, exempt: boolean): Promise<void> {
    const { plan } = state
    const runChild = (child: PlanNode): Promise<unknown> => {
      const childState = this.#states[child.ordinal]!
      const runIf = child.runIf
      if (runIf === 'success' && !parentSucceeded) return this.#skipSubtree(childState, `"${plan.path}" did not succeed`)
      if (runIf === 'failure' && parentSucceeded) return this.#skipSubtree(childState, `failure branch: "${plan.path}" succeeded`)
      return this.#runNode(childState, exempt || runIf !== 'success')
    }
    if (plan.parallel) {
      // No more subtrees in flight than executables may run: the rest would only wait for the
      // limiter, each holding memory (100 groups of 1,000 would be 100,000 waiting coroutines).
      // No deadlock: a subtree holds a limiter slot only while its own executable runs.
      let next = 0
      const lane = async (): Promise<void> => {
        while (next < plan.children.length) await runChild(plan.children[next++]!)
      }
      await Promise.all(Array.from({ length: Math.min(this.#settings.config.maxParallel, plan.children.length) }, lane))
    } else {
      for (const child of plan.children) await runChild(child)
    }
  }

  /** Skips a node and everything below it (iteratively: a subtree may be deep). */
  async #skipSubtree(state: NodeState, reason: string): Promise<void> {
    const stack: Array<[NodeState, string]> = [[state, reason]]
    while (stack.length > 0) {
      const [skipped, why] = stack.pop()!
      transition(skipped, 'skipped')
      skipped.skipReason = why
      this.#emitNodeEnd(skipped)
      const children = skipped.plan.children
      for (let i = children.length - 1; i >= 0; i--) stack.push([this.#states[children[i]!.ordinal]!, `"${skipped.plan.path}" was skipped`])
    }
  }

  // -- attempts --------------------------------------------------------------------------------

  /** Runs attempt `attempt`, and the next ones while it fails and retries remain; true once one succeeds. */
  #runAttempts(state: NodeState, attempt: number): Promise<boolean> {
    return this.#limiter.tryAcquire() ? this.#runAttemptInSlot(state, attempt) : this.#runAttemptsLater(state, attempt)
  }

  /** Waits for a slot of the limiter, then runs the attempts. */
  async #runAttemptsLater(state: NodeState, attempt: number): Promise<boolean> {
    try {
      await this.#limiter.acquire()
    } catch {
      // Cancelled while waiting for a slot: a first attempt never started.
      if (attempt === 1) await this.#skipSubtree(state, 'the run was cancelled')
      else this.#finish(state, 'cancelled')
      return false
    }
    return this.#runAttemptInSlot(state, attempt)
  }

  /**
   * Runs an attempt in the slot of the limiter the caller holds; the slot is freed once the
   * attempt has ended and its artifacts are stored. A chain of small steps rather than an `async`
   * function with try/finally around its await: this is the hottest path of a run of small nodes,
   * and V8's compile of such a generator shows in it (bench/README.md).
   */
  #runAttemptInSlot(state: NodeState, attempt: number): Promise<boolean> {
    const startedAt = new Date()
    if (attempt === 1) {
      transition(state, 'running')
      state.startedAt = startedAt
    }
    const { plan } = state
    if (this.#settings.listens('node:start')) this.#settings.emit('node:start', { runId: this.#settings.runId, ordinal: plan.ordinal, path: plan.path, attempt, startedAt })
    const ctx = new AttemptContext(this.#attemptHost, state, attempt, startedAt)
    if (this.cancelled) ctx.stop('cancel')
    this.#runningAttempts.add(ctx)
    if (plan.timeout !== null) ctx.timer = setTimeout(() => ctx.stop('timeout'), plan.timeout)
    let running: Promise<ExecutionOutcome>
    try {
      running = plan.executable!.execute(ctx)
    } catch (error) {
      running = Promise.reject(error)
    }
    return running.then(
      outcome => this.#executed(ctx, outcome),
      error => this.#executed(ctx, { exitCode: null, signal: null, error: serializeError(error) }),
    )
  }

  /** The executable has settled: stores what the attempt produced, frees its slot, decides what comes next. */
  #executed(ctx: AttemptContext, outcome: ExecutionOutcome): boolean | Promise<boolean> {
    if (ctx.timer !== undefined) clearTimeout(ctx.timer)
    this.#runningAttempts.delete(ctx)
    if (ctx.stdoutSink === undefined && ctx.stderrSink === undefined && outcome.resultJson === undefined && ctx.state.plan.artifacts.length === 0) {
      this.#limiter.release()
      return this.#afterAttempt(ctx.state, this.#attemptResult(ctx, outcome, outcome.error, []))
    }
    const artifacts: ArtifactInfo[] = []
    return this.#storeArtifacts(ctx, outcome, artifacts).then(error => {
      this.#limiter.release()
      return this.#afterAttempt(ctx.state, this.#attemptResult(ctx, outcome, error, artifacts))
    })
  }

  #attemptResult(ctx: AttemptContext, outcome: ExecutionOutcome, error: SerializedError | null, artifacts: ArtifactInfo[]): AttemptResult {
    const status = attemptStatus(ctx.stopReason, outcome, error)
    if (status !== 'succeeded') error = attemptError(status, outcome, error, ctx.state.plan.timeout)
    return { attempt: ctx.attempt, status, exitCode: outcome.exitCode, signal: outcome.signal, error, startedAt: ctx.startedAt, endedAt: new Date(), artifacts }
  }

  /** What follows an attempt: the node succeeded; or it retries, or it has failed. */
  #afterAttempt(state: NodeState, result: AttemptResult): boolean | Promise<boolean> {
    if (result.status !== 'succeeded') return this.#retryOrFail(state, result)
    this.#endAttempt(state, result, null)
    this.#finish(state, 'succeeded', result)
    return true
  }

  /** After an attempt that did not succeed: the next attempt if retries remain (and the run goes on), else the node fails. */
  async #retryOrFail(state: NodeState, result: AttemptResult): Promise<boolean> {
    const retry = result.status !== 'cancelled' && result.attempt < state.plan.attempts && !this.cancelled
    if (!retry) {
      this.#endAttempt(state, result, null)
      this.#recordFailure(state, result.status, result.exitCode, result.signal, result.error)
      return false
    }
    const retryInMs = retryDelay(state.plan, result.attempt)
    await setAsideAttempt(result)
    this.#endAttempt(state, result, retryInMs)
    try {
      await sleep(retryInMs, undefined, { signal: this.#cancel.signal })
    } catch {
      this.#finish(state, 'cancelled', result)
      return false
    }
    return this.#runAttempts(state, result.attempt + 1)
  }

  /** Records an attempt on its node and tells `node:attempt` listeners. */
  #endAttempt(state: NodeState, result: AttemptResult, retryInMs: number | null): void {
    state.attempts.push(result)
    for (let i = 0; i < result.artifacts.length; i++) state.artifacts.push(result.artifacts[i]!)
    if (this.#settings.listens('node:attempt')) {
      this.#settings.emit('node:attempt', { runId: this.#settings.runId, ordinal: state.plan.ordinal, path: state.plan.path, attempt: result, retryInMs })
    }
  }

  /**
   * Closes the attempt's output, stores its result and collects declared files; resolves to the
   * attempt's error (its own, or the first that storing met), never rejects.
   */
  async #storeArtifacts(ctx: AttemptContext, outcome: ExecutionOutcome, artifacts: ArtifactInfo[]): Promise<SerializedError | null> {
    let error = outcome.error
    const { state } = ctx
    try {
      const stdout = await ctx.stdoutSink?.finish()
      if (stdout) artifacts.push(stdout)
      const stderr = await ctx.stderrSink?.finish()
      if (stderr) artifacts.push(stderr)
    } catch (cause) {
      error ??= artifactWriteFailed('could not write output', cause)
    }
    if (outcome.resultJson !== undefined) {
      try {
        const sink = this.#sink(state.plan, 'result', fileIn(this.#context.dirOf(state), 'result.json'))
        sink.end(outcome.resultJson)
        const info = await sink.finish()
        if (info !== null) artifacts.push(info)
      } catch (cause) {
        error ??= artifactWriteFailed('could not store the result', cause)
      }
    }
    for (const file of state.plan.artifacts) {
      const source = path.resolve(ctx.cwd, file)
      const name = path.basename(file)
      try {
        artifacts.push(await collectFile(name, source, path.join(this.#context.dirOf(state), name), this.#settings.secrets))
      } catch (cause) {
        if (error === null && ctx.stopReason === null) error = artifactMissing(file, source, cause)
      }
    }
    return error
  }

  /** A new path in the run's spool directory. */
  #spoolFile(): string {
    if (this.#spoolDir === null) {
      this.#spoolDir = this.#store.spoolDir(this.#runDir)
      mkdirSync(this.#spoolDir, { recursive: true })
    }
    return fileIn(this.#spoolDir, String(++this.#spooled))
  }

  #sink(node: PlanNode, stream: 'stdout' | 'stderr' | 'result', file: string): ArtifactSink {
    const { runId, emit } = this.#settings
    const onChunk =
      stream !== 'result' && this.#settings.listens('node:output')
        ? (chunk: Buffer) => emit('node:output', { runId, ordinal: node.ordinal, path: node.path, stream, chunk })
        : undefined
    return new ArtifactSink(stream, file, this.#settings.secrets, { onChunk })
  }

  // -- outcomes --------------------------------------------------------------------------------

  #finish(state: NodeState, status: NodeStatus, last?: AttemptResult): void {
    transition(state, status)
    state.endedAt = status === 'succeeded' && last !== undefined ? last.endedAt : new Date()
    if (last) {
      state.exitCode = last.exitCode
      state.signal = last.signal
      state.error = status === 'succeeded' ? null : last.error
    }
    this.#emitNodeEnd(state)
  }

  /** node:end carries a NodeResult: only built when someone listens (100,000 nodes add up). */
  #emitNodeEnd(state: NodeState): void {
    if (this.#settings.listens('node:end')) this.#settings.emit('node:end', { runId: this.#settings.runId, ordinal: state.plan.ordinal, node: this.#nodeResult(state) })
  }

  #recordFailure(state: NodeState, status: NodeStatus, exitCode: number | null, signal: string | null, error: SerializedError | null): void {
    state.exitCode = exitCode
    state.signal = signal
    state.error = error
    state.startedAt ??= new Date()
    this.#finish(state, status)
    if (status === 'cancelled' || state.plan.continueOnFailure) return
    this.#failed = true
    if (!this.#settings.config.ignoreFailure) this.#haltReason ??= `not started: "${state.plan.path}" failed`
  }

  #nodeResult(state: NodeState): NodeResult {
    const { plan } = state
    return {
      ordinal: plan.ordinal,
      path: plan.path,
      name: plan.name,
      parentPath: plan.parentPath,
      kind: plan.kind,
      display: plan.display,
      status: state.status,
      exitCode: state.exitCode,
      signal: state.signal,
      error: state.error,
      skipReason: state.skipReason,
      attempts: state.attempts,
      startedAt: state.startedAt,
      endedAt: state.endedAt,
      artifacts: state.artifacts,
      children: [],
    }
  }
}
