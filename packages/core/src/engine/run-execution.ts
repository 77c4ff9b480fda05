import { createHash } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import fs from 'fs-extra'
import { ArtifactSink, ArtifactStore, collectFile, fileIn } from '../artifacts/artifact-store.js'
import { declaredFiles } from '../artifacts/declared.js'
import { maskError, maskSecrets } from '../artifacts/redactor.js'
import { describeConfig, type WtflowConfig } from '../config/config.js'
import { WtflowError, serializeError } from '../errors/errors.js'
import type { ArtifactInfo, AttemptResult, EngineEventMap, EngineEventName, NodeResult, NodeStatus, RunResult, SerializedError } from '../interfaces.js'
import type { ExecutionOutcome } from '../model/executable.js'
import type { WhenPredicate } from '../model/node.js'
import type { PlanNode } from '../plan/plan-node.js'
import type { RunPlan } from '../plan/run-plan.js'
import { AttemptContext, type AttemptHost } from './attempt-context.js'
import { NodeState } from './node-state.js'
import { NodeContext } from './node-context.js'
import { ReadyQueue } from './ready-queue.js'
import { artifactMissing, artifactWriteFailed, attemptError, attemptStatus, messageOf, runExitCode, transition, whenFailed } from './outcome.js'
import { cacheKey, hashFiles, type NodeCacheInfo, type RunCache } from './cache.js'
import { linkReusedArtifacts } from './reuse-artifacts.js'
import type { ReusedNode, RunReuse } from './reuse.js'
import { retryDelay, setAsideAttempt } from './retry.js'
import type { RunResourceSet } from './run-resources.js'

type Emit = <K extends EngineEventName>(name: K, event: EngineEventMap[K]) => void

export interface ExecutionSettings {
  resources: RunResourceSet
  config: WtflowConfig
  secrets: string[]
  cwd: string
  runId: string
  /** The run's inputs, resolved against the workflow's declarations. */
  inputs: Readonly<Record<string, string>>
  beforeNodes: (() => Promise<unknown> | void) | undefined
  reuse: RunReuse | null
  cache: RunCache | null
  script: string | null
  flow: { format: string; text: string } | undefined
  emit: Emit
  listens: (name: EngineEventName) => boolean
}

/** One run of one plan: schedules its nodes, runs their attempts, keeps their state. */
export class RunExecution {
  readonly #plan: RunPlan
  readonly #settings: ExecutionSettings
  readonly #store: ArtifactStore
  readonly #queue = new ReadyQueue()
  /** Slots free for executables (`max_parallel` minus the attempts running). */
  #free: number
  #done: () => void = () => {}
  #crash: (error: unknown) => void = () => {}
  /** By ordinal: `#states[node.ordinal]`. */
  readonly #states: NodeState[] = []
  readonly #context: NodeContext
  readonly #cancel = new AbortController()
  /** Stopped by cancel(): a set, not a listener each on the run's signal (AbortSignal scans its listeners on every add). */
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
  /** Cache entries being stored: the run ends once they are written. */
  readonly #cacheWrites: Promise<void>[] = []

  constructor(plan: RunPlan, settings: ExecutionSettings) {
    this.#plan = plan
    this.#settings = settings
    this.#store = new ArtifactStore(settings.config.artifactsDir)
    this.#free = settings.config.maxParallel
    this.#attemptHost = {
      runId: settings.runId,
      config: settings.config,
      resources: settings.resources,
      inputs: settings.inputs,
      sink: (state, stream) => this.#sink(state.plan, stream, fileIn(this.#context.dirOf(state), `${stream}.log`)),
      directStdout: attempt =>
        settings.secrets.length === 0 && !settings.listens('node:output') ? attempt.stdout.openDirect(this.#spoolFile()) : null,
      resolve: ref => this.#context.resolve(ref),
      dirOf: state => this.#context.dirOf(state),
      cwdOf: state => this.#context.cwdOf(state),
      envOf: state => this.#context.envOf(state),
      begin: attempt => this.#begin(attempt),
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
    // Nodes waiting for a slot will not start: skip them now.
    this.#guard(() => this.#pump())
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
        const secrets = this.#settings.secrets
        const { script, inputs, reuse, flow } = this.#settings
        emit('run:start', {
          runId,
          workflow: this.#plan.name,
          plan: this.#plan,
          startedAt,
          runDir: this.#runDir,
          script,
          inputs,
          ...(flow === undefined ? {} : { flow }),
          resumedFrom: reuse?.from ?? null,
          config: describeConfig(config),
          mask: text => maskSecrets(text, secrets),
        })
      }
      if (this.#settings.beforeNodes !== undefined) {
        try {
          await this.#settings.beforeNodes()
        } catch {
          // Only a record of the run could be late: the run itself goes on.
        }
      }
      await this.#runAll()
      await Promise.all(this.#cacheWrites)
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
      resumedFrom: this.#settings.reuse?.from ?? null,
      root: nodes[0]!,
      nodes,
    }
    emit('run:end', { result })
    return result
  }

