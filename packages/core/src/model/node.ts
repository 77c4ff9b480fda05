import type { NodeStatus, RunIf } from '../interfaces.js'
import type { Executable } from './executable.js'
import type { InputSpec } from './inputs.js'
import { ArtifactRef, ResultRef } from './refs.js'

/** What a `when` predicate can read. */
export interface WhenContext {
  readonly runId: string
  /** The run's inputs: each declared input's value (given, else its default). */
  readonly inputs: Readonly<Record<string, string>>
  /** The path of the node being decided. */
  readonly path: string
  /** The value an upstream node returned. */
  result<T>(ref: ResultRef<T>): Promise<T>
  /** The status an upstream node ended with (or `pending` if it has not). */
  status(node: Node<unknown>): NodeStatus
}

/** A node's `when` option. */
export type WhenPredicate = (ctx: WhenContext) => boolean | Promise<boolean>

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
  when?: WhenPredicate | undefined
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
  /**
   * Nodes that must have succeeded before this one starts (besides its parent and, in a sequential
   * group, the siblings before it): anywhere in the workflow. One that does not succeed skips this
   * node, naming it. A group counts as ended when everything under it has.
   */
  after?: readonly Node<any>[] | undefined
  /**
   * Reuse this node's outcome across runs when nothing it depends on changed (needs run
   * history). `true`: keyed by its definition and resolved inputs; or say what else counts.
   * On a hit the node ends `cached` and its declared `artifacts` are restored into `cwd`.
   */
  cache?: true | CacheOptions | undefined
}

/** What a node's cache key is made of, besides its definition and resolved inputs. */
export interface CacheOptions {
  /** A string, or a function of the upstream results (`ctx.result(ref)`), mixed into the key. */
  key?: string | ((ctx: WhenContext) => string | Promise<string>) | undefined
  /** Globs (relative to the node's `cwd`) whose files' contents are part of the key. */
  files?: readonly string[] | undefined
  /** Names of environment variables whose values are part of the key (hashed, never stored in clear). */
  env?: readonly string[] | undefined
  /** Milliseconds an entry stays valid (default: forever). */
  ttl?: number | undefined
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
  /** The `after` option. */
  readonly after: readonly Node<any>[]
  readonly options: Readonly<NodeOptions<R>>
  /** Fields, not getters of `options`: the engine reads them for every node. */
  readonly parallel: boolean
  readonly runIf: RunIf

  constructor(options: NodeOptions<R>) {
    // Not `Object.freeze({ ...options })`: V8 (Node 20) reads an option such a copy lacks many times
    // slower, and validation reads a dozen per node; a copy made by Object.assign freezes into an
    // object that reads as fast as any other (figures: bench/README.md).
    this.options = Object.freeze(Object.assign({}, options))
    this.name = options.name
    this.executable = options.executable
    this.children = Object.freeze([...(options.children ?? [])])
    this.after = options.after === undefined ? NO_NODES : Array.isArray(options.after) ? Object.freeze([...options.after]) : (options.after as never)
    this.parallel = options.parallel ?? false
    this.runIf = options.runIf ?? 'success'
  }

  /** The executable's kind (`command`, `func`, …), or `group` for a node without one. Only shown. */
  get kind(): string {
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

  /** This node's result (a Func's return value), typed, as an input for a later node. */
  get result(): ResultRef<R> {
    return new ResultRef<R>(this)
  }

  /** Any artifact of this node by name: `stdout`, `stderr`, `result`, or a declared extra file's basename. */
  artifact(name: string): ArtifactRef {
    return new ArtifactRef(this, name)
  }
}

const NO_NODES: readonly Node<any>[] = Object.freeze([])

/**
 * Gives a node built without them its children, executable and `after`. Only for rebuilding a tree from
 * data (a plan read back from JSON), where a reference may point at a node whose own Node object
 * must exist before that node's executable can be built.
 */
export function assembleNode(
  node: Node<unknown>,
  parts: { children: readonly Node<unknown>[]; executable: Executable<unknown> | undefined; after: readonly Node<unknown>[] },
): void {
  const writable = node as { children: readonly Node<unknown>[]; executable: Executable<unknown> | undefined; after: readonly Node<unknown>[] }
  writable.children = Object.freeze([...parts.children])
  writable.executable = parts.executable
  writable.after = Object.freeze([...parts.after])
}

const WORKFLOW_BRAND = Symbol.for('wtflow.workflow')

export interface WorkflowOptions {
  name: string
  root: Node<any>
  /** Optional description shown by `wtflow list`. */
  description?: string | undefined
  /** Parameters of a run, by name (`--input NAME=VALUE`); nodes read them as `ctx.inputs` in `when` and `inputRef(name)` as an argument. */
  inputs?: Readonly<Record<string, InputSpec>> | undefined
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
  readonly inputs: Readonly<Record<string, InputSpec>>

  constructor(options: WorkflowOptions) {
    this.name = options.name
    this.root = options.root
    this.inputs = Object.freeze({ ...options.inputs })
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
