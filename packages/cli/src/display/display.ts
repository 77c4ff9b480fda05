import type { PlanNode } from '@wtflow/core'
import { SPINNER, TOLERATED, colorFor, nodeSymbol, statusSymbol, statusWord } from '../status.js'
import { formatClock, formatDuration, oneLine, padEnd, shortId, stripAnsi, truncate, visibleWidth, writeOut, type Output, type Style } from '../terminal.js'
import { describeOutcome, type NodeProgress, type RunProgress } from './progress.js'
import { layoutTree } from './tree.js'

/** What the run command tells a display. */
export interface RunDisplay {
  runStarted(progress: RunProgress): void
  nodeStarted(progress: RunProgress, node: NodeProgress): void
  attemptEnded(progress: RunProgress, node: NodeProgress): void
  nodeEnded(progress: RunProgress, node: NodeProgress): void
  runEnded(progress: RunProgress): void
  /** A message about the run as a whole (`cancelling…`). */
  note(text: string): void
  /** Nodes' output (`--output-logs`): whole lines, already prefixed (bytes: written as they are). */
  print(text: string | Uint8Array): void
  /** Leaves the terminal as it found it (cursor visible). Idempotent. */
  close(): void
}

export function createDisplay(out: Output): RunDisplay {
  return out.interactive ? new LiveDisplay(out) : new PlainDisplay(out)
}

// ---------------------------------------------------------------------------------------------

/**
 * Not a terminal (CI, pipes, files): one timestamped line per event, no escape codes. A
 * skipped subtree is one line, not one per node.
 */
export class PlainDisplay implements RunDisplay {
  readonly #out: Output

  constructor(out: Output) {
    this.#out = out
  }

  #line(text: string): void {
    this.#out.write(`${formatClock(new Date())} ${text}\n`)
  }

  runStarted(progress: RunProgress): void {
    this.#line(`run    ${progress.workflow}: started run ${progress.runId} (${plural(progress.nodes.length, 'node')})`)
  }

  nodeStarted(progress: RunProgress, node: NodeProgress): void {
    const attempt = node.attempt > 1 ? ` (attempt ${node.attempt}/${node.plan.attempts})` : ''
    const what = node.display === null ? '' : `: ${oneLine(node.display)}`
    this.#line(`start  ${node.plan.path}${attempt}${what}`)
  }

  attemptEnded(_progress: RunProgress, node: NodeProgress): void {
    if (node.retry === null) return
    this.#line(`retry  ${node.plan.path}: attempt ${node.attempt} failed (${node.retry.lastError}); next attempt in ${formatDuration(node.retry.at - performance.now())}`)
  }

  nodeEnded(progress: RunProgress, node: NodeProgress): void {
    const took = node.startedAt !== null && node.endedAt !== null ? ` (${formatDuration(node.endedAt.getTime() - node.startedAt.getTime())})` : ''
    const path = node.plan.path
    if (node.result?.tolerated === true) {
      const what = node.plan.executable === undefined ? 'a node under it failed' : describeOutcome(node.result)
      this.#line(`FAILED ${path}: ${what}${took}, ${TOLERATED}: the run goes on`)
      return
    }
    if (node.plan.executable === undefined && (node.status === 'failed' || node.status === 'cancelled')) {
      // A group's status repeats what happened under it, which has lines of its own.
      this.#line(node.status === 'failed' ? `FAILED ${path}: a node under it failed${took}` : `cancel ${path}${took}`)
      return
    }
    switch (node.status) {
      case 'succeeded':
        this.#line(`ok     ${path}${took}`)
        return
      case 'cached': {
        const from = node.result?.reusedFrom
        this.#line(`cached ${path}${from == null ? '' : ` (from run ${shortId(from.runId)})`}`)
        return
      }
      case 'skipped': {
        if (progress.parentOf(node)?.status === 'skipped') return
        const below = countDescendants(node.plan)
        this.#line(`skip   ${path}: ${node.result?.skipReason ?? 'skipped'}${below > 0 ? ` (and ${plural(below, 'node')} below)` : ''}`)
        return
      }
      case 'cancelled':
        this.#line(`cancel ${path}${took}`)
        return
      case 'timed_out':
        this.#line(`FAILED ${path}: ${node.result === null ? 'timed out' : describeOutcome(node.result)}${took}`)
        return
      default:
        this.#line(`FAILED ${path}: ${node.result === null ? node.status : describeOutcome(node.result)}${took}`)
    }
  }

  runEnded(progress: RunProgress): void {
    const result = progress.result
    if (result === null) return
    this.#line(`end    ${progress.workflow}: ${result.status} in ${formatDuration(result.endedAt.getTime() - result.startedAt.getTime())}`)
  }

  note(text: string): void {
    this.#line(`note   ${text}`)
  }

  print(text: string | Uint8Array): void {
    writeOut(this.#out.stream, text)
  }

  close(): void {}
}

function countDescendants(node: PlanNode): number {
  let count = 0
  const stack = [...node.children]
  while (stack.length > 0) {
    count++
    stack.push(...stack.pop()!.children)
  }
  return count
}

// ---------------------------------------------------------------------------------------------

