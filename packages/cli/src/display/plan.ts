import { isRef, type PlanNode, type RunPlan } from '@wtflow/core'
import { formatDuration, oneLine, type Output } from '../terminal.js'
import { layoutTree } from './tree.js'
import { plural } from './display.js'

/** The tree `wtflow run --dry-run` prints: names, executables, parallel or sequential, options, dependencies. */
export function printPlan(out: Output, plan: RunPlan, scriptShown: string, mask: (text: string) => string): void {
  const style = out.style
  const lines = [`${style.bold(plan.name)} ${style.dim(`(${plural(plan.nodes.length, 'node')}, from ${scriptShown})`)}${plan.description === null ? '' : `  ${plan.description}`}`]
  for (const { item, prefix } of layoutTree(plan.nodes.map(node => ({ path: node.path, parentPath: node.parentPath, node })))) {
    const node = item.node
    const what = node.executable === undefined ? style.dim('group') : `${style.dim(`${node.kind}:`)} ${oneLine(mask(withArguments(node)), 200)}`
    const notes = describeOptions(node)
    lines.push(`${style.dim(prefix)}${style.bold(node.name)}  ${what}${notes.length > 0 ? `  ${style.cyan(`[${notes.join(', ')}]`)}` : ''}`)
  }
  out.write(`${lines.join('\n')}\n`)
}

/** A Func's call with its inputs, `transform(<extract.result>)`, so a plan shows how data flows. */
function withArguments(node: PlanNode): string {
  const display = node.display ?? ''
  const args = (node.executable as { args?: unknown } | undefined)?.args
  if (node.kind !== 'func' || !Array.isArray(args)) return display
  const shown = args.map(arg => {
    if (isRef(arg)) return `<${arg.node.name}.${arg.kind === 'result' ? 'result' : arg.name}>`
    const json = JSON.stringify(arg) ?? String(arg)
    return json.length > 40 ? `${json.slice(0, 39)}…` : json
  })
  return `${display}(${shown.join(', ')})`
}

/** The options of a node that differ from the defaults, as words. */
function describeOptions(node: PlanNode): string[] {
  const notes: string[] = []
  if (node.children.length > 0) notes.push(node.parallel ? 'children in parallel' : 'children in sequence')
  if (node.runIf !== 'success') notes.push(node.runIf === 'failure' ? 'runs if the parent fails' : 'runs whatever the parent did')
  if (node.when !== null) notes.push('when(…)')
  if (node.timeout !== null) notes.push(`timeout ${formatDuration(node.timeout)}`)
  if (node.attempts > 1) {
    const jitter = node.jitter > 0 ? ` ±${Math.round(node.jitter * 100)}%` : ''
    notes.push(`retries ${node.attempts - 1} (delay ${formatDuration(node.retryDelay)} ×${node.backoff}${jitter})`)
  }
  if (node.continueOnFailure) notes.push('continue on failure')
  if (node.env !== null && Object.keys(node.env).length > 0) notes.push(`env ${Object.keys(node.env).join(' ')}`)
  if (node.cwd !== null) notes.push(`cwd ${node.cwd}`)
  if (node.artifacts.length > 0) notes.push(`artifacts ${node.artifacts.join(' ')}`)
  if (node.dependencies.length > 0) notes.push(`takes from ${node.dependencies.map(dependency => dependency.path).join(', ')}`)
  return notes
}
