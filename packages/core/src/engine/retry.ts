import path from 'node:path'
import fs from 'fs-extra'
import type { AttemptResult } from '../interfaces.js'
import type { PlanNode } from '../plan/plan-node.js'

/** Delay before retry number `attempt` (1-based): retryDelay × backoff^(attempt-1), ± jitter. */
export function retryDelay(node: Pick<PlanNode, 'retryDelay' | 'backoff' | 'jitter'>, attempt: number): number {
  const base = node.retryDelay * node.backoff ** (attempt - 1)
  return Math.max(0, Math.round(base * (1 + node.jitter * (2 * Math.random() - 1))))
}

/** Before a retry, keeps the failed attempt's files as `attempt-N.stdout.log` and so on. */
export async function setAsideAttempt(result: AttemptResult): Promise<void> {
  for (const artifact of result.artifacts) {
    const target = path.join(path.dirname(artifact.path), `attempt-${result.attempt}.${path.basename(artifact.path)}`)
    await fs.move(artifact.path, target, { overwrite: true })
    artifact.path = target
    artifact.name = `${artifact.name}.attempt-${result.attempt}`
  }
}
