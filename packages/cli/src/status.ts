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

/** `3 succeeded, 1 failed, 1 failed (tolerated), 2 skipped`: tolerated failures are counted apart. */
export function countByStatus(nodes: Iterable<{ status: NodeStatus; tolerated?: boolean | undefined }>, style: Style): string {
  const counts = new Map<NodeStatus, number>()
  let tolerated = 0
  for (const { status, tolerated: isTolerated } of nodes) {
    if (isTolerated === true) tolerated++
    else counts.set(status, (counts.get(status) ?? 0) + 1)
  }
  const parts = STATUS_ORDER.filter(status => counts.has(status)).map(status => colorFor(status, style)(`${counts.get(status)} ${statusWord(status)}`))
  if (tolerated > 0) parts.splice(counts.has('succeeded') ? 1 : 0, 0, style.yellow(`${tolerated} ${TOLERATED}`))
  return parts.join(', ')
}

/** How a failure `continueOnFailure` let the run go past is shown. */
export const TOLERATED = 'failed (tolerated)'

/** The status as a word, `failed (tolerated)` for a tolerated failure. */
export function nodeStatusWord(node: { status: NodeStatus; tolerated?: boolean | undefined }): string {
  return node.tolerated === true ? TOLERATED : statusWord(node.status)
}

/** A tolerated failure's symbol and words are yellow: it did fail, but the run went on. */
export function nodeColor(node: { status: NodeStatus; tolerated?: boolean | undefined }, style: Style): (text: string) => string {
  return node.tolerated === true ? style.yellow : colorFor(node.status, style)
}

export function nodeSymbol(node: { status: NodeStatus; tolerated?: boolean | undefined }, style: Style): string {
  return node.tolerated === true ? style.yellow(SYMBOLS.failed) : statusSymbol(node.status, style)
}
