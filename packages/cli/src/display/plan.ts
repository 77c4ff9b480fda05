import { isRef, type Node, type NodePlan, type Workflow } from '@wtflow/core'
import { formatDuration, oneLine, type Output } from '../terminal.js'
import { layoutTree } from './tree.js'
import { plural } from './display.js'

/** A planned node with the options that shape how it runs (`--dry-run`). */
export interface PlannedNode extends NodePlan {
  options: PlanOptions
}

/** The options of a node that differ from the defaults, as `--dry-run --json` prints them. */
export interface PlanOptions {
  parallel?: boolean
  timeout?: number
  retries?: number
  retryDelay?: number
  backoff?: number
  jitter?: number
  when?: true
  continueOnFailure?: boolean
  env?: string[]
  cwd?: string
  artifacts?: string[]
}

/** Every node of a workflow with its path, parents first (the order validation plans them in). */
export function nodesByPath(workflow: Workflow): Map<string, Node<unknown>> {
  const found = new Map<string, Node<unknown>>()
  const visit = (node: Node<unknown>, parent: string | null) => {
    const path = parent === null ? node.name : `${parent}/${node.name}`
    found.set(path, node)
    for (const child of node.children) visit(child, path)
  }
  visit(workflow.root, null)
  return found
}

export function planNodes(workflow: Workflow, plans: readonly NodePlan[]): PlannedNode[] {
  const nodes = nodesByPath(workflow)
  return plans.map(plan => {
    const node = nodes.get(plan.path)
    if (node === undefined) return { ...plan, options: {} }
    return { ...plan, display: withArguments(plan.display, node), options: optionsOf(node) }
  })
}

/** A Func's call with its inputs, `transform(<extract.result>)`, so a plan shows how data flows. */
function withArguments(display: string | null, node: Node<unknown>): string | null {
  const args = (node.executable as { args?: unknown } | undefined)?.args
  if (node.kind !== 'func' || display === null || !Array.isArray(args)) return display
  const shown = args.map(arg => {
    if (isRef(arg)) return `<${arg.node.name}.${arg.kind === 'result' ? 'result' : arg.name}>`
    const json = JSON.stringify(arg) ?? String(arg)
    return json.length > 40 ? `${json.slice(0, 39)}…` : json
  })
  return `${display}(${shown.join(', ')})`
}

function optionsOf(node: Node<unknown>): PlanOptions {
  const o = node.options
  const options: PlanOptions = {}
  if (node.children.length > 0) options.parallel = node.parallel
  if (o.timeout !== undefined) options.timeout = o.timeout
  if (o.retries !== undefined && o.retries > 0) {
    options.retries = o.retries
    options.retryDelay = o.retryDelay ?? 1000
    options.backoff = o.backoff ?? 2
    if (o.jitter !== undefined && o.jitter > 0) options.jitter = o.jitter
  }
  if (o.when !== undefined) options.when = true
  if (o.continueOnFailure === true) options.continueOnFailure = true
  if (o.env !== undefined && Object.keys(o.env).length > 0) options.env = Object.keys(o.env)
  if (o.cwd !== undefined) options.cwd = o.cwd
  if (o.artifacts !== undefined && o.artifacts.length > 0) options.artifacts = [...o.artifacts]
  return options
}

/** The tree `wtflow run --dry-run` prints: names, executables, parallel or sequential, options. */
export function printPlan(out: Output, workflow: Workflow, planned: readonly PlannedNode[], scriptShown: string): void {
  const style = out.style
  const lines = [`${style.bold(workflow.name)} ${style.dim(`(${plural(planned.length, 'node')}, from ${scriptShown})`)}${workflow.description === undefined ? '' : `  ${workflow.description}`}`]
  for (const { item, prefix } of layoutTree(planned)) {
    const what = item.kind === 'group' ? style.dim('group') : `${style.dim(`${item.kind}:`)} ${oneLine(item.display ?? '', 200)}`
    const notes = describeOptions(item)
    lines.push(`${style.dim(prefix)}${style.bold(item.name)}  ${what}${notes.length > 0 ? `  ${style.cyan(`[${notes.join(', ')}]`)}` : ''}`)
  }
  out.write(`${lines.join('\n')}\n`)
}

function describeOptions(node: PlannedNode): string[] {
  const o = node.options
  const notes: string[] = []
  if (o.parallel !== undefined) notes.push(o.parallel ? 'children in parallel' : 'children in sequence')
  if (node.runIf !== 'success') notes.push(node.runIf === 'failure' ? 'runs if the parent fails' : 'runs whatever the parent did')
  if (o.when === true) notes.push('when(…)')
  if (o.timeout !== undefined) notes.push(`timeout ${formatDuration(o.timeout)}`)
  if (o.retries !== undefined) {
    const jitter = o.jitter === undefined ? '' : ` ±${Math.round(o.jitter * 100)}%`
    notes.push(`retries ${o.retries} (delay ${formatDuration(o.retryDelay ?? 1000)} ×${o.backoff ?? 2}${jitter})`)
  }
  if (o.continueOnFailure === true) notes.push('continue on failure')
  if (o.env !== undefined) notes.push(`env ${o.env.join(' ')}`)
  if (o.cwd !== undefined) notes.push(`cwd ${o.cwd}`)
  if (o.artifacts !== undefined) notes.push(`artifacts ${o.artifacts.join(' ')}`)
  return notes
}
