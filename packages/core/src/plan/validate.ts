import path from 'node:path'
import { ValidationError } from '../errors/errors.js'
import { isExecutable } from '../model/executable.js'
import { isWorkflow, type Node, type Workflow } from '../model/node.js'
import { checkForCycles, resolveDependencies } from './dependencies.js'
import { PlanNode } from './plan-node.js'
import { RunPlan } from './run-plan.js'

const RESERVED_ARTIFACT_NAMES = new Set(['stdout', 'stderr', 'result'])

export interface ValidateOptions {
  /** Called for each node once it is placed and its options are valid, before its descendants are checked. */
  onPlaced?: (node: PlanNode) => void
}

/**
 * Checks a workflow before anything runs and places every node in its plan. Throws the first
 * `ValidationError` found, naming the node path. Also awaits each executable's `prepare()`.
 * Iterative: a tree may be as deep as memory allows.
 */
export async function validateWorkflow(workflow: Workflow, options: ValidateOptions = {}): Promise<RunPlan> {
  if (!isWorkflow(workflow)) throw new ValidationError(null, 'expected a Workflow (new Workflow({ name, root }))')
  if (typeof workflow.name !== 'string' || workflow.name.trim() === '') {
    throw new ValidationError(null, 'the workflow needs a non-empty name')
  }
  const byNode = new Map<Node<unknown>, PlanNode>()
  const nodes: PlanNode[] = []
  const onPlaced = options.onPlaced

  // Depth first, children in order: a stack of (node, parent, index) with the last child on top.
  const stack: Array<{ node: Node<unknown>; parent: PlanNode | null; index: number }> = [{ node: workflow.root, parent: null, index: 0 }]
  while (stack.length > 0) {
    const { node, parent, index } = stack.pop()!
    const placed = place(node, parent, index, nodes.length, byNode)
    byNode.set(node, placed)
    nodes.push(placed)
    parent?.children.push(placed)
    onPlaced?.(placed)
    const children = node.children
    const seen = children.length > 1 ? new Set<string>() : null
    for (let i = 0; i < children.length; i++) {
      const childName = (children[i] as Node<unknown> | undefined)?.name
      if (seen === null || typeof childName !== 'string') continue
      if (seen.has(childName)) {
        throw new ValidationError(`${placed.path}/${childName}`, `duplicate name: "${placed.path}" already has a child named "${childName}"`)
      }
      seen.add(childName)
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i]!, parent: placed, index: i })
  }

  const root = nodes[0]!
  if (root.node.options.runIf !== undefined && root.node.options.runIf !== 'success') {
    throw new ValidationError(root.path, 'the root node has no parent, so runIf must be left out')
  }
  resolveDependencies(nodes, byNode)
  checkForCycles(nodes)
  await prepareAll(nodes)
  return new RunPlan(workflow, nodes, byNode)
}

/** Checks a node's name and options and makes its plan node. */
function place(node: Node<unknown>, parent: PlanNode | null, index: number, ordinal: number, byNode: ReadonlyMap<Node<unknown>, PlanNode>): PlanNode {
  if (node === null || typeof node !== 'object' || !('name' in node) || !Array.isArray(node.children)) {
    throw new ValidationError(positionOf(parent, index), 'expected a Node (new Node({ name, … }))')
  }
  const name = node.name
  if (typeof name !== 'string' || name.trim() === '') throw new ValidationError(positionOf(parent, index), 'a node needs a non-empty name')
  const nodePath = parent === null ? name : `${parent.path}/${name}`
  if (name.includes('/')) throw new ValidationError(nodePath, `node name "${name}" must not contain "/"`)
  if (name === '.' || name === '..') throw new ValidationError(nodePath, `node name "${name}" is not allowed`)
  // eslint-disable-next-line no-control-regex -- names with control characters are rejected
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new ValidationError(nodePath, 'node name must not contain control characters')
  const existing = byNode.get(node)
  if (existing !== undefined) {
    throw new ValidationError(
      nodePath,
      existing.path === nodePath || nodePath.startsWith(`${existing.path}/`)
        ? 'the node contains itself (a cycle); build a new Node for each place in the tree'
        : `the same Node object is already used at "${existing.path}"; build a new Node for each place in the tree`,
    )
  }
  checkOptions(node, nodePath)
  return new PlanNode(node, nodePath, parent, ordinal, index)
}

