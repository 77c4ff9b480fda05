/**
 * A run plan as JSON data and back. References inside an executable's spec are written as
 * `{ "$ref": "artifact", "node": PATH, "name": NAME }` or `{ "$ref": "result", "node": PATH }`.
 */
import { ValidationError } from '../errors/errors.js'
import type { RunIf } from '../interfaces.js'
import type { Executable, ExecutableSpec } from '../model/executable.js'
import { createExecutable, type PluginContext, type PluginLike } from '../plugins/plugin.js'
import { assembleNode, Node, Workflow, type NodeOptions } from '../model/node.js'
import { isInputRef } from '../model/inputs.js'
import { isRef, type Ref } from '../model/refs.js'
import { RETRY_DEFAULTS, type PlanNode } from './plan-node.js'
import type { RunPlan } from './run-plan.js'

/** A plan as JSON data (`RunPlan.toJSON()`). */
export interface PlanDocument {
  version: 1
  workflow: string
  description: string | null
  /** `RunPlan.digest`. */
  digest: string
  /** In plan order: parents before children. */
  nodes: PlanNodeDocument[]
}

export interface PlanNodeDocument {
  ordinal: number
  path: string
  name: string
  /** The parent's path, or null for the root. */
  parent: string | null
  kind: string
  display: string | null
  options: NodeOptionsDocument
  /** Paths of the nodes it waits for besides its parent and earlier sequential siblings. */
  dependencies: string[]
  /** `{ uses, with }`, references encoded; null for a group. */
  executable: { uses: string; with: unknown } | null
  /** `RunPlan.nodeDigest`. */
  digest: string
}

/** Every option of a node, resolved (defaults filled in). */
export interface NodeOptionsDocument {
  parallel: boolean
  runIf: RunIf
  timeout: number | null
  retries: number
  retryDelay: number
  backoff: number
  jitter: number
  continueOnFailure: boolean
  /** The source text of the `when` predicate, or null. */
  when: string | null
  env: Record<string, string> | null
  cwd: string | null
  artifacts: string[]
  /** Paths of the nodes its `after` names. */
  after: string[]
}

export function planToDocument(plan: RunPlan): PlanDocument {
  const pathOf = pathsOf(plan)
  return {
    version: 1,
    workflow: plan.name,
    description: plan.description,
    digest: plan.digest,
    nodes: plan.nodes.map(node => ({
      ordinal: node.ordinal,
      path: node.path,
      name: node.name,
      parent: node.parentPath,
      kind: node.kind,
      display: node.display,
      options: nodeOptionsDocument(node),
      dependencies: node.dependencies.map(dependency => dependency.path),
      executable: node.executable === undefined ? null : encodeSpec(node.executable.toSpec(), pathOf),
      digest: plan.nodeDigest(node),
    })),
  }
}

export function nodeOptionsDocument(node: PlanNode): NodeOptionsDocument {
  return {
    parallel: node.parallel,
    runIf: node.runIf,
    timeout: node.timeout,
    retries: node.attempts - 1,
    retryDelay: node.retryDelay,
    backoff: node.backoff,
    jitter: node.jitter,
    continueOnFailure: node.continueOnFailure,
    when: node.when?.toString() ?? null,
    env: node.env === null ? null : { ...node.env },
    cwd: node.cwd,
    artifacts: [...node.artifacts],
    after: node.after.map(dependency => dependency.path),
  }
}

/** How a plan names the node of a reference: by its path (every referenced node is in the plan). */
export function pathsOf(plan: RunPlan): (node: Node<unknown>) => string {
  return node => plan.planOf(node)?.path ?? node.name
}

/** A spec with its references written as `{ $ref }` objects that name nodes by path. */
export function encodeSpec(spec: ExecutableSpec, pathOf: (node: Node<unknown>) => string): { uses: string; with: unknown } {
  return { uses: spec.uses, with: encodeValue(spec.with, pathOf) }
}

function encodeValue(value: unknown, pathOf: (node: Node<unknown>) => string): unknown {
  if (isInputRef(value)) return { $input: value.name }
  if (isRef(value)) return value.kind === 'result' ? { $ref: 'result', node: pathOf(value.node) } : { $ref: 'artifact', node: pathOf(value.node), name: value.name }
  if (Array.isArray(value)) return value.map(item => encodeValue(item, pathOf))
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const encoded: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) encoded[key] = encodeValue(item, pathOf)
    return encoded
  }
  return value
}

