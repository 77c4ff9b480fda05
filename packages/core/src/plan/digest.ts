import { createHash } from 'node:crypto'
import type { PlanNode } from './plan-node.js'
import type { RunPlan } from './run-plan.js'
import { encodeSpec, nodeOptionsDocument, pathsOf } from './serialize.js'

/** Options that are not already in the digested plan line, as the digest has always read them. */
const NOT_DIGESTED_OPTIONS: ReadonlySet<string> = new Set(['name', 'executable', 'children', 'when', 'after'])

/** Text the digest hashes at once: few update() calls, and little memory however deep the tree. */
const DIGEST_CHUNK_CHARS = 64 * 1024

/**
 * sha256 of a plan's tree definition (`RunPlan.digest`). Its text must never change: a
 * history keys workflow versions by it (a test pins known digests).
 */
export function treeDigest(plan: RunPlan): string {
  // One line of JSON per node, hashed a chunk of lines at a time: an update() per line costs
  // more than its JSON, and one string of all lines is O(depth²) for a deep chain (each line
  // repeats every ancestor's path), garbage that made every later fork of the process dearer.
  const hash = createHash('sha256')
  const { nodes } = plan
  let chunk = ''
  for (let i = 0; i < nodes.length; i++) {
    const planned = nodes[i]!
    const all = planned.node.options
    let options: Record<string, unknown> | null = null
    for (const key of Object.keys(all)) if (!NOT_DIGESTED_OPTIONS.has(key)) (options ??= {})[key] = all[key as keyof typeof all]
    // Nodes are named by path (a tree without `after` keeps the digest it always had).
    if (planned.after.length > 0) (options ??= {}).after = planned.after.map(node => node.path)
    // The text of JSON.stringify([line, options, when]) as it has always been: the line lists
    // path, name, parentPath, kind, display, parallel and runIf, in that order.
    const line = { path: planned.path, name: planned.name, parentPath: planned.parentPath, kind: planned.kind, display: planned.display, parallel: planned.parallel, runIf: planned.runIf }
    chunk += `[${JSON.stringify(line)},${options === null ? '{}' : JSON.stringify(options)},${JSON.stringify(all.when?.toString() ?? null)}]\n`
    if (chunk.length >= DIGEST_CHUNK_CHARS) {
      hash.update(chunk)
      chunk = ''
    }
  }
  return hash.update(chunk).digest('hex')
}

/** sha256 of one node's own definition (see `RunPlan.nodeDigest`). */
export function nodeDigest(plan: RunPlan, node: PlanNode): string {
  const executable = node.executable
  const text = JSON.stringify([
    node.path,
    node.kind,
    executable === undefined ? null : encodeSpec(executable.toSpec(), pathsOf(plan)),
    executable?.digestExtra() ?? null,
    nodeOptionsDocument(node),
  ])
  return createHash('sha256').update(text).digest('hex')
}
