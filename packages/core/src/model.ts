import type { Writable } from 'node:stream'
import type { WtflowConfig } from './config.js'
import type { Artifact, ExecutableKind, NodeStatus, RunIf, SerializedError } from './interfaces.js'

// ---------------------------------------------------------------------------------------------
// References: how one node's output becomes another node's input.
// ---------------------------------------------------------------------------------------------

/** A file artifact of a node: becomes an `Artifact` in a Func, the file's path in a Command argv. */
export class ArtifactRef {
  readonly kind = 'artifact' as const
  constructor(
    readonly node: Node<unknown>,
    readonly name: string,
  ) {}
}

/** The return value of a Func node: becomes the plain value (typed `T`) in a Func or a `when`. */
export class ResultRef<T> {
  readonly kind = 'result' as const
  /** Phantom field that carries the result type; never set at runtime. */
  declare readonly __type: T
  constructor(readonly node: Node<T>) {}
}

export type Ref = ArtifactRef | ResultRef<unknown>

export function isRef(value: unknown): value is Ref {
  return value instanceof ArtifactRef || value instanceof ResultRef
}

/** What a Func parameter of type `P` accepts: a value, a result of that type, or (for `Artifact`) an artifact. */
export type ArgFor<P> = P | ResultRef<P> | (Artifact extends P ? ArtifactRef : never)

/** The args tuple a Func accepts for a function with parameters `Params`. */
export type ArgsFor<Params extends readonly unknown[]> = { [K in keyof Params]: ArgFor<Params[K]> }

// ---------------------------------------------------------------------------------------------
// Executables
// ---------------------------------------------------------------------------------------------

/** A resolved reference, as an executable receives it. */
export type ResolvedRef =
  | { kind: 'artifact'; name: string; path: string; size: number }
  | { kind: 'value'; value: unknown }

/** Resources shared by all nodes of one run (a Func worker pool, say), closed when the run ends. */
export interface RunResources {
  get<T extends { close(): Promise<void> }>(key: string, create: () => T): T
}

/** Why an attempt was stopped. */
export type StopReason = 'timeout' | 'cancel'

/** What the engine gives an executable for one attempt. */
export interface ExecutionContext {
  readonly runId: string
  readonly nodePath: string
  readonly attempt: number
  /** Absolute directory of this node's artifacts (made by the first file written into it). */
  readonly nodeDir: string
  /** Absolute working directory (node `cwd`, inherited from ancestors, resolved). */
  readonly cwd: string
  /** Environment overlay for this node (ancestors' `env` merged with its own); not all of process.env. */
  readonly env: Readonly<Record<string, string>>
  /** Aborted on timeout (reason `'timeout'`) or cancellation (reason `'cancel'`). */
  readonly signal: AbortSignal
  /** Why the attempt was stopped, or null while it may run: `signal.reason`, read cheaply. */
  readonly stopReason: StopReason | null
  /**
   * Calls `listener` once when the attempt is stopped (at once if it already is); returns what
   * removes it. Same as a listener on `signal`, which is only made when an executable reads it:
   * 1,000 small Funcs would otherwise pay for 1,000 AbortControllers.
   */
  onStop(listener: (reason: StopReason) => void): () => void
  /** Sinks that redact, hash and stream to `stdout.log` / `stderr.log`. Do not end them. */
  readonly stdout: Writable
  readonly stderr: Writable
  /**
   * A file descriptor of the stdout artifact for a child process to write to directly (like
   * `> file`), or null when the bytes must pass through `stdout` (secrets to mask, output
   * listeners). Using it is optional; once used, do not write to `stdout`.
   */
  directStdout(): number | null
  readonly config: WtflowConfig
  readonly resources: RunResources
  /** Resolves a reference to an upstream node's artifact or result; throws if it is unavailable. */
  resolve(ref: Ref): Promise<ResolvedRef>
}

/** How an attempt of an executable ended. Success is `exitCode === 0 && error === null`. */
export interface ExecutionOutcome {
  exitCode: number | null
  signal: string | null
  error: SerializedError | null
  /** A Func's return value, already serialized to JSON text; stored as `result.json`. */
  resultJson?: string | undefined
}

/** What the default `prepare()` returns: one settled promise for every executable, not one each. */
const PREPARED: Promise<void> = Promise.resolve()

/**
 * Something a node runs. `R` is the type of its result (`node.result`); Commands have none.
 * Implement `execute` to add an executable kind.
 */
export abstract class Executable<R = void> {
  /** Phantom field that carries the result type; never set at runtime. */
  declare readonly __result: R
  abstract readonly kind: Exclude<ExecutableKind, 'group'>
  /** Short text for displays and history: the command line, or the function name. */
  abstract describe(): string
  /** Run one attempt. Must settle promptly once `ctx.signal` aborts, and leave no process behind. */
  abstract execute(ctx: ExecutionContext): Promise<ExecutionOutcome>
  /** The references this executable consumes (checked by validation). */
  abstract references(): Ref[]
  /** Checks that can only be done before the run (a Func's function must be locatable). */
  prepare(): Promise<void> {
    return PREPARED
  }
  /**
   * Called for each node at the start of a run, as soon as validation has placed it in the tree
   * and checked its options, before the rest of the tree is checked and `prepare()` is awaited:
   * a chance to start what the run will need, so it gets ready meanwhile (the first Func starts
   * the run's worker pool, whose threads take tens of milliseconds to boot). Must not throw;
   * what it creates in `run.resources` is closed when the run ends, or if validation then fails.
   */
  warmUp(_run: RunWarmUp): void {}
}

