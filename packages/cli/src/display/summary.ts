import { open } from 'node:fs/promises'
import type { NodeResult, RunResult } from '@wtflow/core'
import { countByStatus, isFailure, nodeSymbol, statusSymbol, statusWord, colorFor, TOLERATED } from '../status.js'
import { formatDuration, shellQuote, shortId, stripAnsi, truncate, type Output } from '../terminal.js'
import { describeOutcome } from './progress.js'
import { plural } from './display.js'

const TAIL_LINES = 10
const TAIL_BYTES = 16 * 1024

/**
 * The end of a run: counts by status, wall time, the run id, and for each failed node its path,
 * what went wrong, the last lines of its stderr and the command that shows the rest.
 */
export async function printSummary(out: Output, result: RunResult, tracked: boolean): Promise<void> {
  const style = out.style
  const took = formatDuration(result.endedAt.getTime() - result.startedAt.getTime())
  const executables = result.nodes.filter(node => node.kind !== 'group')
  const lines: string[] = ['']
  lines.push(
    `${statusSymbol(result.status, style)} ${style.bold(result.workflow)} ${colorFor(result.status, style)(statusWord(result.status))} in ${took}: ${countByStatus(
      // Executables, not groups: a group's status only repeats what happened under it.
      executables,
      style,
    )}`,
  )
  lines.push(`  run ${result.id}${tracked ? style.dim(`  ·  details: wtflow show ${shortId(result.id)}`) : style.dim(`  ·  artifacts: ${result.runDir}`)}`)

  const failed = executables.filter(node => isFailure(node.status))
  for (const node of failed) {
    const what = node.tolerated === true ? style.yellow(`${describeOutcome(node)} (${TOLERATED})`) : style.red(describeOutcome(node))
    lines.push('', `${nodeSymbol(node, style)} ${style.bold(node.path)}: ${what}${node.attempts.length > 1 ? style.dim(` (after ${plural(node.attempts.length, 'attempt')})`) : ''}`)
    const tail = await tailOf(node)
    if (tail !== null) {
      lines.push(style.dim(`  last lines of ${tail.stream}:`))
      for (const line of tail.lines) lines.push(`  ${style.dim('│')} ${truncate(line, Math.max(20, Math.min(out.columns, 500) - 5))}`)
      lines.push(
        style.dim(
          tracked
            ? `  full output: wtflow logs ${shortId(result.id)} ${shellQuote(node.path)}${tail.stream === 'stderr' ? ' --stderr' : ''}`
            : `  full output: ${tail.path}`,
        ),
      )
    }
  }
  if (result.status === 'cancelled') {
    const cancelled = executables.filter(node => node.status === 'cancelled')
    if (cancelled.length > 0) {
      lines.push('', style.yellow(`interrupted: ${plural(cancelled.length, 'node')} stopped (${cancelled.map(node => node.path).join(', ')})`))
    } else {
      lines.push('', style.yellow('interrupted'))
    }
  }
  out.write(`${lines.join('\n')}\n`)
}

/** The last lines of a node's stderr (or of its stdout when stderr is empty). */
async function tailOf(node: NodeResult): Promise<{ stream: 'stderr' | 'stdout'; path: string; lines: string[] } | null> {
  for (const stream of ['stderr', 'stdout'] as const) {
    const artifact = node.artifacts.find(a => a.name === stream)
    if (artifact === undefined || artifact.size === 0) continue
    const lines = await readTail(artifact.path, TAIL_LINES)
    if (lines.length > 0) return { stream, path: artifact.path, lines }
  }
  return null
}

export async function readTail(file: string, count: number): Promise<string[]> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch {
    return []
  }
  try {
    const { size } = await handle.stat()
    const length = Math.min(size, TAIL_BYTES)
    const buffer = Buffer.alloc(length)
    await handle.read(buffer, 0, length, size - length)
    let lines = buffer.toString('utf8').split(/\r?\n/)
    if (size > length) lines = lines.slice(1) // the first one is probably cut
    while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop()
    return lines.slice(-count).map(cleanLine)
  } finally {
    await handle.close()
  }
}

/** Output of programs may carry colors and cursor moves: never replay them into ours. */
export function cleanLine(line: string): string {
  const plain = stripAnsi(line)
  // A progress bar redraws its line with \r: what a terminal would show is the last segment.
  const shown = plain.split('\r').filter(segment => segment !== '').pop() ?? ''
  return (
    shown
      .replace(/\t/g, '  ')
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
  )
}
