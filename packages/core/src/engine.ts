import { randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import fs from 'fs-extra'
import { ArtifactSink, ArtifactStore, collectFile, emptyArtifact, fileIn } from './artifact-store.js'
import { describeConfig, loadConfig, type WtflowConfig } from './config.js'
import { NodeFailure, ValidationError, serializeError } from './errors.js'
import { TypedEmitter } from './events.js'
import type {
  ArtifactInfo,
  AttemptResult,
  AttemptStatus,
  EngineEventMap,
  EngineEventName,
  NodePlan,
  NodeResult,
  NodeStatus,
  RunResult,
  SerializedError,
} from './interfaces.js'
import { Limiter } from './limiter.js'
import {
  ArtifactRef,
  type ExecutionContext,
  type ExecutionOutcome,
  type NodeOptions,
  type Ref,
  type ResolvedRef,
  type ResultRef,
  type RunResources,
  type RunWarmUp,
  type StopReason,
  type WhenContext,
  type Workflow,
} from './model.js'
import { treeDigest, validateWorkflow, type TreeNode, type ValidatedTree } from './validate.js'

export interface EngineOptions {
  /** Effective configuration; default `loadConfig()` (INI file, `WTFLOW_*` variables). */
  config?: WtflowConfig
  /** More values to mask in artifacts, besides the config's `[secrets]`. */
  secrets?: readonly string[]
  /** Directory relative node `cwd`s are resolved from (default `process.cwd()`). */
  cwd?: string
  /**
   * Cancel running workflows when this process gets SIGINT or SIGTERM, then let the signal
   * take its course (default true). The CLI turns this off and cancels through `signal`.
   */
  handleSignals?: boolean
}

export interface RunOptions {
  /** Aborting it cancels the run: running process groups are terminated, nothing new starts. */
  signal?: AbortSignal
  /** Use this run id instead of a new UUID. */
  runId?: string
}

/**
 * Runs workflows. Validation errors throw before anything starts; once started, `run()` never
 * throws because a node failed: it resolves to a `RunResult` tree. Subscribe to lifecycle
 * events with `engine.on('node:end', …)`.
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

  /** Validates a workflow without running it; resolves to the planned nodes. */
  async validate(workflow: Workflow): Promise<NodePlan[]> {
    return (await validateWorkflow(workflow)).plans
  }

  async run(workflow: Workflow, options: RunOptions = {}): Promise<RunResult> {
    const resources = new RunResourceSet()
    let tree: ValidatedTree
    try {
      // Executables warm up (a Func pool's threads boot) while the rest of the tree is validated.
      const run: RunWarmUp = { config: this.config, resources }
      tree = await validateWorkflow(workflow, { onPlaced: node => warmUp(node, run) })
    } catch (error) {
      await resources.close()
      throw error
    }
    const execution = new RunExecution(tree, {
      resources,
      config: this.config,
      secrets: this.#secrets,
      cwd: this.#cwd,
      runId: options.runId ?? randomUUID(),
      emit: (name, event) => this.emit(name, event),
      listens: name => this.hasListeners(name),
    })
    const detachSignal = linkAbort(options.signal, () => execution.cancel())
    const detachProcess = this.#handleSignals ? cancelOnProcessSignals(execution) : () => {}
    try {
      return await execution.run()
    } finally {
      detachSignal()
      detachProcess()
    }
  }
}

type Emit = <K extends EngineEventName>(name: K, event: EngineEventMap[K]) => void

interface ExecutionSettings {
  resources: RunResourceSet
  config: WtflowConfig
  secrets: string[]
  cwd: string
  runId: string
  emit: Emit
  listens: (name: EngineEventName) => boolean
}

/**
 * What the engine knows about one node during a run, and what it derives from the node's
 * ancestors (artifact directory, working directory, environment), computed on first use.
 */