/** What `Executable.warmUp` gets. */
export interface RunWarmUp {
  readonly config: WtflowConfig
  readonly resources: RunResources
}

// ---------------------------------------------------------------------------------------------
// Tree
// ---------------------------------------------------------------------------------------------

/** What a `when` predicate can read. */
export interface WhenContext {
  readonly runId: string
  /** The path of the node being decided. */
  readonly path: string
  /** The value an upstream Func returned. */
  result<T>(ref: ResultRef<T>): Promise<T>
  /** The status an upstream node ended with (or `pending` if it has not). */
  status(node: Node<unknown>): NodeStatus
}

// Children may return anything: `any` keeps Node<R> covariant for a heterogeneous list.
/* eslint-disable @typescript-eslint/no-explicit-any */
export interface NodeOptions<R = void> {
  /** Unique among siblings; no `/`, not `.` or `..`. */
  name: string
  executable?: Executable<R> | undefined
  children?: readonly Node<any>[] | undefined
  /** Run the children all at once instead of one subtree after another. */
  parallel?: boolean | undefined
  /** Milliseconds per attempt before the executable is stopped (`timed_out`). */
  timeout?: number | undefined
  /** Extra attempts after a failure (default 0). */
  retries?: number | undefined
  /** Milliseconds before the first retry (default 1000). */
  retryDelay?: number | undefined
  /** Multiplier of the delay for each further retry (default 2). */
  backoff?: number | undefined
  /** Random spread of each delay, 0..1: 0.2 means ±20% (default 0). */
  jitter?: number | undefined
  /** Run only if this returns true; otherwise the node (and its subtree) is skipped. */
  when?: ((ctx: WhenContext) => boolean | Promise<boolean>) | undefined
  /** Relative to the parent: `failure` children are its failure branch (default `success`). */
  runIf?: RunIf | undefined
  /** A failure of this node does not fail the run or stop other nodes. */
  continueOnFailure?: boolean | undefined
  /** Environment variables for this node and its descendants. */
  env?: Readonly<Record<string, string>> | undefined
  /** Working directory for this node and its descendants (relative to the parent's). */
  cwd?: string | undefined
  /** Extra files the executable writes (relative to `cwd`), collected into the store by basename. */
  artifacts?: readonly string[] | undefined
}

/**
 * One node of a workflow tree.
 *
 * @example
 * const build = new Node({ name: 'build', executable: new Command('npm run build') })
 * const root = new Node({ name: 'ci', children: [build], parallel: false })
 */
export class Node<R = void> {
  readonly name: string
  readonly executable: Executable<R> | undefined
  readonly children: readonly Node<any>[]
  readonly options: Readonly<NodeOptions<R>>
  /** Fields, not getters of `options`: the engine reads them for every node. */
  readonly parallel: boolean
  readonly runIf: RunIf

  constructor(options: NodeOptions<R>) {
    // Not `Object.freeze({ ...options })`: V8 (Node 20) reads an option such a copy lacks about
    // 30 times slower (~100 ns: validation and the engine read a dozen per node); a copy made
    // by Object.assign freezes into an object that reads as fast as any other.
    this.options = Object.freeze(Object.assign({}, options))
    this.name = options.name
    this.executable = options.executable
    this.children = Object.freeze([...(options.children ?? [])])
    this.parallel = options.parallel ?? false
    this.runIf = options.runIf ?? 'success'
  }

  get kind(): ExecutableKind {
    return this.executable?.kind ?? 'group'
  }

  /** This node's stdout, as an input for a later node. */
  get stdout(): ArtifactRef {
    return new ArtifactRef(this, 'stdout')
  }

  /** This node's stderr, as an input for a later node. */
  get stderr(): ArtifactRef {
    return new ArtifactRef(this, 'stderr')
  }

  /** This node's (Func) return value, typed, as an input for a later node. */
  get result(): ResultRef<R> {
    return new ResultRef<R>(this)
  }

  /** Any artifact of this node by name: `stdout`, `stderr`, `result`, or a declared extra file's basename. */
  artifact(name: string): ArtifactRef {
    return new ArtifactRef(this, name)
  }
}

const WORKFLOW_BRAND = Symbol.for('wtflow.workflow')

export interface WorkflowOptions {
  name: string
  root: Node<any>
  /** Optional description shown by `wtflow list`. */
  description?: string | undefined
}

/**
 * A named tree of nodes. Export it from a workflow script; building it starts nothing.
 *
 * @example
 * export default new Workflow({ name: 'ci', root: new Node({ name: 'test', executable: new Command('npm test') }) })
 */
export class Workflow {
  readonly name: string
  readonly root: Node<any>
  readonly description: string | undefined

  constructor(options: WorkflowOptions) {
    this.name = options.name
    this.root = options.root
    this.description = options.description
  }

  get [WORKFLOW_BRAND](): true {
    return true
  }
}

/** True for a Workflow, even one built by another copy of @wtflow/core (a script's own install). */
export function isWorkflow(value: unknown): value is Workflow {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[WORKFLOW_BRAND] === true
}
/* eslint-enable @typescript-eslint/no-explicit-any */
