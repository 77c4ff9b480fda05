import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { Engine, ValidationError, decideReuse, isWtflowError, resolveInputs, toNodeDocument, type NodeDocument, type RunPlan, type WtflowConfig, type Workflow } from '@wtflow/core'
import { encodePathSegment } from '@wtflow/core/internal'
import { attachRecorder, type HistoryDatabase, type Recorder, type RunInfo } from '@wtflow/db'
import { ServerError } from '../errors.js'
import type { EventHub } from './event-hub.js'
import { QueueStore, type QueuedRun } from './queue-store.js'

/** A workflow the server runs by name: from a script given to `wtflow serve`. */
export interface RegisteredWorkflow {
  workflow: Workflow
  /** Absolute path of the script that exports it. */
  file: string
}

/**
 * What the lead's milestone-2 work plugs in (inline flows, cross-process cancel, resume,
 * workflow inputs). Each is optional: without it the route answers 501 and says why.
 */
export interface ServerHooks {
  /**
   * Builds the workflow of a posted flow document (`@wtflow/flow`). Throw a `WtflowError`
   * (e.g. `ValidationError`) for an invalid document or input: it is answered 400 with its message.
   */
  loadFlow?(flow: unknown, inputs: Record<string, unknown>): Promise<Workflow>
  /** Cancels a run that another process executes (`wtflow cancel`). */
  cancelElsewhere?(run: RunInfo): Promise<void>
  /** Starts a new run resuming `runId` (`wtflow resume`); resolves to its id. */
  resume?(runId: string, options: { rerun: string[] }): Promise<{ id: string }>
  /**
   * Checks a request's inputs against a workflow's declared inputs and returns them normalized.
   * Default: a workflow declares none, so any input is refused.
   */
  checkInputs?(workflow: Workflow, inputs: Record<string, unknown>): Record<string, unknown>
}

export interface RunServiceOptions {
  config: WtflowConfig
  db: HistoryDatabase
  hub: EventHub
  workflows?: readonly RegisteredWorkflow[]
  /** Runs executed at once (default `config.maxRuns`). */
  maxRuns?: number
  hooks?: ServerHooks
  /** How often queued runs of other servers are looked for (default 2000 ms). */
  queuePollMs?: number
  /** Where problems of background work are reported (default: stderr). */
  log?(message: string): void
}

export interface RunRequest {
  workflow?: unknown
  flow?: unknown
  inputs?: unknown
}

interface ActiveRun {
  id: string
  workflow: string
  controller: AbortController
  done: Promise<void>
}

/** How long a finished run of this server stays "local" (the recorder writes its end a little later). */
const LOCAL_GRACE_MS = 60_000

/**
 * Executes runs for the server: validates requests, records them as `queued` in history,
 * starts at most `maxRuns` at once (the oldest queued first, also those queued before a
 * restart or by another server with the same workflows), cancels them, and reports their
 * lifecycle to the event hub. One engine and one recorder serve every run.
 */
export class RunService {
  readonly engine: Engine
  readonly queue: QueueStore
  readonly maxRuns: number
  readonly #db: HistoryDatabase
  readonly #hub: EventHub
  readonly #registry = new Map<string, RegisteredWorkflow>()
  readonly #hooks: ServerHooks
  readonly #recorder: Recorder
  readonly #active = new Map<string, ActiveRun>()
  readonly #recent = new Map<string, number>()
  readonly #plans = new WeakMap<Workflow, Promise<RunPlan>>()
  readonly #log: (message: string) => void
  readonly #queuePollMs: number
  #timer: NodeJS.Timeout | null = null
  #dispatching: Promise<void> | null = null
  #dispatchAgain = false
  #closed = false