class NodeState {
  status: NodeStatus = 'pending'
  exitCode: number | null = null
  signal: string | null = null
  error: SerializedError | null = null
  skipReason: string | null = null
  startedAt: Date | null = null
  endedAt: Date | null = null
  readonly attempts: AttemptResult[] = []
  readonly artifacts: ArtifactInfo[] = []
  dir: string | null = null
  cwd: string | null = null
  env: Readonly<Record<string, string>> | null = null
  /** Parsed `result.json`, read once on first use. */
  result: { value: unknown } | null = null
  /** Empty stdout/stderr files made for consumers of a node that printed nothing: made once. */
  emptyOutputs: Map<string, Promise<ArtifactInfo>> | null = null

  constructor(
    readonly tree: TreeNode,
    readonly parent: NodeState | null,
  ) {}
}

const NO_ENV: Readonly<Record<string, string>> = Object.freeze({})

/** One run of one validated tree. */
class RunExecution {
  readonly #tree: ValidatedTree
  readonly #settings: ExecutionSettings
  readonly #store: ArtifactStore
  readonly #limiter: Limiter
  /** By ordinal: `#states[tree.ordinal]`. */
  readonly #states: NodeState[] = []
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

  constructor(tree: ValidatedTree, settings: ExecutionSettings) {
    this.#tree = tree
    this.#settings = settings
    this.#store = new ArtifactStore(settings.config.artifactsDir)
    this.#limiter = new Limiter(settings.config.maxParallel, this.#cancel.signal)
    this.#attemptHost = {
      runId: settings.runId,
      config: settings.config,
      resources: settings.resources,
      sink: (state, stream) => this.#sink(state.tree, stream, fileIn(this.#dirOf(state), `${stream}.log`)),
      directStdout: attempt =>
        settings.secrets.length === 0 && !settings.listens('node:output') ? attempt.stdout.openDirect(this.#spoolFile()) : null,
      resolve: ref => this.#resolve(ref),
      dirOf: state => this.#dirOf(state),
      cwdOf: state => this.#cwdOf(state),
      envOf: state => this.#envOf(state),
    }
    const { nodes } = tree
    for (let i = 0; i < nodes.length; i++) {
      const parent = nodes[i]!.parent
      this.#states.push(new NodeState(nodes[i]!, parent === null ? null : this.#states[parent.ordinal]!))
    }
  }

  get cancelled(): boolean {
    return this.#cancel.signal.aborted
  }

