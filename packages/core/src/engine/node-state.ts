import type { ArtifactInfo, AttemptResult, NodeStatus, SerializedError } from '../interfaces.js'
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
  dir: string | null = null
  cwd: string | null = null
  env: Readonly<Record<string, string>> | null = null
  /** Parsed `result.json`, read once on first use. */
  result: { value: unknown } | null = null
  /** Empty stdout/stderr files made for consumers of a node that printed nothing: made once. */
  emptyOutputs: Map<string, Promise<ArtifactInfo>> | null = null

  constructor(
    readonly plan: PlanNode,
    readonly parent: NodeState | null,
  ) {}
}