/**
 * Awaits every executable's `prepare()`; the first failure in tree order becomes the
 * `ValidationError`. They run at once, and one `await` covers them all: 1,000 Funcs awaited one
 * by one would each resume this function (and make it hot enough to be compiled).
 */
async function prepareAll(nodes: readonly PlanNode[]): Promise<void> {
  const preparing: Promise<void>[] = []
  const preparers: PlanNode[] = []
  for (let i = 0; i < nodes.length; i++) {
    const planned = nodes[i]!
    const executable = planned.executable
    if (executable === undefined) continue
    let ready: Promise<void>
    try {
      ready = executable.prepare()
    } catch (error) {
      ready = Promise.reject(error)
    }
    // Executables already prepared share one settled promise: no need to wait for it again.
    if (preparing.length === 0 || preparing[preparing.length - 1] !== ready) {
      preparing.push(ready)
      preparers.push(planned)
    }
  }
  const settled = await Promise.allSettled(preparing)
  for (let i = 0; i < settled.length; i++) {
    const outcome = settled[i]!
    if (outcome.status === 'fulfilled') continue
    const error: unknown = outcome.reason
    throw new ValidationError(preparers[i]!.path, error instanceof Error ? error.message : String(error), { cause: error })
  }
}

/** Where a node without a usable name is: `(root)` or `parent/[index]`. */
function positionOf(parent: PlanNode | null, index: number): string {
  return parent === null ? '(root)' : `${parent.path}/[${index}]`
}

const RUN_IFS: ReadonlySet<unknown> = new Set(['success', 'failure', 'always'])

/** Runs for every node: plain checks, no closures (a tree may have 100,000 nodes). */
function checkOptions(node: Node<unknown>, nodePath: string): void {
  const o = node.options
  const executable = node.executable
  if (executable !== undefined && !isExecutable(executable)) {
    throw new ValidationError(nodePath, 'executable must be a Command or a Func (or another Executable)')
  }
  checkMilliseconds(nodePath, 'timeout', o.timeout, true)
  checkMilliseconds(nodePath, 'retryDelay', o.retryDelay, false)
  if (o.retries !== undefined && (!Number.isInteger(o.retries) || o.retries < 0)) {
    throw new ValidationError(nodePath, `retries must be a non-negative integer, got ${String(o.retries)}`)
  }
  if (o.backoff !== undefined && (typeof o.backoff !== 'number' || !Number.isFinite(o.backoff) || o.backoff < 1)) {
    throw new ValidationError(nodePath, `backoff must be a number >= 1 (1 keeps the delay constant), got ${String(o.backoff)}`)
  }
  if (o.jitter !== undefined && (typeof o.jitter !== 'number' || !(o.jitter >= 0 && o.jitter <= 1))) {
    throw new ValidationError(nodePath, `jitter must be a number between 0 and 1, got ${String(o.jitter)}`)
  }
  if (o.runIf !== undefined && !RUN_IFS.has(o.runIf)) {
    throw new ValidationError(nodePath, `runIf must be 'success', 'failure' or 'always', got ${JSON.stringify(o.runIf)}`)
  }
  if (o.when !== undefined && typeof o.when !== 'function') throw new ValidationError(nodePath, 'when must be a function (ctx) => boolean')
  if (o.parallel !== undefined && typeof o.parallel !== 'boolean') throw new ValidationError(nodePath, 'parallel must be true or false')
  if (o.continueOnFailure !== undefined && typeof o.continueOnFailure !== 'boolean') {
    throw new ValidationError(nodePath, 'continueOnFailure must be true or false')
  }
  if (o.cwd !== undefined && (typeof o.cwd !== 'string' || o.cwd === '')) throw new ValidationError(nodePath, 'cwd must be a non-empty path')
  if (o.cwd !== undefined && executable !== undefined && !executable.capabilities.cwd) {
    throw new ValidationError(
      nodePath,
      executable.kind === 'func'
        ? 'cwd cannot apply to a Func: worker threads share the process working directory; resolve paths in the function instead'
        : `cwd cannot apply to a ${executable.kind} executable: it does not run in a working directory`,
    )
  }
  if (o.env !== undefined) checkEnv(nodePath, o.env)
  if (o.after !== undefined && (!Array.isArray(o.after) || o.after.some(item => item === null || typeof item !== 'object'))) {
    throw new ValidationError(nodePath, 'after must be an array of Nodes (of this workflow)')
  }
  if (o.artifacts !== undefined) checkArtifacts(nodePath, node)
  if (o.cache !== undefined) checkCache(nodePath, node)
}

