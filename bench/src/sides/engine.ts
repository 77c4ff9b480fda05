/** The engine sides: the same work as the baselines, as wtflow workflows. */
import { Command, Engine, Node, Workflow, loadConfig, type RunResult } from '@wtflow/core'
import { preloadCommandRuntime } from '@wtflow/core/internal'

// Imports are outside the clock on both sides: the baselines import execa statically, and core
// imports it on first use unless preloaded, as the CLI does.
await preloadCommandRuntime()
import fs from 'node:fs/promises'
import path from 'node:path'
import { timed } from '../measure.js'
import type { Side } from './types.js'
import { num, outputCommand, str } from './params.js'

export function makeEngine(tmpDir: string, maxParallel: number, dbUrl = 'none'): Engine {
  const artifactsDir = path.join(tmpDir, 'artifacts')
  // env: {} keeps WTFLOW_* variables of the caller out of the measurement.
  const config = loadConfig({ cwd: tmpDir, env: {}, overrides: { artifactsDir, maxParallel, dbUrl } })
  return new Engine({ config, cwd: tmpDir, handleSignals: false })
}

/** Throws unless every node succeeded, naming the first one that did not. */
export function assertSucceeded(result: RunResult, expectedNodes: number): void {
  if (result.status !== 'succeeded') {
    const bad = result.nodes.find(node => node.status !== 'succeeded')
    throw new Error(`run ${result.status}: ${bad?.path ?? '?'} ${bad?.status ?? ''} ${bad?.error?.message ?? bad?.skipReason ?? ''}`)
  }
  if (result.nodes.length !== expectedNodes) throw new Error(`expected ${expectedNodes} nodes, the run has ${result.nodes.length}`)
}

/**
 * A chain: node i is the only child of node i-1 (depth = count). Node names go into the
 * artifact path of every descendant, so the style matters: `short` (all named `n`) keeps the
 * deepest directory at ~2 KB; `long` (`step-0001`…) tests realistic names.
 */
export function chainWorkflow(count: number, style: string): Workflow {
  const nameOf = (i: number) => (style === 'long' ? `step-${String(i).padStart(4, '0')}` : 'n')
  let node: Node | undefined
  for (let i = count - 1; i >= 0; i--) {
    node = new Node({ name: nameOf(i), executable: new Command(['true']), children: node ? [node] : [] })
  }
  return new Workflow({ name: 'chain', root: node! })
}

/** Builds the workflow, runs it on a fresh engine (both measured), checks that all succeeded. */
export async function runMeasured(tmpDir: string, maxParallel: number, expectedNodes: number, build: () => Workflow, dbUrl = 'none') {
  const timing = await timed(async () => makeEngine(tmpDir, maxParallel, dbUrl).run(build()))
  assertSucceeded(timing.value, expectedNodes)
  return timing
}

/** (a) a chain of `count` argv `true` commands. */
export const engineChain: Side = async (params, tmpDir) => {
  const count = num(params, 'count')
  const { value: _, ...timing } = await runMeasured(tmpDir, 10, count, () => chainWorkflow(count, str(params, 'names')))
  return timing
}

/** (b) a parallel group of `count` argv `true` commands, maxParallel = concurrency. */
export const engineParallel: Side = async (params, tmpDir) => {
  const count = num(params, 'count')
  const { value: _, ...timing } = await runMeasured(tmpDir, num(params, 'concurrency'), count + 1, () => {
    const children = Array.from({ length: count }, (_, i) => new Node({ name: `t${i}`, executable: new Command(['true']) }))
    return new Workflow({ name: 'parallel', root: new Node({ name: 'root', children, parallel: true }) })
  })
  return timing
}

/** (d) one shell command writing `bytes` bytes of 64-byte lines, captured as its stdout artifact. */
export const engineOutput: Side = async (params, tmpDir) => {
  const bytes = num(params, 'bytes')
  const { value: result, ...timing } = await runMeasured(
    tmpDir,
    1,
    1,
    () => new Workflow({ name: 'output', root: new Node({ name: 'yes', executable: new Command(outputCommand(bytes)) }) }),
  )
  const stdout = result.nodes[0]!.artifacts.find(a => a.name === 'stdout')
  if (stdout?.size !== bytes) throw new Error(`expected ${bytes} bytes captured, got ${stdout?.size}`)
  await fs.rm(result.runDir, { recursive: true, force: true })
  return { ...timing, extra: { bytes: stdout.size } }
}