  // -- scheduling ------------------------------------------------------------------------------
  // Event-driven: a node starts once its start conditions are met (its parent's executable ended,
  // the previous sibling's subtree in a sequential group ended, each dependency ended); ready
  // executables wait in a queue ordered by ordinal for one of `max_parallel` slots. A node that
  // runs at once and succeeds takes a chain of small synchronous steps that return promises, not
  // `async` functions: a no-op Func's whole run is a few microseconds, and each coroutine and each
  // large hot function that V8 compiles shows. Rare paths (`when`, retries) stay `async`.

  /** Runs every node; resolves once the root's subtree has ended. */
  #runAll(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#done = resolve
      this.#crash = reject
      this.#guard(() => this.#consider(this.#states[0]!))
    })
  }

  /** Runs `step`; an exception there is a bug in wtflow: the run rejects instead of hanging. */
  #guard(step: () => void): void {
    try {
      step()
    } catch (error) {
      this.#crash(error)
    }
  }

  /** One start condition of a node is met. */
  #release(state: NodeState): void {
    if (state.status !== 'pending') return
    if (--state.waiting === 0) this.#consider(state)
  }

  /** Every start condition of a node is met: it starts, waits for a slot, or is skipped. */
  #consider(state: NodeState): void {
    const { plan } = state
    const parent = plan.parent
    if (parent !== null && plan.runIf === 'success' && !state.parentSucceeded) return this.#skip(state, `"${parent.path}" did not succeed`)
    if (parent !== null && plan.runIf === 'failure' && state.parentSucceeded) {
      return this.#skip(state, parent.executable === undefined ? `failure branch of the group "${parent.path}", which has no executable that could fail` : `failure branch: "${parent.path}" succeeded`)
    }
    if (state.blockedBy !== null) return this.#skip(state, state.blockedBy)
    if (this.cancelled) return this.#skip(state, 'the run was cancelled')
    if (this.#haltReason !== null && !state.exempt) return this.#skip(state, this.#haltReason)
    const reused = plan.executable === undefined ? undefined : this.#settings.reuse?.nodes.get(plan.path)
    if (reused !== undefined) {
      this.#reuse(state, reused).catch(error => this.#crash(error))
      return
    }
    if (plan.when !== null) {
      this.#decide(state, plan.when).catch(error => this.#crash(error))
      return
    }
    this.#start(state)
  }

  /** Decides `when`, then starts the node; skipped if it returns false, failed if it throws. */
  async #decide(state: NodeState, when: WhenPredicate): Promise<void> {
    let go: boolean
    try {
      go = (await when(this.#context.whenContext(state.plan))) === true
    } catch (error) {
      this.#recordFailure(state, 'failed', null, null, whenFailed(error))
      this.#ended(state, false)
      return
    }
    // The run may have been cancelled or halted while the predicate ran.
    if (!go) this.#skip(state, 'when() returned false')
    else if (this.cancelled) this.#skip(state, 'the run was cancelled')
    else if (this.#haltReason !== null && !state.exempt) this.#skip(state, this.#haltReason)
    else this.#start(state)
  }

  /**
   * Ends a node `cached` with an earlier run's outcome, its files linked into this run's
   * directory. If they cannot be linked (deleted since the decision), the node runs after all.
   */
  async #reuse(state: NodeState, reused: ReusedNode): Promise<void> {
    const at = new Date()
    let artifacts: ArtifactInfo[]
    try {
      artifacts = await linkReusedArtifacts(reused.artifacts, this.#context.dirOf(state))
    } catch {
      if (this.cancelled) this.#skip(state, 'the run was cancelled')
      else if (state.plan.when !== null) await this.#decide(state, state.plan.when)
      else this.#start(state)
      return
    }
    transition(state, 'cached')
    state.startedAt = at
    state.endedAt = at
    state.exitCode = reused.exitCode
    state.reusedFrom = { runId: reused.runId, path: reused.path }
    for (const artifact of artifacts) state.artifacts.push(artifact)
    this.#emitNodeEnd(state)
    this.#ended(state, true)
    this.#pump()
  }

  /**
   * Computes a cached node's key once everything upstream ended; a hit whose files are all there
   * ends the node `cached` (its declared artifacts restored into its cwd); otherwise it runs.
   */
  async #checkCache(state: NodeState, cache: RunCache): Promise<void> {
    state.cacheChecked = true
    const { plan } = state
    const options = plan.cache!
    const warn = (message: string) => cache.onWarning?.(`"${plan.path}": ${message}`)
    let computed: { key: string; parts: Record<string, string> }
    try {
      computed = await cacheKey({
        definition: this.#plan.nodeDigest(plan),
        inputs: this.#inputHashes(state),
        cwd: this.#context.cwdOf(state),
        env: { ...process.env, ...this.#context.envOf(state) },
        options,
        whenContext: this.#context.whenContext(plan),
        warn,
      })
    } catch (error) {
      warn(`its cache key could not be computed (${messageOf(error)}); it runs without the cache`)
      return this.#start(state)
    }
    const entry = cache.mode === 'refresh' ? null : await cache.store.lookup(computed.key, options.ttl ?? null).catch(() => null)
    const info: NodeCacheInfo = (state.cacheInfo = { key: computed.key, parts: computed.parts, hit: false, comparedWith: null })
    if (entry !== null && !this.cancelled) {
      try {
        const artifacts = await linkReusedArtifacts(entry.artifacts, this.#context.dirOf(state))
        await restoreDeclared(plan.artifacts, artifacts, this.#context.cwdOf(state))
        info.hit = true
        info.comparedWith = { key: entry.key, runId: entry.runId, parts: entry.parts }
        transition(state, 'cached')
        state.startedAt = state.endedAt = new Date()
        state.exitCode = entry.exitCode
        state.reusedFrom = { runId: entry.runId, path: entry.path }
        for (const artifact of artifacts) state.artifacts.push(artifact)
        this.#emitNodeEnd(state)
        this.#ended(state, true)
        this.#pump()
        return
      } catch {
        // A hit whose files are gone is a miss.
      }
    }
    const closest = entry ?? (await cache.store.latest(this.#plan.name, plan.path).catch(() => null))
    if (closest !== null) info.comparedWith = { key: closest.key, runId: closest.runId, parts: closest.parts }
    if (this.cancelled) this.#skip(state, 'the run was cancelled')
    else if (this.#haltReason !== null && !state.exempt) this.#skip(state, this.#haltReason)
    else this.#start(state)
  }

  /** The sha256 of each artifact of the nodes this one takes references from (not those in `after` only). */
  #inputHashes(state: NodeState): Record<string, string> {
    const inputs: Record<string, string> = {}
    const { plan } = state
    for (const dependency of plan.dependencies) {
      if (plan.after.includes(dependency)) continue
      const artifacts = this.#states[dependency.ordinal]!.artifacts.map(a => [a.name, a.sha256])
      inputs[dependency.path] = createHash('sha256').update(JSON.stringify(artifacts)).digest('hex')
    }
    return inputs
  }

  /** A cached node succeeded: its entry is stored, unless its `files` changed while it ran. */
  #storeCache(state: NodeState, cache: RunCache): void {
    const info = state.cacheInfo!
    const { plan } = state
    const write = (async () => {
      const files = plan.cache!.files
      if (files !== undefined) {
        const now = await hashFiles(files, this.#context.cwdOf(state), () => {})
        const changed = Object.entries(now).filter(([pattern, hash]) => info.parts[`files:${pattern}`] !== hash)
        if (changed.length > 0) {
          cache.onWarning?.(`"${plan.path}": not cached: files of ${changed.map(([p]) => `"${p}"`).join(', ')} changed while it ran`)
          return
        }
      }
      await cache.store.store(
        { key: info.key, workflow: this.#plan.name, path: plan.path, runId: this.#settings.runId, createdAt: new Date(), parts: info.parts, exitCode: state.exitCode, artifacts: [...state.artifacts] },
        { replace: cache.mode === 'refresh' },
      )
    })().catch(error => cache.onWarning?.(`"${plan.path}": its cache entry could not be stored: ${messageOf(error)}`))
    this.#cacheWrites.push(write)
  }

  #start(state: NodeState): void {
    if (state.plan.executable !== undefined && state.plan.cache !== null && this.#settings.cache !== null && !state.cacheChecked) {
      this.#checkCache(state, this.#settings.cache).catch(error => this.#crash(error))
      return
    }
    if (state.plan.executable !== undefined) {
      this.#queue.push(state.plan.ordinal)
      this.#pump()
      return
    }
    // A group starts its children at once; its status and end time come from its subtree.
    transition(state, 'running')
    state.startedAt = new Date()
    if (this.#settings.listens('node:start')) {
      this.#settings.emit('node:start', { runId: this.#settings.runId, ordinal: state.plan.ordinal, path: state.plan.path, attempt: 0, startedAt: state.startedAt })
    }
    this.#ended(state, true)
  }

  /** Gives free slots to the queued nodes, smallest ordinal first. */
  #pump(): void {
    while (this.#free > 0 && this.#queue.size > 0) {
      const state = this.#states[this.#queue.pop()!]!
      if (state.nextAttempt === 1) {
        if (this.cancelled) this.#skip(state, 'the run was cancelled')
        else if (this.#haltReason !== null && !state.exempt) this.#skip(state, this.#haltReason)
        else this.#runAttempt(state, 1)
      } else if (this.cancelled) {
        this.#finish(state, 'cancelled', state.attempts.at(-1))
        this.#ended(state, false)
      } else {
        this.#runAttempt(state, state.nextAttempt)
      }
    }
  }

  /**
   * A node's own end: its children may start (told whether it succeeded) and, for an executable,
   * its dependents learn its final status. Then its part of its subtree is done.
   */
  #ended(state: NodeState, succeeded: boolean): void {
    const { plan } = state
    for (const child of plan.children) {
      const childState = this.#states[child.ordinal]!
      childState.parentSucceeded = succeeded
      this.#release(childState)
    }
    if (plan.executable !== undefined) this.#tellDependents(state)
    this.#closeOne(state)
  }

  /** Marks a node and its subtree skipped (iteratively: a subtree may be deep), then ends it. */
  #skip(state: NodeState, reason: string): void {
    const stack: Array<[NodeState, string]> = [[state, reason]]
    const skipped: NodeState[] = []
    while (stack.length > 0) {
      const [node, why] = stack.pop()!
      transition(node, 'skipped')
      node.skipReason = why
      this.#emitNodeEnd(node)
      skipped.push(node)
      const children = node.plan.children
      for (let i = children.length - 1; i >= 0; i--) stack.push([this.#states[children[i]!.ordinal]!, `"${node.plan.path}" was skipped`])
    }
    // Every node of the subtree has ended: dependents outside it learn so; the subtree is done.
    for (const node of skipped) this.#tellDependents(node)
    state.open = 0
    this.#subtreeEnded(state)
  }

  /** A node's status is final: each dependent is released, or blocked when it may not run. */
  #tellDependents(state: NodeState): void {
    const { status, plan } = state
    for (const { node, after } of plan.dependents) {
      const dependent = this.#states[node.ordinal]!
      if (dependent.status !== 'pending') continue
      if (after && status !== 'succeeded' && status !== 'cached') {
        dependent.blockedBy ??= `"${plan.path}" ${status === 'skipped' ? 'was skipped' : `ended ${status.replace('_', ' ')}`}, and it is in after`
      } else if (!after && status === 'skipped') {
        dependent.blockedBy ??= `"${plan.path}" was skipped, so there is nothing of it to take`
      }
      this.#release(dependent)
    }
  }

  /** One part of a node's subtree (its own end, or a child's subtree) is done. */
  #closeOne(state: NodeState): void {
    if (--state.open === 0) this.#subtreeEnded(state)
  }

  /**
   * A node's subtree has ended: a group gets its final status; the parent's subtree and the next
   * sibling of a sequential group move on. Walks up iteratively (a chain may be deep).
   */
  #subtreeEnded(first: NodeState): void {
    for (let state: NodeState | null = first; state !== null; ) {
      const { plan } = state
      if (plan.executable === undefined && state.status === 'running') {
        this.#finish(state, state.failedBelow ? 'failed' : state.cancelledBelow ? 'cancelled' : 'succeeded')
        this.#tellDependents(state)
      }
      const parent: NodeState | null = state.parent
      if (parent === null) {
        this.#done()
        return
      }
      parent.failedBelow ||= state.failedBelow
      parent.cancelledBelow ||= state.cancelledBelow
      const parentPlan = parent.plan
      if (!parentPlan.parallel && plan.index + 1 < parentPlan.children.length) this.#release(this.#states[parentPlan.children[plan.index + 1]!.ordinal]!)
      state = --parent.open === 0 ? parent : null
    }
  }

  // -- attempts --------------------------------------------------------------------------------

  /**
   * Runs an attempt in a slot; the slot is freed once the attempt has ended and its artifacts are
   * stored. A chain of small steps rather than an `async` function with try/finally around its
   * await: this is the hottest path of a run of small nodes, and V8's compile of such a generator
   * shows in it (bench/README.md).
   */
  #runAttempt(state: NodeState, attempt: number): void {
    this.#free--
    const startedAt = new Date()
    if (attempt === 1) transition(state, 'running')
    const executable = state.plan.executable!
    const ctx = new AttemptContext(this.#attemptHost, state, attempt, startedAt)
    // One that waits for a worker of its own begins (start time, node:start, timeout) when it gets one.
    if (executable.capabilities.startsLater !== true) this.#begin(ctx)
    if (this.cancelled) ctx.stop('cancel')
    this.#runningAttempts.add(ctx)
    let running: Promise<ExecutionOutcome>
    try {
      running = executable.execute(ctx)
    } catch (error) {
      running = Promise.reject(error)
    }
    running
      .then(
        outcome => this.#executed(ctx, outcome),
        error => this.#executed(ctx, { exitCode: null, signal: null, error: serializeError(error) }),
      )
      .catch(error => this.#crash(error))
  }

  /** The attempt begins to run: its node's start time, `node:start`, its timeout. */
  #begin(ctx: AttemptContext): void {
    ctx.begun = true
    const { state, attempt, startedAt } = ctx
    const { plan } = state
    if (attempt === 1) state.startedAt = startedAt
    if (this.#settings.listens('node:start')) this.#settings.emit('node:start', { runId: this.#settings.runId, ordinal: plan.ordinal, path: plan.path, attempt, startedAt })
    if (plan.timeout !== null && ctx.stopReason === null) ctx.timer = setTimeout(() => ctx.stop('timeout'), plan.timeout)
  }

  /** The executable has settled: stores what the attempt produced, frees its slot, decides what comes next. */
  #executed(ctx: AttemptContext, outcome: ExecutionOutcome): void | Promise<void> {
    if (ctx.timer !== undefined) clearTimeout(ctx.timer)
    this.#runningAttempts.delete(ctx)
    if (ctx.stdoutSink === undefined && ctx.stderrSink === undefined && outcome.resultJson === undefined && ctx.state.plan.artifacts.length === 0) {
      return this.#afterAttempt(ctx.state, this.#attemptResult(ctx, outcome, outcome.error, []))
    }
    const artifacts: ArtifactInfo[] = []
    return this.#storeArtifacts(ctx, outcome, artifacts).then(error => this.#afterAttempt(ctx.state, this.#attemptResult(ctx, outcome, error, artifacts)))
  }

  #attemptResult(ctx: AttemptContext, outcome: ExecutionOutcome, error: SerializedError | null, artifacts: ArtifactInfo[]): AttemptResult {
    const status = attemptStatus(ctx.stopReason, outcome, error)
    // Secrets never leave the engine in clear: an error may quote a command line or a value.
    if (status !== 'succeeded') error = maskError(attemptError(status, outcome, error, ctx.state.plan.timeout), this.#settings.secrets)
    return { attempt: ctx.attempt, status, exitCode: outcome.exitCode, signal: outcome.signal, error, startedAt: ctx.startedAt, endedAt: new Date(), artifacts }
  }

  /** What follows an attempt: its slot goes to the next node; the node succeeded, retries, or has failed. */
  #afterAttempt(state: NodeState, result: AttemptResult): void | Promise<void> {
    this.#free++
    if (result.status !== 'succeeded') return this.#retryOrFail(state, result)
    this.#endAttempt(state, result, null)
    this.#finish(state, 'succeeded', result)
    if (state.cacheInfo !== null && this.#settings.cache !== null) this.#storeCache(state, this.#settings.cache)
    this.#ended(state, true)
    this.#pump()
  }

  /** After an attempt that did not succeed: the next attempt if retries remain (and the run goes on), else the node fails. */
  async #retryOrFail(state: NodeState, result: AttemptResult): Promise<void> {
    const retry = result.status !== 'cancelled' && result.attempt < state.plan.attempts && !this.cancelled
    if (!retry) {
      this.#endAttempt(state, result, null)
      this.#recordFailure(state, result.status, result.exitCode, result.signal, result.error)
      this.#ended(state, false)
      this.#pump()
      return
    }
    this.#pump()
    const retryInMs = retryDelay(state.plan, result.attempt)
    await setAsideAttempt(result)
    this.#endAttempt(state, result, retryInMs)
    try {
      await sleep(retryInMs, undefined, { signal: this.#cancel.signal })
    } catch {
      this.#finish(state, 'cancelled', result)
      this.#ended(state, false)
      return
    }
    // The next attempt waits for a slot like any ready node, in tree order.
    state.nextAttempt = result.attempt + 1
    this.#queue.push(state.plan.ordinal)
    this.#pump()
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
      // A command that failed because the disk is full usually says so on the stderr that could
      // not be stored: the reason must reach the node's error either way.
      error = error === null ? artifactWriteFailed('could not write output', cause) : { ...error, message: `${error.message}; its output could not be stored: ${messageOf(cause)}` }
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
      try {
        for (const { name, source } of await declaredFiles(ctx.cwd, file)) {
          if (artifacts.some(artifact => artifact.name === name)) continue
          const target = path.join(this.#context.dirOf(state), name)
          if (name.includes('/')) await fs.ensureDir(path.dirname(target))
          artifacts.push(await collectFile(name, source, target, this.#settings.secrets))
        }
      } catch (cause) {
        if (error === null && ctx.stopReason === null) error = artifactMissing(file, path.resolve(ctx.cwd, file), cause)
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
    if (status === 'cancelled') state.cancelledBelow = true
    else if ((status === 'failed' || status === 'timed_out') && !state.plan.continueOnFailure) state.failedBelow = true
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
    state.error = maskError(error, this.#settings.secrets)
    state.startedAt ??= new Date()
    this.#finish(state, status)
    if (status === 'cancelled' || state.plan.continueOnFailure) return
    this.#failed = true
    if (!this.#settings.config.ignoreFailure) this.#haltReason ??= `not started: "${state.plan.path}" failed`
  }

  /** A node's command line or function name, secrets masked. */
  #display(plan: PlanNode): string | null {
    return plan.display === null ? null : maskSecrets(plan.display, this.#settings.secrets)
  }

  #nodeResult(state: NodeState): NodeResult {
    const { plan } = state
    return {
      ordinal: plan.ordinal,
      path: plan.path,
      name: plan.name,
      parentPath: plan.parentPath,
      kind: plan.kind,
      display: this.#display(plan),
      status: state.status,
      exitCode: state.exitCode,
      signal: state.signal,
      error: state.error,
      skipReason: state.skipReason,
      ...(state.plan.continueOnFailure && (state.status === 'failed' || state.status === 'timed_out') ? { tolerated: true } : {}),
      attempts: state.attempts,
      startedAt: state.startedAt,
      endedAt: state.endedAt,
      artifacts: state.artifacts,
      children: [],
      reusedFrom: state.reusedFrom,
      ...(state.cacheInfo === null ? {} : { cache: state.cacheInfo }),
    }
  }
}

/** A cache hit: the node's declared files, from the entry's copies, back where the node writes them. */
async function restoreDeclared(declared: readonly string[], artifacts: readonly ArtifactInfo[], cwd: string): Promise<void> {
  for (const file of declared) {
    const stored = artifacts.find(artifact => artifact.name === path.basename(file))
    if (stored === undefined) throw new Error(`the entry has no copy of ${file}`)
    const target = path.resolve(cwd, file)
    await fs.mkdir(path.dirname(target), { recursive: true })
    await fs.copyFile(stored.path, target)
  }
}