const FRAME_MS = 100
const BEGIN_SYNC = '\x1b[?2026h'
const END_SYNC = '\x1b[?2026l'
/** Nodes' output held for the next frame at most (characters). */
const MAX_HELD_OUTPUT = 256 * 1024
const HIDE_CURSOR = '\x1b[?25l'
const SHOW_CURSOR = '\x1b[?25h'

/**
 * A terminal: the tree of nodes redrawn in place (at most ~10 times a second) with spinners,
 * statuses and durations. When the tree is taller than the screen, the part around the nodes
 * that are running (or failed) is shown.
 */
export class LiveDisplay implements RunDisplay {
  readonly #out: Output
  #progress: RunProgress | null = null
  #timer: NodeJS.Timeout | null = null
  #drawnLines = 0
  #output: string[] = []
  #outputBytes = 0
  #frame = 0
  #notes: string[] = []
  #cursorHidden = false
  readonly #restoreCursor = () => {
    if (this.#cursorHidden) this.#out.write(SHOW_CURSOR)
  }

  constructor(out: Output) {
    this.#out = out
  }

  runStarted(progress: RunProgress): void {
    this.#progress = progress
    this.#drawnLines = 0
    this.#notes = []
    if (!this.#cursorHidden) {
      this.#cursorHidden = true
      this.#out.write(HIDE_CURSOR)
      process.once('exit', this.#restoreCursor)
    }
    this.#draw()
    this.#timer = setInterval(() => {
      this.#frame++
      this.#draw()
    }, FRAME_MS)
    this.#timer.unref()
  }

  // Events only change state; the timer draws, so a burst of events costs one frame.
  nodeStarted(): void {}
  attemptEnded(): void {}
  nodeEnded(): void {}

  runEnded(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    // The last frame is the whole tree, however tall: what scrolls off stays in the scrollback.
    this.#draw(true)
    this.#progress = null
  }

  note(text: string): void {
    this.#notes.push(text)
    this.#draw()
  }

  print(output: string | Uint8Array): void {
    const text = typeof output === 'string' ? output : Buffer.from(output).toString('utf8')
    if (this.#progress === null) {
      this.#out.write(text)
      return
    }
    this.#output.push(text)
    this.#outputBytes += text.length
    // Drawn with the next frame, above the tree; a flood is drawn sooner, not held in memory.
    if (this.#outputBytes >= MAX_HELD_OUTPUT) this.#draw()
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    if (this.#cursorHidden) {
      this.#out.write(SHOW_CURSOR)
      this.#cursorHidden = false
      process.off('exit', this.#restoreCursor)
    }
  }

  #draw(whole = false): void {
    const progress = this.#progress
    if (progress === null) return
    const columns = Math.max(20, Math.min(this.#out.columns, 500)) - 1
    const all = this.#lines(progress)
    const lines = whole ? all.map(line => line.text) : fitHeight(all, Math.max(5, Math.min(this.#out.rows, 500) - 1), this.#out.style)
    // Synchronized output (DEC mode 2026): a terminal that supports it shows the frame at once,
    // never half drawn; others ignore the sequence.
    let text = BEGIN_SYNC + (this.#drawnLines > 0 ? `\x1b[${this.#drawnLines}A\r` : '')
    if (this.#output.length > 0) {
      // Nodes' output goes above the tree and scrolls away like any terminal output.
      text += `\x1b[J${this.#output.join('')}`
      this.#output = []
      this.#outputBytes = 0
    }
    for (const line of lines) text += `\x1b[2K${fitWidth(line, columns)}\n`
    text += `\x1b[J${END_SYNC}`
    this.#out.write(text)
    this.#drawnLines = lines.length
  }

  #lines(progress: RunProgress): Line[] {
    const style = this.#out.style
    const now = Date.now()
    const result = progress.result
    const elapsed = (result?.endedAt.getTime() ?? now) - progress.startedAt.getTime()
    const headSymbol = result === null ? style.cyan(SPINNER[this.#frame % SPINNER.length]!) : statusSymbol(result.status, style)
    const headStatus = result === null ? '' : `  ${colorFor(result.status, style)(statusWord(result.status))}`
    const lines: Line[] = [{ text: `${headSymbol} ${style.bold(progress.workflow)}  ${style.dim(`run ${shortId(progress.runId)}`)}  ${formatDuration(elapsed)}${headStatus}` }]

    const tree = layoutTree(progress.nodes.map(node => ({ path: node.plan.path, parentPath: node.plan.parentPath, node })))
    const nameWidth = Math.min(48, Math.max(...tree.map(line => visibleWidth(line.prefix) + 2 + visibleWidth(line.item.node.plan.name))))
    for (const { item, prefix, depth } of tree) {
      const node = item.node
      const symbol = node.status === 'running' && node.retry === null ? style.cyan(SPINNER[this.#frame % SPINNER.length]!) : nodeSymbol({ status: node.status, tolerated: node.result?.tolerated }, style)
      const head = `${style.dim(prefix)}${symbol} ${node.plan.name}`
      const parts: string[] = []
      if (node.startedAt !== null && node.status !== 'skipped') {
        parts.push(style.dim(formatDuration((node.endedAt?.getTime() ?? now) - node.startedAt.getTime())))
      }
      const detail = this.#detail(node)
      if (detail !== '') parts.push(detail)
      lines.push({ text: `${padEnd(head, nameWidth)}  ${parts.join('  ')}`.trimEnd(), path: node.plan.path, status: node.status, depth })
    }
    for (const note of this.#notes) lines.push({ text: style.yellow(note) })
    return lines
  }

  #detail(node: NodeProgress): string {
    const style = this.#out.style
    const max = node.plan.attempts
    switch (node.status) {
      case 'running':
        if (node.retry !== null) {
          return style.yellow(`attempt ${node.attempt}/${max} failed (${node.retry.lastError}), retry in ${formatDuration(Math.max(0, node.retry.at - performance.now()))}`)
        }
        return node.attempt > 1 ? style.yellow(`attempt ${node.attempt}/${max}`) : ''
      case 'pending':
        return ''
      case 'succeeded':
        return node.attempt > 1 ? style.dim(`after ${node.attempt} attempts`) : ''
      case 'skipped':
        return style.dim('skipped')
      case 'cached':
        return style.dim(node.result?.reusedFrom == null ? 'cached' : `cached from run ${shortId(node.result.reusedFrom.runId)}`)
      default: {
        const what = node.result === null ? statusWord(node.status) : describeOutcome(node.result)
        const attempts = node.attempt > 1 ? ` (${node.attempt} attempts)` : ''
        if (node.result?.tolerated === true) return style.yellow(`${TOLERATED}: ${what}${attempts}`)
        return colorFor(node.status, style)(`${what}${attempts}`)
      }
    }
  }
}

export interface Line {
  text: string
  path?: string
  status?: string
  depth?: number
}

/**
 * Fits the tree to the terminal so that every running node stays on screen: first each subtree
 * that has ended (or not started) folds into its top line, then what is neither running nor
 * failed (nor above a running node) collapses into `… N more` lines; if running nodes alone are
 * too many, as many as fit are shown. The header and the notes are always kept.
 */
export function fitHeight(lines: Line[], maxLines: number, style: Style): string[] {
  if (lines.length <= maxLines) return lines.map(line => line.text)
  const [header, ...rest] = lines
  const nodes = rest.filter(line => line.path !== undefined)
  const notes = rest.filter(line => line.path === undefined)
  const budget = Math.max(1, maxLines - 1 - notes.length)

  // Where each node's subtree ends in the (depth-first) list.
  const end = new Array<number>(nodes.length)
  const open: number[] = []
  for (let i = 0; i <= nodes.length; i++) {
    const depth = i < nodes.length ? nodes[i]!.depth! : -1
    while (open.length > 0 && nodes[open[open.length - 1]!]!.depth! >= depth) end[open.pop()!] = i
    if (i < nodes.length) open.push(i)
  }
  const active = (status: string | undefined) => status === 'running' || status === 'pending'

  // 1. Fold subtrees that ended, or have not started, into one line.
  type Row = { text: string; keep: boolean; folded?: number }
  const rows: Row[] = []
  for (let i = 0; i < nodes.length; i++) {
    const line = nodes[i]!
    const below = end[i]! - i - 1
    const statuses = nodes.slice(i, end[i]).map(n => n.status)
    const ended = statuses.every(status => !active(status))
    const untouched = statuses.every(status => status === 'pending')
    if (below > 0 && (ended || untouched)) {
      rows.push({ text: `${line.text}  ${style.dim(`(+${plural(below, 'node')})`)}`, keep: false, folded: below })
      i = end[i]! - 1
      continue
    }
    const failed = line.status === 'failed' || line.status === 'timed_out'
    rows.push({ text: line.text, keep: line.status === 'running' || failed })
  }
  if (rows.length <= budget) return [header!.text, ...rows.map(row => row.text), ...notes.map(line => line.text)]

  // 2. Keep running and failed lines; runs of the others become `… N more`.
  const kept: string[] = []
  let hidden = 0
  const flush = () => {
    if (hidden > 0) kept.push(style.dim(`  … ${plural(hidden, 'more node')}`))
    hidden = 0
  }
  for (const row of rows) {
    if (row.keep) {
      flush()
      kept.push(row.text)
    } else hidden += 1 + (row.folded ?? 0)
  }
  flush()
  // 3. Still too many: as many as fit, and how many more there are.
  if (kept.length > budget) {
    const shown = kept.slice(0, budget - 1)
    const more = kept.slice(budget - 1).filter(text => !stripAnsi(text).trimStart().startsWith('…')).length
    shown.push(style.dim(`  … and ${plural(more, 'more line')}`))
    return [header!.text, ...shown, ...notes.map(line => line.text)]
  }
  return [header!.text, ...kept, ...notes.map(line => line.text)]
}

/** Cuts a styled line to the terminal width (a wrapped line would break the redraw). */
function fitWidth(line: string, columns: number): string {
  if (visibleWidth(line) <= columns) return line
  // Drop styling rather than cut through an escape sequence.
  return truncate(stripAnsi(line), columns)
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`
}
