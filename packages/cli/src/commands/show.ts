import type { NodeDocument, RunDocument } from '@wtflow/core'
import type { RunInfo } from '@wtflow/db'
import { layoutTree, parentOf } from '../display/tree.js'
import { CliError, ExitCode } from '../errors.js'
import { openHistoryForReading, readConfig } from '../history.js'
import type { ShowCommandOptions } from '../main.js'
import { colorFor, nodeColor, nodeStatusWord, nodeSymbol, statusSymbol, statusWord } from '../status.js'
import { formatBytes, formatDateTime, formatDuration, oneLine, outputFor, padEnd, shellQuote, shortId, visibleWidth, writeOut } from '../terminal.js'

/** `wtflow show RUN_ID [--json]`: one run as a tree. */
export async function showCommand(runId: string, options: ShowCommandOptions): Promise<number> {
  const config = await readConfig(options.config)
  const db = await openHistoryForReading(config)
  if (db === null) throw new CliError(`no run with id "${runId}": no run has been recorded yet; \`wtflow run\` records one.`)
  let doc: RunDocument
  let info: RunInfo
  let displays: Map<string, string>
  try {
    doc = await db.getRun(runId)
    const [runInfo, nodes] = await Promise.all([db.getRunInfo(doc.id), db.getRunNodes(doc.id)])
    info = runInfo
    displays = new Map(nodes.filter(node => node.display !== null).map(node => [node.path, node.display!]))
  } finally {
    await db.close()
  }

  if (options.json === true) {
    writeOut(process.stdout, `${JSON.stringify(doc, null, 2)}\n`)
    return ExitCode.ok
  }

  const out = outputFor(process.stdout)
  const style = out.style
  const took = doc.endedAt === null ? 'still running' : `took ${formatDuration(Date.parse(doc.endedAt) - Date.parse(doc.startedAt))}`
  const exit = doc.exitCode === null ? '' : ` (exit code ${doc.exitCode})`
  const lines = [
    `${statusSymbol(doc.status, style)} ${style.bold(doc.workflow)}  ${colorFor(doc.status, style)(statusWord(doc.status))}${exit}  ${style.dim(`run ${doc.id}`)}`,
    style.dim(`started ${formatDateTime(new Date(doc.startedAt))}, ${took} · pid ${info.pid} on ${info.host} · artifacts in ${info.runDir}`),
    ...(doc.resumedFrom === undefined ? [] : [style.dim(`resumes run ${doc.resumedFrom}`)]),
    '',
  ]

  const tree = layoutTree(doc.nodes.map(node => ({ path: node.path, parentPath: parentOf(node.path), node })))
  const nameWidth = Math.min(48, Math.max(...tree.map(line => visibleWidth(line.prefix) + 2 + visibleWidth(line.item.node.name))))
  for (const { item, prefix, continuation } of tree) {
    const node = item.node
    const head = `${style.dim(prefix)}${nodeSymbol(node, style)} ${style.bold(node.name)}`
    const facts = [nodeColor(node, style)(nodeStatusWord(node))]
    if (node.exitCode !== null) facts.push(`exit ${node.exitCode}`)
    if (node.signal !== null) facts.push(node.signal)
    const duration = durationOf(node)
    if (duration !== null) facts.push(duration)
    if (node.attempts > 1) facts.push(style.yellow(`${node.attempts} attempts`))
    const command = displays.get(node.path)
    if (command !== undefined) facts.push(style.dim(oneLine(command, 80)))
    lines.push(`${padEnd(head, nameWidth)}  ${facts.join('  ')}`)
    const sub = (text: string) => lines.push(`${style.dim(continuation)}${text}`)
    if (node.error !== null && node.status !== 'succeeded' && node.error !== 'cancelled') sub(colorFor(node.status, style)(node.error))
    if (node.skipReason !== null) sub(style.dim(node.skipReason))
    if (node.reusedFrom !== undefined) sub(style.dim(`reused from run ${node.reusedFrom.runId} (${node.reusedFrom.path})`))
    const nameColumn = Math.max(0, ...node.artifacts.map(a => a.name.length))
    for (const artifact of node.artifacts) {
      sub(`${style.dim(padEnd(artifact.name, nameColumn))}  ${padEnd(formatBytes(artifact.size), 9)}  ${artifact.path}`)
    }
  }
  const failed = doc.nodes.find(node => (node.status === 'failed' || node.status === 'timed_out') && node.tolerated !== true) ?? doc.nodes.find(node => node.status === 'failed' || node.status === 'timed_out')
  if (failed !== undefined) {
    lines.push('', style.dim(`output of a node: wtflow logs ${shortId(doc.id)} ${shellQuote(failed.path)} [--stderr]`))
  }
  out.write(`${lines.join('\n')}\n`)
  return ExitCode.ok
}

function durationOf(node: NodeDocument): string | null {
  if (node.startedAt === null) return null
  if (node.endedAt === null) return node.status === 'running' ? `running for ${formatDuration(Date.now() - Date.parse(node.startedAt))}` : null
  return formatDuration(Date.parse(node.endedAt) - Date.parse(node.startedAt))
}
