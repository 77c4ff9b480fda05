import type { NodeCacheInfo } from './engine/cache.js'
import type { RunPlan } from './plan/run-plan.js'

/**
 * Public types of @wtflow/core.
 *
 * Glossary
 * - **Workflow**: a named tree of Nodes. A workflow script exports them; `wtflow run` runs them.
 * - **Node**: one place in the tree: a name, options, children, and maybe an Executable.
 *   A node without an executable is a group: it succeeds at once and runs its children.
 * - **Executable**: what a node runs: a `Command` (shell string or argv, run with execa, in its
 *   own process group) or a `Func` (an exported TypeScript function, run in a worker thread).
 * - **Run**: one execution of a workflow: an id, a directory in the artifact store, a status.
 * - **Execution**: what happened to one node in one run (`NodeResult`): status, timing,
 *   attempts, artifacts.
 * - **Attempt**: one try of a node's executable; `retries` add attempts, all of them kept.
 * - **Artifact**: a file a node produced in the store: `stdout.log`, `stderr.log`,
 *   `result.json`, or an extra file the node declared, with its size and sha256.
 * - **Path**: the names from the root to a node joined by `/` (`Root/Build/Test`).
 * - **Plan**: a validated workflow (`RunPlan`): every node placed, with its options resolved
 *   and its dependencies; what `engine.run()` runs and every observer reads.
 */

/** Status of one node in one run. */
export type NodeStatus =
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'cancelled'
  | 'skipped'
  /** Did not run: its outcome was reused from an earlier run (`wtflow resume`, a cache hit). Counts as success. */
  | 'cached'

/**
 * Status of a run. `crashed` is only ever reported by history: the process died mid-run.
 * `queued`: accepted by `wtflow serve`, waiting for a free slot (`[server] max_runs`).
 */
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'crashed'

/** When a child runs, relative to how its parent ended. */
export type RunIf = 'success' | 'failure' | 'always'

/**
 * The kind of a node's executable (`command`, `func`, or a plugin's name); `group` is a node
 * without one. Only shown: the engine reads an executable's capabilities, never its kind.
 */
export type ExecutableKind = string

/** How an attempt ended. */
export type AttemptStatus = 'succeeded' | 'failed' | 'timed_out' | 'cancelled'

/** An error as it crosses a thread, process or database boundary. */
export interface SerializedError {
  name: string
  message: string
  stack?: string | undefined
  code?: string | undefined
}

/** A file in the artifact store, as recorded once it is complete. */
export interface ArtifactInfo {
  /** `stdout`, `stderr`, `result`, or the declared name of an extra file. */
  name: string
  /** Absolute path of the file. */
  path: string
  size: number
  sha256: string
}

/** One try of a node's executable. */
export interface AttemptResult {
  /** 1-based. */
  attempt: number
  status: AttemptStatus
  exitCode: number | null
  signal: string | null
  error: SerializedError | null
  startedAt: Date
  endedAt: Date
  /** The artifacts this attempt wrote (earlier attempts keep theirs under `attempt-N.` names). */
  artifacts: ArtifactInfo[]
}

/** What happened to one node in a run. */
export interface NodeResult {
  /** Position in the run's plan: parents before children, in definition order. */
  ordinal: number
  path: string
  name: string
  parentPath: string | null
  kind: ExecutableKind
  /** The command line or the function name; null for a group. */
  display: string | null
  status: NodeStatus
  exitCode: number | null
  signal: string | null
  error: SerializedError | null
  /** Why a `skipped` node did not run. */
  skipReason: string | null
  /** It failed (or timed out) under `continueOnFailure`: the run went on as if it had not. */
  tolerated?: boolean
  attempts: AttemptResult[]
  startedAt: Date | null
  endedAt: Date | null
  /** The final artifacts of the node (those of its last attempt, plus earlier attempts' renamed ones). */
  artifacts: ArtifactInfo[]
  children: NodeResult[]
  /** For a `cached` node: the run and node whose outcome it reused. */
  reusedFrom?: ReusedFrom | null
  /** For a node with `cache`: its key, the key's parts (hashes) and the entry it was compared with. */
  cache?: NodeCacheInfo | null
}

/** Where a `cached` node's outcome comes from. */
export interface ReusedFrom {
  runId: string
  path: string
}

/** The result tree `Engine.run()` resolves to. */
export interface RunResult {
  id: string
  workflow: string
  status: Exclude<RunStatus, 'queued' | 'running' | 'crashed'>
  /** 0 succeeded, 1 a node failed, 130 cancelled. */
  exitCode: number
  startedAt: Date
  endedAt: Date
  /** `<artifacts_dir>/<run id>` */
  runDir: string
  root: NodeResult
  /** The run this one resumed (`wtflow resume`), if any. */
  resumedFrom?: string | null
  /** Every node of the tree, parents before children (depth-first, in definition order). */
  nodes: NodeResult[]
}

/**
 * Lifecycle events of a run, in order. Subscribers (db recorder, CLI display) must not throw.
 * Node events carry the node's `ordinal` (its index in `plan.nodes`) besides its path.
 */
export interface EngineEventMap {
  'run:start': {
    runId: string
    workflow: string
    /** What will run: every node with its resolved options and dependencies; `plan.digest` identifies the tree. */
    plan: RunPlan
    startedAt: Date
    runDir: string
    /** Absolute path of the script (or flow file) the workflow was loaded from, when known: what `wtflow resume` loads again. */
    script?: string | null
    /** For a declarative flow: the flow document itself, as read. */
    flow?: { format: string; text: string }
    /** The run this one resumes (`RunOptions.reuse.from`), if any. */
    resumedFrom?: string | null
    /** The effective configuration, without secrets or passwords. */
    config: Record<string, string | number | boolean>
    /** The run's inputs: each declared input's value (given, else its default). */
    inputs: Readonly<Record<string, string>>
    /**
     * Masks the run's secrets in text taken from the plan (`plan.nodes[n].display`, its JSON):
     * what a listener shows or records of the plan goes through it. Events' own texts are masked.
     */
    mask(text: string): string
  }
  /** An attempt of a node starts (`attempt` is 1 for the first; 0 for a group, which has none). */
  'node:start': { runId: string; ordinal: number; path: string; attempt: number; startedAt: Date }
  /** Redacted output, as it is written to the node's artifact. */
  'node:output': { runId: string; ordinal: number; path: string; stream: 'stdout' | 'stderr'; chunk: Uint8Array }
  /** An attempt ended; if the node will retry, `retryInMs` says when. */
  'node:attempt': { runId: string; ordinal: number; path: string; attempt: AttemptResult; retryInMs: number | null }
  /** A node reached its final status (also for skipped nodes, which never start). */
  'node:end': { runId: string; ordinal: number; node: NodeResult }
  'run:end': { result: RunResult }
}

export type EngineEventName = keyof EngineEventMap

/**
 * An artifact as a Func receives it (for a `node.stdout`, `node.stderr` or `node.artifact(name)`
 * argument). Reading is lazy: nothing is loaded until asked.
 */
export interface Artifact {
  readonly name: string
  readonly path: string
  readonly size: number
  text(): Promise<string>
  bytes(): Promise<Uint8Array>
  lines(): AsyncIterable<string>
  json<T = unknown>(): Promise<T>
}