function checkCache(nodePath: string, node: Node<unknown>): void {
  const cache = node.options.cache
  const fail = (message: string): never => {
    throw new ValidationError(nodePath, message)
  }
  if (node.executable === undefined) fail('cache needs an executable: a group has no outcome of its own to reuse')
  if (cache === true) return
  if (typeof cache !== 'object' || cache === null) fail('cache must be true or { key?, files?, env?, ttl? }')
  const { key, files, env, ttl } = cache as Exclude<typeof cache, true | undefined>
  if (key !== undefined && typeof key !== 'string' && typeof key !== 'function') fail('cache.key must be a string or a function of the upstream results')
  if (files !== undefined && (!Array.isArray(files) || files.some(f => typeof f !== 'string' || f === ''))) fail('cache.files must be an array of glob patterns')
  if (env !== undefined && (!Array.isArray(env) || env.some(e => typeof e !== 'string' || e === ''))) fail('cache.env must be an array of environment variable names')
  if (ttl !== undefined && (typeof ttl !== 'number' || !(ttl > 0))) fail(`cache.ttl must be a positive number of milliseconds, got ${String(ttl)}`)
}

function checkMilliseconds(nodePath: string, key: 'timeout' | 'retryDelay', value: number | undefined, positive: boolean): void {
  if (value === undefined) return
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    throw new ValidationError(nodePath, `${key} must be a ${positive ? 'positive' : 'non-negative'} number of milliseconds, got ${String(value)}`)
  }
}

function checkEnv(nodePath: string, env: unknown): void {
  if (typeof env !== 'object' || env === null) throw new ValidationError(nodePath, 'env must be an object of strings')
  for (const [key, value] of Object.entries(env)) {
    if (typeof value !== 'string') throw new ValidationError(nodePath, `env.${key} must be a string, got ${typeof value}`)
  }
}

function checkArtifacts(nodePath: string, node: Node<unknown>): void {
  const fail = (message: string): never => {
    throw new ValidationError(nodePath, message)
  }
  const o = node.options
  if (!Array.isArray(o.artifacts)) fail('artifacts must be an array of file paths')
  if (node.executable === undefined) fail('artifacts needs an executable that writes them')
  const names = new Set<string>()
  for (const file of o.artifacts ?? []) {
    if (typeof file !== 'string' || file === '') fail('artifacts must be non-empty file paths')
    const name = path.basename(file)
    if (RESERVED_ARTIFACT_NAMES.has(name) || name.endsWith('.log') && RESERVED_ARTIFACT_NAMES.has(name.slice(0, -4))) {
      fail(`artifact "${file}" would be stored as "${name}", which is reserved; rename the file`)
    }
    if (names.has(name)) fail(`two artifacts are named "${name}"; artifacts are stored by file name`)
    if (node.children.some(child => child.name === name)) {
      fail(`artifact "${name}" has the same name as a child node; rename one of them`)
    }
    names.add(name)
  }
}
