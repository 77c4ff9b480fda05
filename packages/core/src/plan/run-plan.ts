import type { Node, Workflow } from '../model/node.js'
import { nodeDigest, treeDigest } from './digest.js'
import type { PlanNode } from './plan-node.js'
import { planToDocument, type PlanDocument } from './serialize.js'

/**
 * A validated workflow: every node placed, checked and resolved (see `PlanNode`). Made by
 * `engine.validate(workflow)`; `engine.run(plan)` runs it as many times as asked. Immutable.
 *
 * @example
 * const plan = await engine.validate(workflow)
 * for (const node of plan.nodes) console.log(node.path, node.kind, node.dependencies.map(d => d.path))
 * const result = await engine.run(plan)
 */
export class RunPlan {
  readonly workflow: Workflow
  /** Every node: parents before children, in definition order (`nodes[n.ordinal] === n`). */
  readonly nodes: readonly PlanNode[]
  readonly #byNode: ReadonlyMap<Node<unknown>, PlanNode>
  #byPath: Map<string, PlanNode> | null = null
  #digest: string | null = null
  #nodeDigests: Array<string | undefined> | null = null
  #secrets: readonly string[] | null = null

  /** @internal Made by validation. */
  constructor(workflow: Workflow, nodes: readonly PlanNode[], byNode: ReadonlyMap<Node<unknown>, PlanNode>) {
    this.workflow = workflow
    this.nodes = nodes
    this.#byNode = byNode
  }

  get name(): string {
    return this.workflow.name
  }

  get description(): string | null {
    return this.workflow.description ?? null
  }

  get root(): PlanNode {
    return this.nodes[0]!
  }

  /** The plan node of a Node object of this workflow. */
  planOf(node: Node<unknown>): PlanNode | undefined {
    return this.#byNode.get(node)
  }

  /** The node at a path (`Root/Build`), if there is one. */
  nodeAt(nodePath: string): PlanNode | undefined {
    if (this.#byPath === null) {
      this.#byPath = new Map()
      for (const node of this.nodes) this.#byPath.set(node.path, node)
    }
    return this.#byPath.get(nodePath)
  }

  /**
   * sha256 of the tree's definition (names, structure, executables' descriptions, options):
   * history keys workflow versions by it. Computed on first use.
   */
  get digest(): string {
    return (this.#digest ??= treeDigest(this))
  }

  /**
   * sha256 of one node's own definition: its path, executable (arguments and, for a Func, the
   * function's source text), options and `when` predicate. Equal digests mean the node would
   * do the same thing (given the same inputs): what resume and remote workers compare.
   */
  nodeDigest(node: PlanNode): string {
    const digests = (this.#nodeDigests ??= new Array<string | undefined>(this.nodes.length))
    return (digests[node.ordinal] ??= nodeDigest(this, node))
  }

  /**
   * Values the plan's executables hold that must never be shown (`Executable.secrets()`: an
   * `Authorization` header…). The engine masks them besides the configured secrets; mask them
   * too in what you show of the plan yourself (`toJSON()` holds them in clear, to be rebuilt).
   */
  get secrets(): readonly string[] {
    if (this.#secrets === null) {
      const found = new Set<string>()
      for (const node of this.nodes) for (const secret of node.executable?.secrets() ?? []) if (secret !== '') found.add(secret)
      this.#secrets = Object.freeze([...found])
    }
    return this.#secrets
  }

  /** The plan as JSON data: what history records and `--dry-run --json` prints. */
  toJSON(): PlanDocument {
    return planToDocument(this)
  }
}
