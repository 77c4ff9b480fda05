/**
 * The tree of steps of a flow, as read from the document (before it is known to be valid): names,
 * where each step is in the document, how steps address each other (`steps.checks.lint`,
 * `after: [checks/lint]`), and which step runs before which.
 */
import type { Node } from '@wtflow/core'
import type { KeyPath } from './diagnostics.js'
import { STEP_KINDS, type StepKind } from './schema.js'

/** Fields of a step that expressions read: `steps.<path>.<field>`. */
export const STEP_FIELDS = ['result', 'stdout', 'stderr', 'artifacts', 'status'] as const
export type StepField = (typeof STEP_FIELDS)[number]

/** A step of the flow (or its root, which holds the top-level steps). */
export class StepInfo {
  /** Its name; null when it has none (the schema reports that), so nothing can address it. */
  readonly name: string | null
  readonly parent: StepInfo | null
  /** Position among its siblings. */
  readonly index: number
  /** The step as written (shape not yet checked). */
  readonly raw: Record<string, unknown>
  /** What it runs, from its keys: the first executable key present, or `group`. */
  readonly kind: StepKind | 'group'
  readonly children: StepInfo[] = []
  /** The node built for it (set by the builder). */
  node?: Node<unknown>
  // Paths are only needed to report a problem or to read a step: made on first use.
  #at: KeyPath | undefined
  #names: readonly string[] | undefined

  constructor(raw: Record<string, unknown>, parent: StepInfo | null, index: number) {
    this.raw = raw
    this.parent = parent
    this.index = index
    this.name = parent === null ? null : typeof raw.name === 'string' && raw.name !== '' ? raw.name : null
    this.kind = parent === null ? 'group' : firstKind(raw)
  }

  /** Where it is in the document (`['steps', 1, 'steps', 0]`). */
  get at(): KeyPath {
    return (this.#at ??= this.parent === null ? [] : [...this.parent.at, 'steps', this.index])
  }

  /** Names from the top level (`['checks', 'lint']`); empty for the root. */
  get names(): readonly string[] {
    return (this.#names ??= this.parent === null || this.name === null ? [] : [...this.parent.names, this.name])
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The executable keys a step has (`env` only in its list form). */
export function kindsOf(raw: Record<string, unknown>): StepKind[] {
  return STEP_KINDS.filter(kind => raw[kind] !== undefined && (kind !== 'env' || Array.isArray(raw.env)))
}

function firstKind(raw: Record<string, unknown>): StepKind | 'group' {
  for (const kind of STEP_KINDS) if (raw[kind] !== undefined && (kind !== 'env' || Array.isArray(raw.env))) return kind
  return 'group'
}

/** The step tree of a (raw) document; items that are not objects are left out (the schema reports them). */
export function stepTree(document: Record<string, unknown>): StepInfo {
  const root = new StepInfo(document, null, 0)
  addChildren(root, document.steps)
  return root
}

function addChildren(parent: StepInfo, steps: unknown): void {
  if (!Array.isArray(steps)) return
  for (let index = 0; index < steps.length; index++) {
    const raw: unknown = steps[index]
    if (!isRecord(raw)) continue
    const step = new StepInfo(raw, parent, index)
    parent.children.push(step)
    addChildren(step, raw.steps)
  }
}

/** True for the root's own record: the flow document. */
export function isRoot(step: StepInfo): boolean {
  return step.parent === null
}

/** Runs its children all at once. */
function isParallel(step: StepInfo): boolean {
  return !isRoot(step) && step.raw.parallel === true
}

/** `checks/lint`, as paths are shown in messages. */
export function showPath(step: StepInfo): string {
  return step.names.join('/')
}

/** The child of `parent` named `name`. */
export function childNamed(parent: StepInfo, name: string): StepInfo | undefined {
  return parent.children.find(child => child.name === name)
}

export function childNames(parent: StepInfo): string[] {
  return parent.children.flatMap(child => (child.name === null ? [] : [child.name]))
}

export function isAncestor(ancestor: StepInfo, step: StepInfo): boolean {
  for (let s = step.parent; s !== null; s = s.parent) if (s === ancestor) return true
  return false
}

/**
 * Null when `producer` can be read by `consumer`: it has ended before `consumer` starts — an
 * ancestor or an earlier subtree of a sequential group — or, for a step that reads its output
 * (`waits`), it runs beside it in a parallel group: a reference is a dependency, so core makes
 * the reader wait. Otherwise why not, as a message fragment. A `when` does not wait.
 */
export function whyNotBefore(producer: StepInfo, consumer: StepInfo, waits = false): string | null {
  if (producer === consumer) return 'it is this step itself'
  if (isAncestor(producer, consumer)) return null
  if (isAncestor(consumer, producer)) return 'it is one of this step\'s own steps, which run after it'
  // The lowest common ancestor and the branches under it.
  let fromProducer = producer
  while (fromProducer.parent !== null && !isAncestor(fromProducer.parent, consumer)) fromProducer = fromProducer.parent
  const common = fromProducer.parent!
  let fromConsumer = consumer
  while (fromConsumer.parent !== common) fromConsumer = fromConsumer.parent!
  if (isParallel(common)) return waits ? null : `it runs at the same time (both are under "${showPath(common)}", which has parallel: true)`
  if (fromProducer.index > fromConsumer.index) return 'it runs later (it comes after this step)'
  return null
}