  cancel(): void {
    if (this.cancelled) return
    this.#cancel.abort('cancel')
    for (const attempt of this.#runningAttempts) attempt.stop('cancel')
  }

  async run(): Promise<RunResult> {
    const { runId, emit, config } = this.#settings
    const startedAt = new Date()
    this.#runDir = this.#store.createRunDir(runId)
    if (this.#settings.listens('run:start')) {
      emit('run:start', {
        runId,
        workflow: this.#tree.workflow.name,
        digest: treeDigest(this.#tree),
        startedAt,
        runDir: this.#runDir,
        nodes: this.#tree.plans,
        config: describeConfig(config),
      })
    }
    try {
      await this.#runNode(this.#states[0]!, false)
    } finally {
      await this.#settings.resources.close()
      // Every spooled file was moved or removed when its node ended.
      if (this.#spoolDir !== null) await fs.rmdir(this.#spoolDir).catch(() => {})
    }
    const status = this.cancelled ? 'cancelled' : this.#failed ? 'failed' : 'succeeded'
    const nodes = this.#states.map(state => this.#nodeResult(state))
    for (let i = 1; i < nodes.length; i++) nodes[this.#states[i]!.parent!.tree.ordinal]!.children.push(nodes[i]!)
    const result: RunResult = {
      id: runId,
      workflow: this.#tree.workflow.name,
      status,
      exitCode: status === 'succeeded' ? 0 : status === 'cancelled' ? 130 : 1,
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
    const when = state.tree.node.options.when
    if (when !== undefined) return this.#runNodeIf(state, when, exempt)
    return this.#startNode(state, exempt)
  }

  #startNode(state: NodeState, exempt: boolean): Promise<unknown> {
    state.status = 'running'
    state.startedAt = new Date()
    if (state.tree.node.executable === undefined) return this.#runGroup(state, exempt)
    const ran = this.#runAttempts(state, 1)
    return state.tree.children.length === 0 ? ran : ran.then(succeeded => this.#runChildren(state, succeeded, exempt))
  }

  /** A group succeeds by running its children; its times span theirs. */
  async #runGroup(state: NodeState, exempt: boolean): Promise<void> {
    if (this.#settings.listens('node:start')) this.#settings.emit('node:start', { runId: this.#settings.runId, path: state.tree.path, attempt: 0, startedAt: state.startedAt! })
    await this.#runChildren(state, true, exempt)
    this.#finish(state, 'succeeded')
  }

  /** Decides `when`, then runs the node; skipped if it returns false, failed if it throws. */
  async #runNodeIf(state: NodeState, when: NonNullable<NodeOptions['when']>, exempt: boolean): Promise<void> {
    let go: boolean
    try {
      go = (await when(this.#whenContext(state.tree))) === true
    } catch (error) {
      this.#recordFailure(state, 'failed', null, null, serializeError(new NodeFailure(`when() threw: ${messageOf(error)}`, { code: 'WTFLOW_WHEN_FAILED' }, { cause: error })))
      await this.#runChildren(state, false, exempt)
      return
    }
    if (go) await this.#startNode(state, exempt)
    else await this.#skipSubtree(state, 'when() returned false')
  }

  async #runChildren(state: NodeState, parentSucceeded: boolean, exempt: boolean): Promise<void> {
    const { tree } = state
    const runChild = (child: TreeNode): Promise<unknown> => {
      const childState = this.#states[child.ordinal]!
      const runIf = child.node.runIf
      if (runIf === 'success' && !parentSucceeded) return this.#skipSubtree(childState, `"${tree.path}" did not succeed`)
      if (runIf === 'failure' && parentSucceeded) return this.#skipSubtree(childState, `failure branch: "${tree.path}" succeeded`)
      return this.#runNode(childState, exempt || runIf !== 'success')
    }
    if (tree.node.parallel) {
      // No more subtrees in flight than executables may run: the rest would only wait for the
      // limiter, each holding memory (100 groups of 1,000 would be 100,000 waiting coroutines).
      // No deadlock: a subtree holds a limiter slot only while its own executable runs.
      let next = 0
      const lane = async (): Promise<void> => {
        while (next < tree.children.length) await runChild(tree.children[next++]!)
      }
      await Promise.all(Array.from({ length: Math.min(this.#settings.config.maxParallel, tree.children.length) }, lane))
    } else {
      for (const child of tree.children) await runChild(child)
    }
  }

  async #skipSubtree(state: NodeState, reason: string): Promise<void> {
    state.status = 'skipped'
    state.skipReason = reason
    this.#emitNodeEnd(state)
    for (const child of state.tree.children) await this.#skipSubtree(this.#states[child.ordinal]!, `"${state.tree.path}" was skipped`)
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
      // Cancelled while waiting for a slot.
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
   * and V8 compiled that generator (with what it inlined) in ~20 ms of a 1,000-node run.
   */
  #runAttemptInSlot(state: NodeState, attempt: number): Promise<boolean> {
    const startedAt = new Date()
    if (this.#settings.listens('node:start')) this.#settings.emit('node:start', { runId: this.#settings.runId, path: state.tree.path, attempt, startedAt })
    const ctx = new AttemptContext(this.#attemptHost, state, attempt, startedAt)
    if (this.cancelled) ctx.stop('cancel')
    this.#runningAttempts.add(ctx)
    const timeout = state.tree.node.options.timeout
    if (timeout !== undefined) ctx.timer = setTimeout(() => ctx.stop('timeout'), timeout)
    let running: Promise<ExecutionOutcome>
    try {
      running = state.tree.node.executable!.execute(ctx)
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
    const options = ctx.state.tree.node.options
    if (ctx.stdoutSink === undefined && ctx.stderrSink === undefined && outcome.resultJson === undefined && options.artifacts === undefined) {
      this.#limiter.release()
      return this.#afterAttempt(ctx.state, attemptResult(ctx, outcome, outcome.error, []))
    }
    const artifacts: ArtifactInfo[] = []
    return this.#storeArtifacts(ctx, outcome, artifacts).then(error => {
      this.#limiter.release()
      return this.#afterAttempt(ctx.state, attemptResult(ctx, outcome, error, artifacts))
    })
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
    const options = state.tree.node.options
    const retry = result.status !== 'cancelled' && result.attempt <= (options.retries ?? 0) && !this.cancelled
    if (!retry) {
      this.#endAttempt(state, result, null)
      this.#recordFailure(state, result.status, result.exitCode, result.signal, result.error)
      return false
    }
    const retryInMs = retryDelay(options, result.attempt)
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
    if (this.#settings.listens('node:attempt')) this.#settings.emit('node:attempt', { runId: this.#settings.runId, path: state.tree.path, attempt: result, retryInMs })
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
      error ??= serializeError(new NodeFailure(`could not write output: ${messageOf(cause)}`, { code: 'WTFLOW_ARTIFACT_WRITE' }, { cause }))
    }
    if (outcome.resultJson !== undefined) {
      try {
        const sink = this.#sink(state.tree, 'result', fileIn(this.#dirOf(state), 'result.json'))
        sink.end(outcome.resultJson)
        const info = await sink.finish()
        if (info !== null) artifacts.push(info)
      } catch (cause) {
        error ??= serializeError(new NodeFailure(`could not store the result: ${messageOf(cause)}`, { code: 'WTFLOW_ARTIFACT_WRITE' }, { cause }))
      }
    }
    for (const file of state.tree.node.options.artifacts ?? []) {
      const source = path.resolve(ctx.cwd, file)
      const name = path.basename(file)
      try {
        artifacts.push(await collectFile(name, source, path.join(this.#dirOf(state), name), this.#settings.secrets))
      } catch (cause) {
        if (error === null && ctx.stopReason === null) {
          error = serializeError(new NodeFailure(`declared artifact "${file}" could not be collected from ${source}: ${messageOf(cause)}`, { code: 'WTFLOW_ARTIFACT_MISSING' }, { cause }))
        }
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

  #sink(tree: TreeNode, stream: 'stdout' | 'stderr' | 'result', file: string): ArtifactSink {
    const { runId, emit } = this.#settings
    const onChunk =
      stream !== 'result' && this.#settings.listens('node:output')
        ? (chunk: Buffer) => emit('node:output', { runId, path: tree.path, stream, chunk })
        : undefined
    return new ArtifactSink(stream, file, this.#settings.secrets, { onChunk })
  }

  // -- outcomes --------------------------------------------------------------------------------

  #finish(state: NodeState, status: NodeStatus, last?: AttemptResult): void {
    state.status = status
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
    if (this.#settings.listens('node:end')) this.#settings.emit('node:end', { runId: this.#settings.runId, node: this.#nodeResult(state) })
  }

  #recordFailure(state: NodeState, status: NodeStatus, exitCode: number | null, signal: string | null, error: SerializedError | null): void {
    state.exitCode = exitCode
    state.signal = signal
    state.error = error
    state.startedAt ??= new Date()
    this.#finish(state, status)
    if (status === 'cancelled' || state.tree.node.options.continueOnFailure === true) return
    this.#failed = true
    if (!this.#settings.config.ignoreFailure) this.#haltReason ??= `not started: "${state.tree.path}" failed`
  }

  #nodeResult(state: NodeState): NodeResult {
    const { tree } = state
    return {
      path: tree.path,
      name: tree.name,
      parentPath: tree.parent?.path ?? null,
      kind: tree.node.kind,
      display: this.#tree.plans[tree.ordinal]!.display,
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

  // -- context ---------------------------------------------------------------------------------

  /** The node's artifact directory (made by the first file written into it). */
  #dirOf(state: NodeState): string {
    if (state.dir === null) {
      const { tree, parent } = state
      state.dir = parent === null ? this.#store.nodeDir(this.#runDir, [tree.name]) : this.#store.childDir(this.#runDir, this.#dirOf(parent), tree.path, tree.name)
    }
    return state.dir
  }

  #cwdOf(state: NodeState): string {
    if (state.cwd === null) {
      const base = state.parent === null ? this.#settings.cwd : this.#cwdOf(state.parent)
      const own = state.tree.node.options.cwd
      state.cwd = own === undefined ? base : path.resolve(base, own)
    }
    return state.cwd
  }

  #envOf(state: NodeState): Readonly<Record<string, string>> {
    if (state.env === null) {
      const base = state.parent === null ? NO_ENV : this.#envOf(state.parent)
      const own = state.tree.node.options.env
      state.env = own === undefined ? base : { ...base, ...own }
    }
    return state.env
  }

  async #resolve(ref: Ref): Promise<ResolvedRef> {
    const producer = this.#tree.byNode.get(ref.node)
    if (producer === undefined) throw new NodeFailure(`input unavailable: node "${ref.node.name}" is not in this workflow`, { code: 'WTFLOW_INPUT_UNAVAILABLE' })
    const state = this.#states[producer.ordinal]!
    if (state.status === 'skipped' || state.status === 'pending') {
      throw new NodeFailure(`input unavailable: "${producer.path}" ${state.status === 'skipped' ? 'was skipped' : 'has not run'}`, { code: 'WTFLOW_INPUT_UNAVAILABLE' })
    }
    const name = ref instanceof ArtifactRef ? ref.name : 'result'
    let artifact = state.artifacts.find(a => a.name === name)
    if (ref instanceof ArtifactRef) {
      if (artifact === undefined && (name === 'stdout' || name === 'stderr') && state.attempts.length > 0) {
        // The node printed nothing, so no file was created; its consumers get an empty one.
        const made = (state.emptyOutputs ??= new Map())
        let empty = made.get(name)
        if (empty === undefined) made.set(name, (empty = emptyArtifact(name, fileIn(this.#dirOf(state), `${name}.log`))))
        artifact = await empty
      }
      if (artifact === undefined) throw new NodeFailure(`input unavailable: "${producer.path}" has no artifact "${name}"`, { code: 'WTFLOW_INPUT_UNAVAILABLE' })
      return { kind: 'artifact', name: artifact.name, path: artifact.path, size: artifact.size }
    }
    return { kind: 'value', value: await this.#resultOf(state) }
  }

  async #resultOf(state: NodeState): Promise<unknown> {
    if (state.result !== null) return state.result.value
    const artifact = state.artifacts.find(a => a.name === 'result')
    // A Func that returned undefined stores no result.json.
    if (artifact === undefined && state.status === 'succeeded' && state.tree.node.kind === 'func') return undefined
    if (artifact === undefined) {
      throw new NodeFailure(`input unavailable: "${state.tree.path}" ended ${state.status} without a result`, { code: 'WTFLOW_INPUT_UNAVAILABLE' })
    }
    const value: unknown = JSON.parse(await fs.readFile(artifact.path, 'utf8'))
    state.result = { value }
    return value
  }

  #whenContext(tree: TreeNode): WhenContext {
    return {
      runId: this.#settings.runId,
      path: tree.path,
      result: async <T>(ref: ResultRef<T>): Promise<T> => {
        const producer = this.#tree.byNode.get(ref.node)
        if (producer === undefined) throw new Error(`node "${ref.node.name}" is not in this workflow`)
        return (await this.#resultOf(this.#states[producer.ordinal]!)) as T
      },
      status: node => {
        const producer = this.#tree.byNode.get(node)
        return producer === undefined ? 'pending' : this.#states[producer.ordinal]!.status
      },
    }
  }
}

function attemptResult(ctx: AttemptContext, outcome: ExecutionOutcome, error: SerializedError | null, artifacts: ArtifactInfo[]): AttemptResult {
  const status = attemptStatus(ctx.stopReason, outcome, error)
  if (status !== 'succeeded') error = attemptError(status, outcome, error, ctx.state.tree.node.options.timeout)
  return { attempt: ctx.attempt, status, exitCode: outcome.exitCode, signal: outcome.signal, error, startedAt: ctx.startedAt, endedAt: new Date(), artifacts }
}

/** How an attempt ended, from why it was stopped (if it was), its outcome and any error storing its artifacts. */
function attemptStatus(stopReason: StopReason | null, outcome: ExecutionOutcome, error: SerializedError | null): AttemptStatus {
  if (stopReason === 'timeout') return 'timed_out'
  if (stopReason === 'cancel') return 'cancelled'
  return outcome.exitCode === 0 && error === null ? 'succeeded' : 'failed'
}

/** The error an attempt that did not succeed reports. */
function attemptError(status: AttemptStatus, outcome: ExecutionOutcome, error: SerializedError | null, timeout: number | undefined): SerializedError {
  const { exitCode, signal } = outcome
  if (status === 'timed_out') return serializeError(new NodeFailure(`timed out after ${timeout} ms`, { timedOut: true, exitCode, signal, code: 'WTFLOW_TIMEOUT' }))
  if (status === 'cancelled') return serializeError(new NodeFailure('cancelled', { exitCode, signal, code: 'WTFLOW_CANCELLED' }))
  return error ?? serializeError(new NodeFailure(`exited with code ${exitCode}`, { exitCode }))
}

interface AttemptHost {
  readonly runId: string
  readonly config: WtflowConfig
  readonly resources: RunResources
  sink(state: NodeState, stream: 'stdout' | 'stderr'): ArtifactSink
  directStdout(attempt: AttemptContext): number | null
  resolve(ref: Ref): Promise<ResolvedRef>
  dirOf(state: NodeState): string
  cwdOf(state: NodeState): string
  envOf(state: NodeState): Readonly<Record<string, string>>
}

/**
 * The context of one attempt. A class, not an object literal with closures: a no-op Func's
 * whole attempt is a few microseconds, and its allocations show. What it derives (directories,
 * environment, the AbortController behind `signal`, the output sinks) is made on first use.
 */
class AttemptContext implements ExecutionContext {
  readonly runId: string
  readonly nodePath: string
  readonly config: WtflowConfig
  readonly resources: RunResources
  stopReason: StopReason | null = null
  stdoutSink: ArtifactSink | undefined
  stderrSink: ArtifactSink | undefined
  timer: NodeJS.Timeout | undefined
  #controller: AbortController | undefined
  #onStop: ((reason: StopReason) => void)[] | undefined

  constructor(
    readonly host: AttemptHost,
    readonly state: NodeState,
    readonly attempt: number,
    readonly startedAt: Date,
  ) {
    this.runId = host.runId
    this.nodePath = state.tree.path
    this.config = host.config
    this.resources = host.resources
  }

  get nodeDir(): string {
    return this.host.dirOf(this.state)
  }

  get cwd(): string {
    return this.host.cwdOf(this.state)
  }

  get env(): Readonly<Record<string, string>> {
    return this.host.envOf(this.state)
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.stopReason !== null) this.#controller.abort(this.stopReason)
    }
    return this.#controller.signal
  }

  get stdout(): ArtifactSink {
    return (this.stdoutSink ??= this.host.sink(this.state, 'stdout'))
  }

  get stderr(): ArtifactSink {
    return (this.stderrSink ??= this.host.sink(this.state, 'stderr'))
  }

  directStdout(): number | null {
    return this.host.directStdout(this)
  }

  resolve(ref: Ref): Promise<ResolvedRef> {
    return this.host.resolve(ref)
  }

  onStop(listener: (reason: StopReason) => void): () => void {
    if (this.stopReason !== null) {
      listener(this.stopReason)
      return () => {}
    }
    ;(this.#onStop ??= []).push(listener)
    return () => {
      const index = this.#onStop?.indexOf(listener) ?? -1
      if (index !== -1) this.#onStop!.splice(index, 1)
    }
  }

  stop(reason: StopReason): void {
    if (this.stopReason !== null) return
    this.stopReason = reason
    this.#controller?.abort(reason)
    const listeners = this.#onStop
    this.#onStop = undefined
    for (const listener of listeners ?? []) listener(reason)
  }
}

/** Resources shared by the nodes of one run, by key; closed together when the run ends. */
class RunResourceSet implements RunResources {
  readonly #resources = new Map<string, { close(): Promise<void> }>()

  get<T extends { close(): Promise<void> }>(key: string, create: () => T): T {
    let resource = this.#resources.get(key)
    if (resource === undefined) {
      resource = create()
      this.#resources.set(key, resource)
    }
    return resource as T
  }

  async close(): Promise<void> {
    const resources = [...this.#resources.values()]
    this.#resources.clear()
    await Promise.allSettled(resources.map(resource => resource.close()))
  }
}

function warmUp(tree: TreeNode, run: RunWarmUp): void {
  try {
    tree.node.executable?.warmUp(run)
  } catch (error) {
    throw new ValidationError(tree.path, `could not get ready to run: ${messageOf(error)}`, { cause: error })
  }
}

/** Before a retry, keeps the failed attempt's files as `attempt-N.stdout.log` and so on. */
async function setAsideAttempt(result: AttemptResult): Promise<void> {
  for (const artifact of result.artifacts) {
    const target = path.join(path.dirname(artifact.path), `attempt-${result.attempt}.${path.basename(artifact.path)}`)
    await fs.move(artifact.path, target, { overwrite: true })
    artifact.path = target
    artifact.name = `${artifact.name}.attempt-${result.attempt}`
  }
}

/** Delay before retry number `attempt` (1-based): retryDelay × backoff^(attempt-1), ± jitter. */
export function retryDelay(options: { retryDelay?: number | undefined; backoff?: number | undefined; jitter?: number | undefined }, attempt: number): number {
  const base = (options.retryDelay ?? 1000) * (options.backoff ?? 2) ** (attempt - 1)
  const jitter = options.jitter ?? 0
  return Math.max(0, Math.round(base * (1 + jitter * (2 * Math.random() - 1))))
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

const activeRuns = new Set<RunExecution>()
let signalHandlersInstalled = false

/**
 * While runs are active, SIGINT/SIGTERM cancel them (terminating every process group), and
 * the signal is raised again once they have ended, so the host exits as it would have.
 */
function cancelOnProcessSignals(execution: RunExecution): () => void {
  activeRuns.add(execution)
  if (!signalHandlersInstalled) {
    signalHandlersInstalled = true
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, onProcessSignal)
  }
  return () => {
    activeRuns.delete(execution)
    if (activeRuns.size === 0 && signalHandlersInstalled) {
      signalHandlersInstalled = false
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, onProcessSignal)
      if (pendingSignal !== null) {
        const signal = pendingSignal
        pendingSignal = null
        process.kill(process.pid, signal)
      }
    }
  }
}

let pendingSignal: NodeJS.Signals | null = null

function onProcessSignal(signal: NodeJS.Signals): void {
  pendingSignal = signal
  for (const run of activeRuns) run.cancel()
}
