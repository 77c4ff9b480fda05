import type { ArtifactInfo, AttemptResult, NodeStatus, ReusedFrom, SerializedError } from '../interfaces.js'
import type { PlanNode } from '../plan/plan-node.js'

/**
 * What the engine knows about one node during a run, and what it derives from the node's
 * ancestors (artifact directory, working directory, environment), computed on first use.
 */
export class NodeState {
  status: NodeStatus = 'pending'
  exitCode: number | null = null
  signal: string | null = null
  error: SerializedError | null = null
  skipReason: string | null = null
  startedAt: Date | null = null
  endedAt: Date | null = null
  readonly attempts: AttemptResult[] = []
  readonly artifacts: ArtifactInfo[] = []
  /** Set when the node ended `cached`. */
  reusedFrom: ReusedFrom | null = null
  dir: string | null = null
  cwd: string | null = null
  env: Readonly<Record<string, string>> | null = null
  /** Parsed `result.json`, read once on first use. */
  result: { value: unknown } | null = null
  /** Empty stdout/stderr files made for consumers of a node that printed nothing: made once. */
  emptyOutputs: Map<string, Promise<ArtifactInfo>> | null = null

  // -- scheduling (see scheduler.ts) --
  /** Start conditions not met yet: the parent's end, the previous sequential sibling's subtree, each dependency. */
  waiting: number
  /** How the parent's executable ended (a group counts as succeeded): decides `runIf`. */
  parentSucceeded = true
  /** Why a dependency keeps this node from running (it failed, or never ran), once known. */
  blockedBy: string | null = null
  /** Inside a failure or always branch: it starts even after a failure halted the run. */
  readonly exempt: boolean
  /** Its own end plus each child whose subtree has not ended: at 0 the subtree has ended. */
  open: number
  /** A failure (not tolerated) or a cancellation happened in this subtree: what a group's status says. */
  failedBelow = false
  cancelledBelow = false
  /** The attempt it runs when it gets a slot. */
  nextAttempt = 1

  constructor(
    readonly plan: PlanNode,
    readonly parent: NodeState | null,
  ) {
    this.exempt = parent !== null && (parent.exempt || plan.runIf !== 'success')
    const sequentialSibling = plan.parent !== null && !plan.parent.parallel && plan.index > 0
    this.waiting = (parent === null ? 0 : 1) + (sequentialSibling ? 1 : 0) + plan.dependencies.length
    this.open = 1 + plan.children.length
  }
}
