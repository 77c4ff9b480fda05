import path from 'node:path'
import { ValidationError } from '../errors/errors.js'
import type { Node } from '../model/node.js'
import { isGlob } from '../artifacts/declared.js'
import { refName } from '../model/refs.js'
import type { PlanNode } from './plan-node.js'

const RESERVED_ARTIFACT_NAMES = new Set(['stdout', 'stderr', 'result'])

/**
 * Sets every node's dependencies (its `after`, and the producers of the references it takes) and
 * their reverse, checking each: the node must be in the workflow, the artifact declared, the
 * result offered. Linear in nodes and edges.
 */
export function resolveDependencies(nodes: readonly PlanNode[], byNode: ReadonlyMap<Node<unknown>, PlanNode>): void {
  for (const consumer of nodes) {
    const afterNodes = consumer.node.after
    const refs = consumer.executable?.references() ?? []
    if (afterNodes.length === 0 && refs.length === 0) continue
    const dependencies = new Set<PlanNode>()
    const after: PlanNode[] = []
    for (let i = 0; i < afterNodes.length; i++) {
      const named = afterNodes[i]!
      const target = byNode.get(named)
      if (target === undefined) {
        const label = typeof named?.name === 'string' ? `"${named.name}"` : `after[${i}]`
        throw new ValidationError(consumer.path, `after names node ${label}, which is not in this workflow; add it to the tree or remove it from after`)
      }
      if (target === consumer) throw new ValidationError(consumer.path, 'after names the node itself')
      if (!dependencies.has(target)) after.push(target)
      dependencies.add(target)
    }
    for (const ref of refs) {
      const what = refName(ref)
      const producer = byNode.get(ref.node)
      if (producer === undefined) {
        throw new ValidationError(consumer.path, `refers to ${ref.node.name}.${what}, but node "${ref.node.name}" is not in this workflow`)
      }
      if (producer === consumer) throw new ValidationError(consumer.path, `refers to its own ${what}`)
      if (ref.kind === 'artifact' && !RESERVED_ARTIFACT_NAMES.has(ref.name)) {
        const declared = producer.artifacts.map(file => path.basename(file))
        // A glob or a directory (`reports/`) names its files only when the node has run.
        const open = producer.artifacts.some(file => isGlob(file) || file.endsWith('/'))
        if (!open && !declared.includes(ref.name)) {
          throw new ValidationError(consumer.path, `refers to artifact "${ref.name}" of "${producer.path}", which declares ${declared.length ? declared.join(', ') : 'no extra artifacts'}`)
        }
      }
      if (ref.kind === 'result' && producer.executable?.capabilities.result !== true) {
        throw new ValidationError(consumer.path, `refers to the result of "${producer.path}", which ${producer.executable === undefined ? 'is a group' : `is a ${producer.kind} executable`} and has none`)
      }
      dependencies.add(producer)
    }
    consumer.dependencies = [...dependencies]
    if (after.length > 0) consumer.after = after
  }
  const dependents = new Map<PlanNode, Array<{ node: PlanNode; after: boolean }>>()
  for (const consumer of nodes) {
    for (const dependency of consumer.dependencies) {
      let list = dependents.get(dependency)
      if (list === undefined) dependents.set(dependency, (list = []))
      list.push({ node: consumer, after: consumer.after.includes(dependency) })
    }
  }
  for (const [node, list] of dependents) node.dependents = list
}

/** The three moments of a node a start can wait for. */
const START = 0
const END = 1
const SUBTREE = 2

/**
 * Throws a `ValidationError` printing the cycle if the workflow's order constraints contradict
 * each other: a node starts after its parent's executable ended, after the subtree of the
 * sibling before it in a sequential group, and after each of its dependencies ended (a group ends
 * when its subtree does). Kahn's algorithm over three moments per node: linear in nodes and edges.
 */
export function checkForCycles(nodes: readonly PlanNode[]): void {
  const n = nodes.length
  const successors: number[][] = Array.from({ length: 3 * n }, () => [])
  const indegree = new Int32Array(3 * n)
  const edge = (from: number, to: number) => {
    successors[from]!.push(to)
    indegree[to]!++
  }
  const at = (node: PlanNode, moment: number) => node.ordinal * 3 + moment
  /** The moment a dependency's status is final: a group's subtree end, an executable's own end. */
  const ended = (node: PlanNode) => at(node, node.executable === undefined ? SUBTREE : END)
  let anyDependency = false
  for (const node of nodes) {
    edge(at(node, START), at(node, END))
    edge(at(node, END), at(node, SUBTREE))
    const parent = node.parent
    if (parent !== null) {
      edge(at(parent, END), at(node, START))
      edge(at(node, SUBTREE), at(parent, SUBTREE))
      if (!parent.parallel && node.index > 0) edge(at(parent.children[node.index - 1]!, SUBTREE), at(node, START))
    }
    for (const dependency of node.dependencies) {
      anyDependency = true
      edge(ended(dependency), at(node, START))
    }
  }
  // A tree alone cannot have a cycle: only dependencies can make one.
  if (!anyDependency) return
  const queue: number[] = []
  for (let v = 0; v < 3 * n; v++) if (indegree[v] === 0) queue.push(v)
  let done = 0
  while (queue.length > 0) {
    const v = queue.pop()!
    done++
    for (const w of successors[v]!) if (--indegree[w]! === 0) queue.push(w)
  }
  if (done === 3 * n) return
  throw new ValidationError(null, `these nodes wait for each other, so none of them could ever start: ${describeCycle(nodes, successors, indegree)}; remove one of these dependencies`)
}

/** A cycle among the moments Kahn's algorithm could not order, as node paths. */
function describeCycle(nodes: readonly PlanNode[], successors: number[][], indegree: Int32Array): string {
  // Every moment left has a predecessor left: walking predecessors from any of them must loop.
  const predecessors = new Map<number, number>()
  for (let v = 0; v < successors.length; v++) {
    if (indegree[v] === 0) continue
    for (const w of successors[v]!) if (indegree[w]! > 0 && !predecessors.has(w)) predecessors.set(w, v)
  }
  let start = [...predecessors.keys()][0]!
  const seen = new Map<number, number>()
  const walk: number[] = []
  while (!seen.has(start)) {
    seen.set(start, walk.length)
    walk.push(start)
    start = predecessors.get(start)!
  }
  // The walk went from each moment to one it waits for: the loop, read in order, is a chain of "waits for".
  const loop = walk.slice(seen.get(start))
  const ordinals: number[] = []
  for (const v of loop) {
    const ordinal = Math.floor(v / 3)
    if (ordinals.at(-1) !== ordinal) ordinals.push(ordinal)
  }
  if (ordinals.length > 1 && ordinals[0] === ordinals.at(-1)) ordinals.pop()
  // Start at the node that comes first in the tree, so the message does not depend on the walk.
  const first = ordinals.indexOf(Math.min(...ordinals))
  const chain = [...ordinals.slice(first), ...ordinals.slice(0, first)].map(ordinal => `"${nodes[ordinal]!.path}"`)
  return `${chain[0]} waits for ${[...chain.slice(1), chain[0]].join(', which waits for ')}`
}
