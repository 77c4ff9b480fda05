import type { ArtifactSink } from '../artifacts/artifact-store.js'
import type { WtflowConfig } from '../config/config.js'
import type { ExecutionContext, ResolvedRef, RunResources, StopReason } from '../model/executable.js'
import type { Ref } from '../model/refs.js'
import type { NodeState } from './node-state.js'

/** What every attempt's context asks of its run: one object per run, not closures per attempt. */
export interface AttemptHost {
  readonly runId: string
  readonly config: WtflowConfig
  readonly resources: RunResources
  readonly inputs: Readonly<Record<string, string>>
  sink(state: NodeState, stream: 'stdout' | 'stderr'): ArtifactSink
  directStdout(attempt: AttemptContext): number | null
  resolve(ref: Ref): Promise<ResolvedRef>
  dirOf(state: NodeState): string
  cwdOf(state: NodeState): string
  envOf(state: NodeState): Readonly<Record<string, string>>
  /** The attempt has begun to run: its start time is set, `node:start` told, its timeout armed. */
  begin(attempt: AttemptContext): void
}

/**
 * The context of one attempt. A class, not an object literal with closures: a no-op Func's
 * whole attempt is a few microseconds, and its allocations show. What it derives (directories,
 * environment, the AbortController behind `signal`, the output sinks) is made on first use.
 */
export class AttemptContext implements ExecutionContext {
  readonly runId: string
  readonly nodePath: string
  readonly config: WtflowConfig
  readonly resources: RunResources
  stopReason: StopReason | null = null
  stdoutSink: ArtifactSink | undefined
  stderrSink: ArtifactSink | undefined
  timer: NodeJS.Timeout | undefined
  /** `started()` was called (or the engine began the attempt itself). */
  begun = false
  #controller: AbortController | undefined
  #onStop: ((reason: StopReason) => void)[] | undefined

  constructor(
    readonly host: AttemptHost,
    readonly state: NodeState,
    readonly attempt: number,
    /** When the attempt began to run; for a `startsLater` executable, reset by `started()`. */
    public startedAt: Date,
  ) {
    this.runId = host.runId
    this.nodePath = state.plan.path
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

  get inputs(): Readonly<Record<string, string>> {
    return this.host.inputs
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

  started(): void {
    if (this.begun) return
    this.startedAt = new Date()
    this.host.begin(this)
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
