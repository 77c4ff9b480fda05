import path from 'node:path'
import fs from 'fs-extra'
import { emptyArtifact, fileIn, type ArtifactStore } from '../artifacts/artifact-store.js'
import type { ResolvedRef } from '../model/executable.js'
import type { Node, WhenContext } from '../model/node.js'
import { refName, type Ref, type ResultRef } from '../model/refs.js'
import type { PlanNode } from '../plan/plan-node.js'
import type { RunPlan } from '../plan/run-plan.js'
import type { NodeState } from './node-state.js'
import { inputUnavailable } from './outcome.js'

const NO_ENV: Readonly<Record<string, string>> = Object.freeze({})

/**
 * What a node of a run derives from its ancestors (artifact directory, working directory,
 * environment) and from the nodes it takes inputs from (artifacts, results, statuses).
 */
export class NodeContext {
  readonly #plan: RunPlan
  readonly #states: readonly NodeState[]
  readonly #store: ArtifactStore
  readonly #cwd: string
  readonly #runId: string
  /** Set once the run's directory exists. */
  runDir = ''

  readonly #inputs: Readonly<Record<string, string>>

  constructor(plan: RunPlan, states: readonly NodeState[], store: ArtifactStore, options: { cwd: string; runId: string; inputs: Readonly<Record<string, string>> }) {
    this.#plan = plan
    this.#states = states
    this.#store = store
    this.#cwd = options.cwd
    this.#runId = options.runId
    this.#inputs = options.inputs
  }

  // -- what a node derives from its ancestors --------------------------------------------------
  // Each walks up to the nearest ancestor that already knows, then fills in the way back down:
  // iterative, so a chain of any depth is fine.

  /** The node's artifact directory (made by the first file written into it). */
  dirOf(state: NodeState): string {
    if (state.dir !== null) return state.dir
    const chain: NodeState[] = []
    for (let s: NodeState | null = state; s !== null && s.dir === null; s = s.parent) chain.push(s)
    for (let i = chain.length - 1; i >= 0; i--) {
      const s = chain[i]!
      s.dir = s.parent === null ? this.#store.nodeDir(this.runDir, [s.plan.name]) : this.#store.childDir(this.runDir, s.parent.dir!, s.plan.path, s.plan.name)
    }
    return state.dir!
  }

  cwdOf(state: NodeState): string {
    if (state.cwd !== null) return state.cwd
    const chain: NodeState[] = []
    for (let s: NodeState | null = state; s !== null && s.cwd === null; s = s.parent) chain.push(s)
    for (let i = chain.length - 1; i >= 0; i--) {
      const s = chain[i]!
      const base = s.parent === null ? this.#cwd : s.parent.cwd!
      s.cwd = s.plan.cwd === null ? base : path.resolve(base, s.plan.cwd)
    }
    return state.cwd!
  }

  envOf(state: NodeState): Readonly<Record<string, string>> {
    if (state.env !== null) return state.env
    const chain: NodeState[] = []
    for (let s: NodeState | null = state; s !== null && s.env === null; s = s.parent) chain.push(s)
    for (let i = chain.length - 1; i >= 0; i--) {
      const s = chain[i]!
      const base = s.parent === null ? NO_ENV : s.parent.env!
      s.env = s.plan.env === null ? base : { ...base, ...s.plan.env }
    }
    return state.env!
  }

  // -- inputs ----------------------------------------------------------------------------------

  stateOf(node: Node<unknown>): NodeState | undefined {
    const planned = this.#plan.planOf(node)
    return planned === undefined ? undefined : this.#states[planned.ordinal]
  }

  async resolve(ref: Ref): Promise<ResolvedRef> {
    const state = this.stateOf(ref.node)
    if (state === undefined) throw inputUnavailable(`node "${ref.node.name}" is not in this workflow`)
    if (state.status === 'skipped' || state.status === 'pending') {
      throw inputUnavailable(`"${state.plan.path}" ${state.status === 'skipped' ? 'was skipped' : 'has not run'}`)
    }
    const name = refName(ref)
    let artifact = state.artifacts.find(a => a.name === name)
    if (ref.kind === 'artifact') {
      if (artifact === undefined && (name === 'stdout' || name === 'stderr') && (state.attempts.length > 0 || state.status === 'cached')) {
        // The node printed nothing, so no file was created; its consumers get an empty one.
        const made = (state.emptyOutputs ??= new Map())
        let empty = made.get(name)
        if (empty === undefined) made.set(name, (empty = emptyArtifact(name, fileIn(this.dirOf(state), `${name}.log`))))
        artifact = await empty
      }
      if (artifact === undefined) throw inputUnavailable(`"${state.plan.path}" has no artifact "${name}"`)
      return { kind: 'artifact', name: artifact.name, path: artifact.path, size: artifact.size }
    }
    return { kind: 'value', value: await this.resultOf(state) }
  }

  async resultOf(state: NodeState): Promise<unknown> {
    if (state.result !== null) return state.result.value
    const artifact = state.artifacts.find(a => a.name === 'result')
    // An executable that produces results and returned nothing stores no result.json.
    if (artifact === undefined && (state.status === 'succeeded' || state.status === 'cached') && state.plan.executable?.capabilities.result === true) return undefined
    if (artifact === undefined) throw inputUnavailable(`"${state.plan.path}" ended ${state.status} without a result`)
    const value: unknown = JSON.parse(await fs.readFile(artifact.path, 'utf8'))
    state.result = { value }
    return value
  }

  whenContext(node: PlanNode): WhenContext {
    return {
      runId: this.#runId,
      inputs: this.#inputs,
      path: node.path,
      result: async <T>(ref: ResultRef<T>): Promise<T> => {
        const state = this.stateOf(ref.node)
        if (state === undefined) throw new Error(`node "${ref.node.name}" is not in this workflow`)
        return (await this.resultOf(state)) as T
      },
      status: target => this.stateOf(target)?.status ?? 'pending',
    }
  }
}