  constructor(options: RunServiceOptions) {
    this.#db = options.db
    this.#hub = options.hub
    this.#hooks = options.hooks ?? {}
    this.maxRuns = options.maxRuns ?? options.config.maxRuns
    this.#log = options.log ?? (message => process.stderr.write(`wtflow serve: ${message}\n`))
    this.#queuePollMs = options.queuePollMs ?? 2000
    for (const entry of options.workflows ?? []) {
      const name = entry.workflow.name
      const other = this.#registry.get(name)
      if (other !== undefined && other.workflow !== entry.workflow) {
        throw new ServerError('WTFLOW_SERVER_START', `two workflows are named "${name}" (${other.file} and ${entry.file}); give them distinct names`)
      }
      this.#registry.set(name, entry)
    }
    this.engine = new Engine({ config: options.config, handleSignals: false })
    this.queue = new QueueStore(options.db)
    this.#recorder = attachRecorder(this.engine, options.db, {
      onError: error => this.#log(`history write failed: ${messageOf(error)}`),
      // `wtflow cancel` from another terminal or host: recorded in history, read with the heartbeat.
      onCancelRequest: runId => this.#active.get(runId)?.controller.abort(new Error('cancelled by wtflow cancel')),
    })
    this.#forwardEngineEvents()
  }

  /** The workflows this server runs by name, sorted. */
  get workflows(): RegisteredWorkflow[] {
    return [...this.#registry.values()].sort((a, b) => a.workflow.name.localeCompare(b.workflow.name))
  }

  workflow(name: string): RegisteredWorkflow | undefined {
    return this.#registry.get(name)
  }

  get inlineFlowsSupported(): boolean {
    return this.#hooks.loadFlow !== undefined
  }

  /** Whether runs of workflows this server does not run can be resumed (through the `resume` hook). */
  get resumeSupported(): boolean {
    return this.#hooks.resume !== undefined
  }

  /** Runs executing in this process right now. */
  get activeCount(): number {
    return this.#active.size
  }

  /** True for a run this server executes (or finished a moment ago). */
  isLocal(runId: string): boolean {
    if (this.#active.has(runId)) return true
    const until = this.#recent.get(runId)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.#recent.delete(runId)
    return false
  }

  /** The planned nodes of a registered workflow (validated once). */
  plan(workflow: Workflow): Promise<RunPlan> {
    let plan = this.#plans.get(workflow)
    if (plan === undefined) {
      plan = this.engine.validate(workflow)
      this.#plans.set(workflow, plan)
      plan.catch(() => this.#plans.delete(workflow))
    }
    return plan
  }

  /** Releases claims of dead servers and starts what waits. */
  async start(): Promise<void> {
    const released = await this.queue.releaseDeadClaims()
    if (released > 0) this.#log(`${released} queued run(s) taken by a server that died are queued again`)
    this.#timer = setInterval(() => this.dispatchSoon(), this.#queuePollMs)
    this.#timer.unref()
    await this.dispatchSoon()
  }

  /**
   * Accepts a request: `{ workflow, inputs }` (a registered workflow) or `{ flow, inputs }` (an
   * inline flow, when `allowInline`). Validates it, records it `queued`, and starts it when a
   * slot is free. Resolves to the new run's id.
   */
  async submit(request: RunRequest, allowInline: boolean): Promise<{ id: string }> {
    const inputs = parseInputs(request.inputs)
    if (request.flow !== undefined && request.workflow !== undefined) {
      throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', 'give either "workflow" (a workflow this server runs) or "flow" (a flow document), not both')
    }
    if (request.flow !== undefined) return this.#submitFlow(request.flow, inputs, allowInline)
    if (typeof request.workflow !== 'string' || request.workflow === '') {
      throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `the body needs "workflow": the name of a workflow this server runs (${this.#names()}), or "flow": a flow document`)
    }
    const entry = this.#registry.get(request.workflow)
    if (entry === undefined) {
      throw new ServerError('WTFLOW_SERVER_UNKNOWN_WORKFLOW', `this server runs no workflow named "${request.workflow}"; it runs ${this.#names()}. Start \`wtflow serve\` with the script that defines it.`)
    }
    const checked = this.#checkInputs(entry.workflow, inputs)
    const plans = await this.#validate(entry.workflow, entry.file)
    return this.#enqueue({ kind: 'workflow', workflow: entry.workflow.name, script: entry.file, request: { inputs: checked }, nodeCount: plans.nodes.length })
  }

  async #submitFlow(flow: unknown, inputs: Record<string, unknown>, allowInline: boolean): Promise<{ id: string }> {
    if (!allowInline) {
      throw new ServerError(
        'WTFLOW_SERVER_INLINE_FLOWS_OFF',
        'this server does not run posted flows: a flow document runs arbitrary commands. Start it with `wtflow serve --allow-inline-flows` to accept them (and keep its token secret).',
      )
    }
    if (this.#hooks.loadFlow === undefined) {
      throw new ServerError('WTFLOW_SERVER_NOT_AVAILABLE', 'inline flows are not available in this build yet (they need @wtflow/flow); post {"workflow": NAME} for a workflow this server runs')
    }
    if (typeof flow !== 'object' || flow === null || Array.isArray(flow)) {
      throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', '"flow" must be a flow document (a JSON object with name and steps)')
    }
    const workflow = await this.#hooks.loadFlow(flow, inputs)
    const plans = await this.#validate(workflow, 'the posted flow')
    return this.#enqueue({ kind: 'flow', workflow: workflow.name, script: null, request: { inputs, flow }, nodeCount: plans.nodes.length })
  }

  async #enqueue(run: Omit<QueuedRun, 'id' | 'queuedAt' | 'claimedBy' | 'error'> & { nodeCount: number }): Promise<{ id: string }> {
    if (this.#closed) throw new ServerError('WTFLOW_SERVER_NOT_AVAILABLE', 'the server is shutting down; try again when it is back')
    const id = randomUUID()
    const runDir = path.join(this.engine.config.artifactsDir, encodePathSegment(id))
    await this.queue.enqueue({ id, kind: run.kind, workflow: run.workflow, script: run.script, request: run.request, runDir, nodeCount: run.nodeCount })
    this.#hub.publish({ event: 'run:queued', runId: id, workflow: run.workflow, path: null, status: 'queued', source: 'local' })
    void this.dispatchSoon()
    return { id }
  }

  /**
   * Cancels a run: one this server executes (its processes are stopped, it is recorded
   * `cancelled`), or one still queued anywhere. A run another process executes goes to the
   * `cancelElsewhere` hook. Resolves to the run's full id.
   */
  async cancel(idOrPrefix: string): Promise<string> {
    const id = await this.#db.resolveRunId(idOrPrefix)
    const local = this.#active.get(id)
    if (local !== undefined) {
      local.controller.abort(new Error('cancelled through the server'))
      return id
    }
    let info = await this.#db.getRunInfo(id)
    if (info.status === 'queued') {
      if (await this.queue.cancelQueued(id)) {
        this.#hub.publish({ event: 'run:end', runId: id, workflow: info.workflow, path: null, status: 'cancelled', exitCode: 130, source: 'local' })
        return id
      }
      // Taken by a server meanwhile: maybe this one.
      const now = this.#active.get(id)
      if (now !== undefined) {
        now.controller.abort(new Error('cancelled through the server'))
        return id
      }
      info = await this.#db.getRunInfo(id)
    }
    if (info.status === 'running' || info.status === 'queued') {
      if (this.#hooks.cancelElsewhere !== undefined) {
        await this.#hooks.cancelElsewhere(info)
        return id
      }
      throw new ServerError(
        'WTFLOW_SERVER_RUN_ELSEWHERE',
        `run ${id} is executed by another process (pid ${info.pid} on ${info.host}), and this server can only cancel the runs it executes itself; stop it there (Ctrl-C in its terminal)`,
      )
    }
    throw new ServerError('WTFLOW_SERVER_RUN_ENDED', `run ${id} already ended (${info.status}); there is nothing to cancel`)
  }

  /**
   * Resumes a finished run of a workflow this server runs (as `wtflow resume`): a new run,
   * queued like any other, that reuses every node the contract allows; the decision is made
   * again when it starts, so artifacts deleted meanwhile are run again. Resolves to its id.
   */
  async resume(idOrPrefix: string, rerun: string[]): Promise<{ id: string }> {
    const id = await this.#db.resolveRunId(idOrPrefix)
    if (this.#hooks.resume !== undefined) return this.#hooks.resume(id, { rerun })
    const info = await this.#db.getRunInfo(id)
    if (info.status === 'running' || info.status === 'queued') {
      throw new ServerError('WTFLOW_SERVER_CANNOT_RESUME', `run ${id} is still ${info.status}; only a finished run can be resumed`)
    }
    const entry = this.#registry.get(info.workflow)
    if (entry === undefined) {
      throw new ServerError('WTFLOW_SERVER_CANNOT_RESUME', `this server runs no workflow named "${info.workflow}" (it runs ${this.#names()}); resume it with \`wtflow resume ${id.slice(0, 8)}\`, or serve its script`)
    }
    const plan = await this.#validate(entry.workflow, entry.file)
    for (const path of rerun) {
      if (plan.nodeAt(path) === undefined) throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `"rerun": workflow "${plan.name}" has no node at "${path}"`)
    }
    const source = await this.#db.getResumeSource(id)
    const { treeChanged } = await decideReuse(plan, source, { rerun })
    if (treeChanged !== null) {
      throw new ServerError(
        'WTFLOW_SERVER_CANNOT_RESUME',
        `the tree of workflow "${plan.name}" changed since run ${id.slice(0, 8)} (${[...treeChanged.added.map(p => `new "${p}"`), ...treeChanged.removed.map(p => `removed "${p}"`)].slice(0, 5).join(', ')}); resume needs the same nodes: start a new run instead`,
      )
    }
    return this.#enqueue({ kind: 'workflow', workflow: entry.workflow.name, script: entry.file, request: { inputs: source.inputs ?? {}, resume: { from: id, rerun } }, nodeCount: plan.nodes.length })
  }

  /** Starts queued runs while slots are free (one pass at a time; a call during a pass runs another). */
  dispatchSoon(): Promise<void> {
    if (this.#dispatching !== null) {
      this.#dispatchAgain = true
      return this.#dispatching
    }
    this.#dispatching = (async () => {
      do {
        this.#dispatchAgain = false
        try {
          await this.#dispatch()
        } catch (error) {
          this.#log(`could not start queued runs: ${messageOf(error)}`)
        }
      } while (this.#dispatchAgain && !this.#closed)
    })().finally(() => {
      this.#dispatching = null
    })
    return this.#dispatching
  }

  async #dispatch(): Promise<void> {
    const kinds = this.inlineFlowsSupported ? ['workflow', 'flow'] : ['workflow']
    for (;;) {
      const free = this.maxRuns - this.#active.size
      if (this.#closed || free <= 0) return
      // Flows can be run by any server that accepts them; workflows only by one that has them.
      const names = this.inlineFlowsSupported ? null : [...this.#registry.keys()]
      const waiting = (await this.queue.waiting(free, names, kinds)).filter(run => run.kind === 'flow' || this.#registry.has(run.workflow))
      if (waiting.length === 0) return
      for (const run of waiting) {
        if (this.#closed || this.#active.size >= this.maxRuns) return
        if (await this.queue.claim(run.id)) this.#launch(run)
      }
    }
  }

  #launch(run: QueuedRun): void {
    const controller = new AbortController()
    const active: ActiveRun = { id: run.id, workflow: run.workflow, controller, done: Promise.resolve() }
    this.#active.set(run.id, active)
    active.done = (async () => {
      try {
        const workflow = await this.#workflowOf(run)
        const script = run.kind === 'workflow' ? (this.#registry.get(run.workflow)?.file ?? null) : null
        const resume = run.request.resume
        // A workflow's inputs were checked when the run was requested (a flow took its own when compiled).
        const inputs = run.kind === 'workflow' ? (run.request.inputs as Record<string, string>) : undefined
        if (resume === undefined) {
          await this.engine.run(workflow, { runId: run.id, signal: controller.signal, ...(script === null ? {} : { script }), ...(inputs === undefined ? {} : { inputs }) })
        } else {
          const plan = await this.plan(workflow)
          const reuse = await decideReuse(plan, await this.#db.getResumeSource(resume.from), { rerun: resume.rerun })
          await this.engine.run(plan, { runId: run.id, signal: controller.signal, reuse, ...(script === null ? {} : { script }), ...(inputs === undefined ? {} : { inputs }) })
        }
      } catch (error) {
        const message = messageOf(error)
        this.#log(`run ${run.id} (${run.workflow}) could not start: ${message}`)
        await this.queue.failToStart(run.id, message).catch(e => this.#log(`could not record it: ${messageOf(e)}`))
        this.#hub.publish({ event: 'run:end', runId: run.id, workflow: run.workflow, path: null, status: 'failed', exitCode: 2, error: message, source: 'local' })
      } finally {
        this.#active.delete(run.id)
        const now = Date.now()
        for (const [id, until] of this.#recent) if (until <= now) this.#recent.delete(id)
        this.#recent.set(run.id, now + LOCAL_GRACE_MS)
        void this.dispatchSoon()
      }
    })()
  }

  async #workflowOf(run: QueuedRun): Promise<Workflow> {
    if (run.kind === 'flow') {
      if (this.#hooks.loadFlow === undefined) throw new Error('inline flows are not available in this server')
      return this.#hooks.loadFlow(run.request.flow, run.request.inputs)
    }
    const entry = this.#registry.get(run.workflow)
    if (entry === undefined) throw new Error(`this server no longer runs a workflow named "${run.workflow}"`)
    return entry.workflow
  }

  /**
   * Stops taking runs; cancels the runs this server executes (they are recorded `cancelled`)
   * and waits for them to end; queued runs stay queued for the next start. Flushes history.
   */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) clearInterval(this.#timer)
    await this.#dispatching
    for (const run of this.#active.values()) run.controller.abort(new Error('the server is shutting down'))
    await Promise.all([...this.#active.values()].map(run => run.done))
    await this.#recorder.close().catch(error => this.#log(`history: ${messageOf(error)}`))
  }

  async #validate(workflow: Workflow, where: string): Promise<RunPlan> {
    try {
      return await this.plan(workflow)
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error
      // The same words as `wtflow run`.
      throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `workflow "${workflow.name}" in ${where} is invalid: ${sentence(error.message)} Fix it; nothing was run.`, { cause: error })
    }
  }

  #checkInputs(workflow: Workflow, inputs: Record<string, unknown>): Record<string, unknown> {
    if (this.#hooks.checkInputs !== undefined) return this.#hooks.checkInputs(workflow, inputs)
    const declared = workflow.inputs ?? {}
    if (Object.keys(declared).length > 0) {
      const given: Record<string, string> = {}
      for (const [name, value] of Object.entries(inputs)) {
        if (typeof value === 'string') given[name] = value
        else if (typeof value === 'number' || typeof value === 'boolean') given[name] = String(value)
        else throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `input "${name}" is ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}; an input's value is text (or a number or boolean)`)
      }
      try {
        return resolveInputs(workflow.name, declared, given)
      } catch (error) {
        if (!isWtflowError(error, 'WTFLOW_INPUT')) throw error
        throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', error.message.replace(/; give (--input \S+=VALUE ?)+$/, '; give it in "inputs" of the request'), { cause: error })
      }
    }
    const names = Object.keys(inputs)
    if (names.length > 0) {
      throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `workflow "${workflow.name}" declares no inputs; remove ${names.map(n => `"${n}"`).join(', ')} from "inputs"`)
    }
    return {}
  }

  #names(): string {
    const names = [...this.#registry.keys()].sort()
    return names.length === 0 ? 'none (no script was given to `wtflow serve`)' : names.map(n => `"${n}"`).join(', ')
  }

  #forwardEngineEvents(): void {
    const hub = this.#hub
    const workflows = new Map<string, string>()
    const source = 'local' as const
    this.engine.on('run:start', event => {
      workflows.set(event.runId, event.workflow)
      hub.publish({ event: 'run:start', runId: event.runId, workflow: event.workflow, path: null, status: 'running', source })
    })
    this.engine.on('node:start', event => {
      const node: NodeDocument = {
        path: event.path,
        name: event.path.slice(event.path.lastIndexOf('/') + 1),
        status: 'running',
        exitCode: null,
        signal: null,
        attempts: event.attempt,
        error: null,
        skipReason: null,
        startedAt: event.startedAt.toISOString(),
        endedAt: null,
        artifacts: [],
      }
      hub.publish({ event: 'node:start', runId: event.runId, workflow: workflows.get(event.runId) ?? null, path: event.path, status: 'running', attempt: event.attempt, node, source })
    })
    this.engine.on('node:attempt', event => {
      const { attempt } = event
      hub.publish({
        event: 'node:attempt',
        runId: event.runId,
        workflow: workflows.get(event.runId) ?? null,
        path: event.path,
        status: attempt.status,
        attempt: attempt.attempt,
        exitCode: attempt.exitCode,
        error: attempt.error?.message ?? null,
        source,
      })
    })
    this.engine.on('node:end', event => {
      const node = toNodeDocument(event.node)
      hub.publish({
        event: 'node:end',
        runId: event.runId,
        workflow: workflows.get(event.runId) ?? null,
        path: node.path,
        status: node.status,
        attempt: node.attempts,
        exitCode: node.exitCode,
        error: node.error,
        node,
        source,
      })
    })
    this.engine.on('run:end', ({ result }) => {
      workflows.delete(result.id)
      hub.publish({ event: 'run:end', runId: result.id, workflow: result.workflow, path: null, status: result.status, exitCode: result.exitCode, source })
    })
  }
}

function parseInputs(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', '"inputs" must be an object of NAME: value')
  return value as Record<string, unknown>
}

function sentence(message: string): string {
  return /[.!?]$/.test(message) ? message : `${message}.`
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
