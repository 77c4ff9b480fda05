/**
 * Resume: which nodes of an earlier run a new run may reuse instead of running them again.
 * History (`@wtflow/db`) supplies what the earlier run recorded; this decides, with no SQL.
 */
import { stat } from 'node:fs/promises'
import type { ArtifactInfo, NodeStatus } from '../interfaces.js'
import type { PlanNode } from '../plan/plan-node.js'
import type { RunPlan } from '../plan/run-plan.js'

/** One node of an earlier run, as history recorded it. */
export interface PreviousNode {
  path: string
  status: NodeStatus
  /** `RunPlan.nodeDigest` of the node in that run; null when the run did not record it. */
  digest: string | null
  exitCode: number | null
  /** Its final artifacts, with the sizes recorded when they were written. */
  artifacts: readonly ArtifactInfo[]
}

/** An earlier run to resume. */
export interface PreviousRun {
  id: string
  /** Every node of the run, in any order. */
  nodes: readonly PreviousNode[]
}

/** A node the engine does not run: it ends `cached` with these artifacts, linked into the new run's directory. */
export interface ReusedNode {
  runId: string
  path: string
  exitCode: number | null
  artifacts: readonly ArtifactInfo[]
}

/** `RunOptions.reuse`: the nodes to reuse, by path, and the run they come from. */
export interface RunReuse {
  /** The run resumed: recorded as the new run's `resumedFrom`. */
  from: string
  nodes: ReadonlyMap<string, ReusedNode>
}

/** What `decideReuse` found. */
export interface ReuseDecision extends RunReuse {
  /** Why each executable node that will run again is not reused, by path. */
  reasons: ReadonlyMap<string, ReuseReason>
  /** Set when the tree's nodes are not those of the earlier run: it cannot be resumed. */
  treeChanged: { added: string[]; removed: string[] } | null
}

export interface ReuseReason {
  /** `rerun` (named by --rerun), `status` (did not succeed), `changed` (definition), `artifacts` (missing or changed), `dependency` (depends on a node that runs again), `unknown` (not recorded). */
  kind: 'rerun' | 'status' | 'changed' | 'artifacts' | 'dependency' | 'unknown'
  message: string
}

export interface DecideReuseOptions {
  /** Node paths to run again, with everything under them (`--rerun`). */
  rerun?: readonly string[]
}

const REUSABLE: ReadonlySet<NodeStatus> = new Set(['succeeded', 'cached'])

/**
 * Decides which executable nodes of `plan` reuse their outcome from `previous`: a node is
 * reused when it ended succeeded or cached there, its digest is unchanged (executable,
 * arguments, options; a Func's source text), its artifacts still exist with their recorded
 * sizes, `rerun` names neither it nor an ancestor, and every node it depends on (its parent,
 * `after`, the nodes it takes references from) is reused too. A group is "reused" when its own
 * definition is unchanged and (as an `after` target) everything under it is reused.
 *
 * @example
 * const decision = await decideReuse(plan, await db.previousRun(runId), { rerun: ['ci/test'] })
 * const result = await engine.run(plan, { reuse: decision })
 */
export async function decideReuse(plan: RunPlan, previous: PreviousRun, options: DecideReuseOptions = {}): Promise<ReuseDecision> {
  const byPath = new Map<string, PreviousNode>()
  for (const node of previous.nodes) byPath.set(node.path, node)
  const added = plan.nodes.filter(node => !byPath.has(node.path)).map(node => node.path)
  const present = new Set(plan.nodes.map(node => node.path))
  const removed = previous.nodes.filter(node => !present.has(node.path)).map(node => node.path)
  const treeChanged = added.length > 0 || removed.length > 0 ? { added, removed } : null

  const rerun = new Set(options.rerun ?? [])
  const reasons = new Map<string, ReuseReason>()
  const n = plan.nodes.length
  // ok[i]: the node itself may be reused (before looking at what it depends on).
  const ok = new Array<boolean>(n).fill(false)
  const why = new Array<ReuseReason | null>(n).fill(null)
  await Promise.all(
    plan.nodes.map(async node => {
      const reason = await ownReason(plan, node, byPath.get(node.path), rerun, previous.id)
      ok[node.ordinal] = reason === null
      why[node.ordinal] = reason
    }),
  )
  // A node under a --rerun node runs again too: its parent is a dependency that is not reused.
  // Reused: ok, and so is every dependency (complete, for a group named in `after` or a
  // reference). Dependencies may come later in tree order: repeat until nothing changes.
  const reused = [...ok]
  const complete = new Array<boolean>(n).fill(false)
  for (let changed = true; changed; ) {
    changed = false
    for (let i = n - 1; i >= 0; i--) {
      const node = plan.nodes[i]!
      complete[i] = reused[i]! && node.children.every(child => complete[child.ordinal]!)
    }
    for (const node of plan.nodes) {
      const i = node.ordinal
      if (!reused[i]) continue
      const blocker = blockingDependency(node, reused, complete)
      if (blocker !== null) {
        reused[i] = false
        why[i] ??= { kind: 'dependency', message: `depends on "${blocker.path}", which runs again` }
        changed = true
      }
    }
  }

  const nodes = new Map<string, ReusedNode>()
  for (const node of plan.nodes) {
    if (node.executable === undefined) continue
    const earlier = byPath.get(node.path)
    if (reused[node.ordinal] && earlier !== undefined) {
      nodes.set(node.path, { runId: previous.id, path: node.path, exitCode: earlier.exitCode, artifacts: earlier.artifacts })
    } else {
      reasons.set(node.path, why[node.ordinal] ?? { kind: 'dependency', message: 'runs again' })
    }
  }
  return { from: previous.id, nodes, reasons, treeChanged }
}

/** Why the node itself cannot be reused, or null. */
async function ownReason(plan: RunPlan, node: PlanNode, earlier: PreviousNode | undefined, rerun: ReadonlySet<string>, runId: string): Promise<ReuseReason | null> {
  if (rerun.has(node.path)) return { kind: 'rerun', message: 'named by --rerun' }
  if (earlier === undefined) return { kind: 'unknown', message: `not in run ${runId}` }
  if (earlier.digest === null || earlier.digest !== plan.nodeDigest(node)) return { kind: 'changed', message: 'its definition changed' }
  if (node.executable === undefined) return null
  if (!REUSABLE.has(earlier.status)) return { kind: 'status', message: `it ended ${earlier.status.replace('_', ' ')} in run ${runId}` }
  for (const artifact of earlier.artifacts) {
    let size: number
    try {
      size = (await stat(artifact.path)).size
    } catch {
      return { kind: 'artifacts', message: `its artifact ${artifact.name} (${artifact.path}) was deleted` }
    }
    if (size !== artifact.size) return { kind: 'artifacts', message: `its artifact ${artifact.name} (${artifact.path}) changed size (${size} bytes, ${artifact.size} recorded)` }
  }
  return null
}

/** The first dependency that keeps `node` from being reused, or null. */
function blockingDependency(node: PlanNode, reused: readonly boolean[], complete: readonly boolean[]): PlanNode | null {
  if (node.parent !== null && !reused[node.parent.ordinal]) return node.parent
  for (const dependency of node.dependencies) {
    const done = dependency.executable === undefined ? complete[dependency.ordinal] : reused[dependency.ordinal]
    if (!done) return dependency
  }
  return null
}
