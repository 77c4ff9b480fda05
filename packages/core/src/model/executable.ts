import type { Writable } from 'node:stream'
import type { WtflowConfig } from '../config/config.js'
import type { SerializedError } from '../interfaces.js'
import type { Ref } from './refs.js'

/** Marks executables across copies of @wtflow/core (see `ERROR_BRAND`). */
const EXECUTABLE_BRAND: unique symbol = Symbol.for('wtflow.executable') as never

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
  /** The run's inputs (each declared input's value); what `inputRef(name)` arguments become. */
  readonly inputs: Readonly<Record<string, string>>
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
  /**
   * For an executable whose capabilities say `startsLater`: it has begun to run (a worker took
   * it). Optional so that a hand-built context can leave it out; the engine's always has it.
   */
  started?(): void
}

/** How an attempt of an executable ended. Success is `exitCode === 0 && error === null`. */
export interface ExecutionOutcome {
  exitCode: number | null
  signal: string | null
  error: SerializedError | null
  /** The result, already serialized to JSON text; stored as `result.json` (needs the `result` capability). */
  resultJson?: string | undefined
}

/**
 * What an executable offers; the engine and validation read these, never the executable's
 * `kind` (which is only shown).
 */
export interface ExecutableCapabilities {
  /** It produces a result (`resultJson`) that later nodes may take as `node.result`. */
  readonly result: boolean
  /** It runs in the node's working directory, so the node's own `cwd` option applies. */
  readonly cwd: boolean
  /**
   * It may wait for a resource of its own before it runs (a Func waits for a free worker): it
   * calls `ctx.started()` once it runs, and the attempt's timeout, start time and `node:start`
   * count from then, not from `execute()`. Default false.
   */
  readonly startsLater?: boolean
}

/**
 * An executable as data: the name it is registered under (`command`, `func`, a plugin's name)
 * and its options, references included as `Ref` objects. What a run plan records, and how a plan
 * read back from JSON rebuilds the executable.
 */
export interface ExecutableSpec {
  readonly uses: string
  readonly with: unknown
}

/** What the default `prepare()` returns: one settled promise for every executable, not one each. */
const PREPARED: Promise<void> = Promise.resolve()

const NO_SECRETS: readonly string[] = Object.freeze([])

const NO_CAPABILITIES: ExecutableCapabilities = Object.freeze({ result: false, cwd: false })

/**
 * Something a node runs. `R` is the type of its result (`node.result`); Commands have none.
 * Implement `execute`, `describe`, `references` and `kind`; declare `capabilities` (default: no
 * result, `cwd` not honoured) and `toSpec()` to let a plan record how to rebuild it.
 */
export abstract class Executable<R = void> {
  /** Phantom field that carries the result type; never set at runtime. */
  declare readonly __result: R
  /** What to call it in displays and history (`command`, `func`, a plugin's name); the engine never branches on it. */
  abstract readonly kind: string
  /** What it offers: a result, honouring `cwd`. */
  readonly capabilities: ExecutableCapabilities = NO_CAPABILITIES
  /** Short text for displays and history: the command line, or the function name. */
  abstract describe(): string
  /** Run one attempt. Must settle promptly once `ctx.signal` aborts, and leave no process behind. */
  abstract execute(ctx: ExecutionContext): Promise<ExecutionOutcome>
  /** The references this executable consumes (checked by validation; each is a dependency). */
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
  /**
   * The executable as data (see `ExecutableSpec`). The default names the kind and the
   * description, which is enough for a digest and a record but cannot be rebuilt.
   */
  toSpec(): ExecutableSpec {
    return { uses: this.kind, with: { describe: this.describe() } }
  }
  /**
   * Values this executable holds that must never be shown (an `Authorization` header, a password
   * in a URL): the engine masks them as `***` like configured secrets, in artifacts, errors,
   * displays and history. Default: none.
   */
  secrets(): readonly string[] {
    return NO_SECRETS
  }
  /** Text that changes whenever the behaviour changes but `toSpec()` would not show it (a function's source). */
  digestExtra(): string | null {
    return null
  }

  get [EXECUTABLE_BRAND](): true {
    return true
  }
}

/** True for an executable, even one made by another copy of @wtflow/core. */
export function isExecutable(value: unknown): value is Executable<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[EXECUTABLE_BRAND] === true
}

/** What `Executable.warmUp` gets. */
export interface RunWarmUp {
  readonly config: WtflowConfig
  readonly resources: RunResources
}