/**
 * Builds an executable from its spec (`uses` → a factory); references are already `Ref` objects.
 * A plugin (`definePlugin`) is one; this shape remains for factories written before plugins.
 */
export interface ExecutableFactory {
  readonly name: string
  create(options: unknown, ctx: PluginContext): Executable<unknown>
}

/**
 * Rebuilds the workflow a plan document describes (validate it to get a plan): nodes with their
 * options and executables, each executable made by the factory its `uses` names. A `when`
 * predicate cannot be rebuilt from its source text: such a plan must be loaded from its script.
 */
export async function workflowFromDocument(document: PlanDocument, factories: ReadonlyMap<string, PluginLike>, baseDir: string): Promise<Workflow> {
  if (document?.version !== 1 || !Array.isArray(document.nodes) || document.nodes.length === 0) {
    throw new ValidationError(null, 'not a run plan document (expected { version: 1, workflow, nodes: [...] })')
  }
  const byPath = new Map<string, Node<unknown>>()
  const childrenOf = new Map<string, Node<unknown>[]>()
  for (const doc of document.nodes) {
    const o = doc.options
    if (o.when !== null) {
      throw new ValidationError(doc.path, 'has a when() predicate, which cannot be rebuilt from a plan document; load the workflow from its script instead')
    }
    // Only what differs from the defaults, as a script would write it (the tree digest reads options as written).
    const options: NodeOptions<unknown> = { name: doc.name }
    if (o.parallel) options.parallel = true
    if (o.runIf !== 'success') options.runIf = o.runIf
    if (o.timeout !== null) options.timeout = o.timeout
    if (o.retries > 0) options.retries = o.retries
    if (o.retryDelay !== RETRY_DEFAULTS.retryDelay) options.retryDelay = o.retryDelay
    if (o.backoff !== RETRY_DEFAULTS.backoff) options.backoff = o.backoff
    if (o.jitter !== RETRY_DEFAULTS.jitter) options.jitter = o.jitter
    if (o.continueOnFailure) options.continueOnFailure = true
    if (o.env !== null) options.env = o.env
    if (o.cwd !== null) options.cwd = o.cwd
    if (o.artifacts.length > 0) options.artifacts = o.artifacts
    const node = new Node(options)
    byPath.set(doc.path, node)
    childrenOf.set(doc.path, [])
    if (doc.parent !== null) {
      const siblings = childrenOf.get(doc.parent)
      if (siblings === undefined) throw new ValidationError(doc.path, `its parent "${doc.parent}" is not listed before it`)
      siblings.push(node)
    }
  }
  const decodeRef = (encoded: { $ref: string; node: string; name?: string }, at: string): Ref => {
    const target = byPath.get(encoded.node)
    if (target === undefined) throw new ValidationError(at, `refers to "${encoded.node}", which is not in the plan`)
    return encoded.$ref === 'result' ? target.result : target.artifact(encoded.name ?? 'stdout')
  }
  for (const doc of document.nodes) {
    let executable: Executable<unknown> | undefined
    if (doc.executable !== null) {
      const factory = factories.get(doc.executable.uses)
      if (factory === undefined) {
        throw new ValidationError(doc.path, `its executable "${doc.executable.uses}" cannot be rebuilt here: no executable of that name is registered`)
      }
      executable = await createExecutable(factory, decodeValue(doc.executable.with, encoded => decodeRef(encoded, doc.path)), { nodePath: doc.path, baseDir })
    }
    const after = (doc.options.after ?? []).map(target => {
      const node = byPath.get(target)
      if (node === undefined) throw new ValidationError(doc.path, `after names "${target}", which is not in the plan`)
      return node
    })
    assembleNode(byPath.get(doc.path)!, { children: childrenOf.get(doc.path)!, executable, after })
  }
  return new Workflow({ name: document.workflow, root: byPath.get(document.nodes[0]!.path)!, description: document.description ?? undefined })
}

function decodeValue(value: unknown, decodeRef: (encoded: { $ref: string; node: string; name?: string }) => Ref): unknown {
  if (Array.isArray(value)) return value.map(item => decodeValue(item, decodeRef))
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>
    if (typeof record.$ref === 'string' && typeof record.node === 'string') return decodeRef(record as { $ref: string; node: string; name?: string })
    const decoded: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(record)) decoded[key] = decodeValue(item, decodeRef)
    return decoded
  }
  return value
}
