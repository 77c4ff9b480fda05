import type { NodeStatus, RunStatus } from '@wtflow/core'
import type { Style } from './terminal.js'

type AnyStatus = NodeStatus | RunStatus

const SYMBOLS: Record<AnyStatus, string> = {
  pending: '·',
  queued: '…',
  running: '●',
  succeeded: '✓',
  failed: '✗',
  timed_out: '✗',
  cancelled: '⊘',
  skipped: '-',
  cached: '↺',
  crashed: '✗',
}

export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const

export function colorFor(status: AnyStatus, style: Style): (text: string) => string {
  switch (status) {
    case 'succeeded':
    case 'cached':
      return style.green
    case 'failed':
    case 'timed_out':
    case 'crashed':
      return style.red
    case 'cancelled':
      return style.yellow
    case 'running':
      return style.cyan
    case 'pending':
    case 'queued':
    case 'skipped':
      return style.dim
  }
}

export function statusSymbol(status: AnyStatus, style: Style): string {
  return colorFor(status, style)(SYMBOLS[status])
}

/** `timed out` rather than `timed_out`. */
export function statusWord(status: AnyStatus): string {
  return status.replace('_', ' ')
}

export function isFailure(status: AnyStatus): boolean {
  return status === 'failed' || status === 'timed_out' || status === 'crashed'
}

/** The order statuses are counted in a summary. */
export const STATUS_ORDER: readonly NodeStatus[] = ['succeeded', 'cached', 'failed', 'timed_out', 'cancelled', 'skipped', 'running', 'pending']

/** `3 succeeded, 1 failed, 2 skipped`. */
export function countByStatus(statuses: Iterable<NodeStatus>, style: Style): string {
  const counts = new Map<NodeStatus, number>()
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1)
  return STATUS_ORDER.filter(status => counts.has(status))
    .map(status => colorFor(status, style)(`${counts.get(status)} ${statusWord(status)}`))
    .join(', ')
}
