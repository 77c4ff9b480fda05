/** Func sides: no-op functions in worker threads, through the engine. */
import { Func, Node, Workflow } from '@wtflow/core'
import { noop } from '../fixtures/noop.js'
import type { Side } from './types.js'
import { runMeasured } from './engine.js'
import { num } from './params.js'

const fixture = new URL('../fixtures/noop.js', import.meta.url).href

function noopNode(name: string): Node {
  return new Node({ name, executable: new Func(noop, { module: fixture }) })
}

/** (c) a parallel group of `count` no-op Funcs, maxParallel = concurrency. */
export const engineFuncs: Side = async (params, tmpDir) => {
  const count = num(params, 'count')
  const { value: _, ...timing } = await runMeasured(tmpDir, num(params, 'concurrency'), count + 1, () => {
    const children = Array.from({ length: count }, (_, i) => noopNode(`f${i}`))
    return new Workflow({ name: 'funcs', root: new Node({ name: 'root', children, parallel: true }) })
  })
  return timing
}

/** (e) `groups` parallel groups of `perGroup` parallel no-op Funcs under a parallel root. */
export const engineFuncTree: Side = async (params, tmpDir) => {
  const groups = num(params, 'groups')
  const perGroup = num(params, 'perGroup')
  const nodes = 1 + groups + groups * perGroup
  const { value: _, ...timing } = await runMeasured(tmpDir, num(params, 'concurrency'), nodes, () => {
    const children = Array.from(
      { length: groups },
      (_, g) => new Node({ name: `g${g}`, parallel: true, children: Array.from({ length: perGroup }, (_, i) => noopNode(`f${i}`)) }),
    )
    return new Workflow({ name: 'tree', root: new Node({ name: 'root', children, parallel: true }) })
  })
  return { ...timing, extra: { nodes } }
}
