/** Dependency sides: the diamond (1 → n parallel → 1) by `after`, and the same shape as a tree. */
import { Engine, Executable, Node, Workflow, loadConfig, type ExecutionOutcome } from '@wtflow/core'
import path from 'node:path'
import { timed } from '../measure.js'
import type { Side } from './types.js'
import { assertSucceeded } from './engine.js'
import { num, str } from './params.js'

const DONE: Promise<ExecutionOutcome> = Promise.resolve({ exitCode: 0, signal: null, error: null })

/** An executable that succeeds at once: what is measured is the scheduling around it. */
class Noop extends Executable {
  readonly kind = 'noop'
  describe(): string {
    return 'noop'
  }
  references(): [] {
    return []
  }
  execute(): Promise<ExecutionOutcome> {
    return DONE
  }
}

/**
 * `after`: a parallel root whose `nodes - 2` middle children each name the source in `after`, and
 * a sink naming all of them. `tree`: source, a parallel group of the middle ones, sink, in sequence.
 */
function diamond(nodes: number, shape: string): Workflow {
  const source = new Node({ name: 'source', executable: new Noop() })
  const middle = (after: Node[] | undefined) => Array.from({ length: nodes - 2 }, (_, i) => new Node({ name: `m${i}`, executable: new Noop(), after }))
  if (shape === 'after') {
    const fan = middle([source])
    const sink = new Node({ name: 'sink', executable: new Noop(), after: fan })
    return new Workflow({ name: 'diamond', root: new Node({ name: 'root', parallel: true, children: [source, ...fan, sink] }) })
  }
  const group = new Node({ name: 'fan', parallel: true, children: middle(undefined) })
  return new Workflow({ name: 'diamond', root: new Node({ name: 'root', children: [source, group, new Node({ name: 'sink', executable: new Noop() })] }) })
}

/** `runs` runs of the diamond of `nodes` executables, each validated and run by a fresh engine. */
export const engineDiamond: Side = async (params, tmpDir) => {
  const nodes = num(params, 'nodes')
  const shape = str(params, 'shape')
  const runs = num(params, 'runs')
  const config = loadConfig({ cwd: tmpDir, env: {}, overrides: { artifactsDir: path.join(tmpDir, 'artifacts'), maxParallel: num(params, 'concurrency'), dbUrl: 'none' } })
  const { value: _, ...timing } = await timed(async () => {
    for (let i = 0; i < runs; i++) {
      const result = await new Engine({ config, cwd: tmpDir, handleSignals: false }).run(diamond(nodes, shape))
      assertSucceeded(result, shape === 'after' ? nodes + 1 : nodes + 2)
    }
  })
  return timing
}
