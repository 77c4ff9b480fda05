import type { RunIf } from '../interfaces.js'
import type { Executable } from '../model/executable.js'
import type { CacheOptions, Node, WhenPredicate } from '../model/node.js'

const NO_ARTIFACTS: readonly string[] = Object.freeze([])
const NO_DEPENDENCIES: readonly PlanNode[] = Object.freeze([])
const NO_DEPENDENTS: ReadonlyArray<{ readonly node: PlanNode; readonly after: boolean }> = Object.freeze([])

/** Defaults of the retry options, where the plan resolves them (and nowhere else). */
export const RETRY_DEFAULTS = Object.freeze({ retryDelay: 1000, backoff: 2, jitter: 0 })

/**
 * A node placed in its tree, with its options checked and resolved: what every part of wtflow
 * reads about a node during a run (the engine, the display, the recorder, `--dry-run`).
 * Made once by validation; never changes.
 */
export class PlanNode {
  readonly node: Node<unknown>
  readonly name: string
  /** Names from the root joined by `/`. */
  readonly path: string
  readonly parent: PlanNode | null
  /** Position in the plan's `nodes`: parents before children, in definition order. */
  readonly ordinal: number
  /** Position among its siblings. */
  readonly index: number
  readonly depth: number
  readonly children: PlanNode[] = []
  readonly executable: Executable<unknown> | undefined
  #kind: string | undefined
  #display: string | null | undefined
  readonly parallel: boolean
  readonly runIf: RunIf
  /** Milliseconds per attempt, or null for none. */
  readonly timeout: number | null
  /** `retries + 1`. */
  readonly attempts: number
  readonly retryDelay: number
  readonly backoff: number
  readonly jitter: number
  readonly continueOnFailure: boolean
  readonly when: WhenPredicate | null
  /** The node's own `env` (ancestors' are merged at run time), or null. */
  readonly env: Readonly<Record<string, string>> | null
  /** The node's own `cwd` (relative to its parent's), or null. */
  readonly cwd: string | null
  readonly artifacts: readonly string[]
  /** The `cache` option (`true` becomes `{}`), or null. */
  readonly cache: CacheOptions | null
  /**
   * Nodes this one waits for besides its parent and the siblings before it in a sequential
   * group: those in its `after`, and the producers of the references it takes. Set by validation.
   */
  dependencies: readonly PlanNode[] = NO_DEPENDENCIES
  /** Of `dependencies`, the nodes its `after` names: they must succeed (a reference's producer need only have run). */
  after: readonly PlanNode[] = NO_DEPENDENCIES
  /** The nodes that wait for this one (the reverse of `dependencies`), each saying whether it named this one in `after`. */
  dependents: ReadonlyArray<{ readonly node: PlanNode; readonly after: boolean }> = NO_DEPENDENTS

  constructor(node: Node<unknown>, path: string, parent: PlanNode | null, ordinal: number, index: number) {
    const o = node.options
    this.node = node
    this.name = node.name
    this.path = path
    this.parent = parent
    this.ordinal = ordinal
    this.index = index
    this.depth = parent === null ? 0 : parent.depth + 1
    this.executable = node.executable
    this.parallel = node.parallel
    this.runIf = node.runIf
    this.timeout = o.timeout ?? null
    this.attempts = (o.retries ?? 0) + 1
    this.retryDelay = o.retryDelay ?? RETRY_DEFAULTS.retryDelay
    this.backoff = o.backoff ?? RETRY_DEFAULTS.backoff
    this.jitter = o.jitter ?? RETRY_DEFAULTS.jitter
    this.continueOnFailure = o.continueOnFailure === true
    this.when = o.when ?? null
    this.env = o.env ?? null
    this.cwd = o.cwd ?? null
    this.artifacts = o.artifacts ?? NO_ARTIFACTS
    this.cache = o.cache === undefined ? null : o.cache === true ? {} : o.cache
  }

  /**
   * The executable's kind, or `group`; only shown. Read once validation is done (a plugin's
   * executable knows its kind once loaded).
   */
  get kind(): string {
    return (this.#kind ??= this.executable?.kind ?? 'group')
  }

  /** The command line, the function name…; null for a group. Read once validation is done, like `kind`. */
  get display(): string | null {
    if (this.#display === undefined) this.#display = this.executable?.describe() ?? null
    return this.#display
  }

  /** The parent's path, or null for the root. */
  get parentPath(): string | null {
    return this.parent?.path ?? null
  }
}
