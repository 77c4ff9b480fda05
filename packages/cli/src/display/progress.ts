import type { EngineEventMap, NodeResult, NodeStatus, PlanNode, RunResult } from '@wtflow/core'

/** What the display knows about one node while a run goes. */
export interface NodeProgress {
  plan: PlanNode
  /** The command line or function name, secrets masked. */
  display: string | null
  status: NodeStatus
  /** The current (or last) attempt, 1-based; 0 before the first. */
  attempt: number
  startedAt: Date | null
  endedAt: Date | null
  /** Set while waiting to retry: when the next attempt starts (`performance.now()` time), and how the last one ended. */
  retry: { at: number; lastError: string } | null
  result: NodeResult | null
}

/** The state of one run, folded from engine events; both displays draw from it. */
export class RunProgress {
  readonly runId: string
  readonly workflow: string
  readonly startedAt: Date
  /** By ordinal, as the plan lists them. */
  readonly nodes: NodeProgress[]
  result: RunResult | null = null

  constructor(event: EngineEventMap['run:start']) {
    this.runId = event.runId
    this.workflow = event.workflow
    this.startedAt = event.startedAt
    this.nodes = event.plan.nodes.map(plan => ({
      plan,
      display: plan.display === null ? null : event.mask(plan.display),
      status: 'pending',
      attempt: 0,
      startedAt: null,
      endedAt: null,
      retry: null,
      result: null,
    }))
  }

  /** The progress of a node's parent, if it has one. */
  parentOf(node: NodeProgress): NodeProgress | undefined {
    const parent = node.plan.parent
    return parent === null ? undefined : this.nodes[parent.ordinal]
  }

  nodeStarted(event: EngineEventMap['node:start']): NodeProgress | undefined {
    const node = this.nodes[event.ordinal]
    if (node === undefined) return undefined
    node.status = 'running'
    node.attempt = event.attempt
    node.startedAt ??= event.startedAt
    node.retry = null
    return node
  }

  attemptEnded(event: EngineEventMap['node:attempt']): NodeProgress | undefined {
    const node = this.nodes[event.ordinal]
    if (node === undefined) return undefined
    node.retry = event.retryInMs === null ? null : { at: performance.now() + event.retryInMs, lastError: describeOutcome(event.attempt) }
    return node
  }

  nodeEnded(event: EngineEventMap['node:end']): NodeProgress | undefined {
    const node = this.nodes[event.ordinal]
    if (node === undefined) return undefined
    node.status = event.node.status
    node.result = event.node
    node.retry = null
    node.startedAt = event.node.startedAt ?? node.startedAt
    node.endedAt = event.node.endedAt
    return node
  }
}

/** `exit code 2`, `killed by SIGTERM`, `timed out after 500 ms`, `TypeError: x is not a function`. */
export function describeOutcome(outcome: {
  status?: string
  exitCode: number | null
  signal: string | null
  error: { name: string; message: string } | null
}): string {
  if (outcome.status === 'timed_out') return outcome.error?.message ?? 'timed out'
  if (outcome.status === 'cancelled') return 'cancelled'
  if (outcome.exitCode !== null && outcome.exitCode !== 0) return `exit code ${outcome.exitCode}`
  if (outcome.signal !== null) return `killed by ${outcome.signal}`
  if (outcome.error !== null) {
    const name = outcome.error.name
    return name === 'Error' || name === 'NodeFailure' || name === 'WtflowError' ? outcome.error.message : `${name}: ${outcome.error.message}`
  }
  return outcome.status ?? 'failed'
}
