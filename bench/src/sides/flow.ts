/**
 * Declarative flows (@wtflow/flow) against the same trees built by TypeScript scripts. The files
 * are written before the clock starts; imports of the packages (and tsx's hooks for the scripts)
 * are outside it too, as for the other sides.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { Command, isWorkflow, Node, Workflow, type Engine, type Workflow as WorkflowType } from '@wtflow/core'
import { loadFlow } from '@wtflow/flow'
import { register } from 'tsx/esm/api'
import { timed } from '../measure.js'
import { assertSucceeded, makeEngine } from './engine.js'
import { num, str } from './params.js'
import type { Side } from './types.js'

/** `groups` parallel groups of `perGroup` argv `true` steps; every tenth has a timeout and a retry. */
function treeYaml(groups: number, perGroup: number): string {
  const lines = ['name: big', 'steps:']
  for (let g = 0; g < groups; g++) {
    lines.push(`  - name: g${g}`, '    parallel: true', '    steps:')
    for (let s = 0; s < perGroup; s++) {
      lines.push(`      - name: s${s}`, '        run: ["true"]')
      if (s % 10 === 0) lines.push('        timeout: 30s', '        retries: 1')
    }
  }
  return `${lines.join('\n')}\n`
}

/**
 * The same tree as `treeYaml`, as a TypeScript script: `written` declares every node, as the flow
 * file does; `loop` builds them in loops (a much smaller file).
 */
function treeScript(groups: number, perGroup: number, coreUrl: string, style: string): string {
  const header = `import { Command, Node, Workflow, type NodeOptions } from '${coreUrl}'\n\n`
  if (style === 'written') {
    const lines: string[] = []
    for (let g = 0; g < groups; g++) {
      lines.push(`  new Node({ name: 'g${g}', parallel: true, children: [`)
      for (let s = 0; s < perGroup; s++) {
        const options = s % 10 === 0 ? ', timeout: 30_000, retries: 1' : ''
        lines.push(`    new Node({ name: 's${s}', executable: new Command(['true'])${options} }),`)
      }
      lines.push('  ] }),')
    }
    return `${header}export default new Workflow({ name: 'big', root: new Node({ name: 'big', children: [\n${lines.join('\n')}\n] }) })\n`
  }
  return `${header}const groups: Node[] = []
for (let g = 0; g < ${groups}; g++) {
  const steps: Node[] = []
  for (let s = 0; s < ${perGroup}; s++) {
    const options: NodeOptions = { name: \`s\${s}\`, executable: new Command(['true']) }
    if (s % 10 === 0) {
      options.timeout = 30_000
      options.retries = 1
    }
    steps.push(new Node(options))
  }
  groups.push(new Node({ name: \`g\${g}\`, parallel: true, children: steps }))
}

export default new Workflow({ name: 'big', root: new Node({ name: 'big', children: groups }) })
`
}

function countNodes(workflow: WorkflowType): number {
  let count = 0
  const stack = [workflow.root]
  while (stack.length > 0) {
    count++
    stack.push(...stack.pop()!.children)
  }
  return count
}

function validator(tmpDir: string): Engine {
  return makeEngine(tmpDir, 10)
}

/** Loads and validates the YAML tree. */
export const flowLoad: Side = async (params, tmpDir) => {
  const groups = num(params, 'groups')
  const perGroup = num(params, 'perGroup')
  const file = path.join(tmpDir, 'big.yaml')
  await fs.writeFile(file, treeYaml(groups, perGroup))
  const engine = validator(tmpDir)
  const { value: nodes, ...timing } = await timed(async () => {
    const flow = await loadFlow(file, { env: {} })
    const plans = await engine.validate(flow.workflow)
    return plans.nodes.length
  })
  if (nodes !== 1 + groups + groups * perGroup) throw new Error(`expected ${1 + groups + groups * perGroup} nodes, validated ${nodes}`)
  return { ...timing, extra: { nodes, bytes: (await fs.stat(file)).size } }
}

/** Imports a TypeScript script that builds the same tree (through tsx, as `wtflow run` does), and validates it. */
export const scriptLoad: Side = async (params, tmpDir) => {
  const groups = num(params, 'groups')
  const perGroup = num(params, 'perGroup')
  const file = path.join(tmpDir, 'big.ts')
  await fs.writeFile(file, treeScript(groups, perGroup, import.meta.resolve('@wtflow/core'), str(params, 'style')))
  await fs.writeFile(path.join(tmpDir, 'package.json'), '{ "type": "module" }\n')
  register()
  const engine = validator(tmpDir)
  const { value: nodes, ...timing } = await timed(async () => {
    const module = (await import(pathToFileURL(file).href)) as { default: unknown }
    if (!isWorkflow(module.default)) throw new Error('the script exports no workflow')
    const plans = await engine.validate(module.default)
    if (countNodes(module.default) !== plans.nodes.length) throw new Error('node count mismatch')
    return plans.nodes.length
  })
  if (nodes !== 1 + groups + groups * perGroup) throw new Error(`expected ${1 + groups + groups * perGroup} nodes, validated ${nodes}`)
  return { ...timing, extra: { nodes } }
}

/** `count` argv `true` steps one after another: how a flow writes a chain (nesting them 1,000 deep is not). */
function sequenceYaml(count: number): string {
  const lines = ['name: chain', 'steps:']
  for (let i = 0; i < count; i++) lines.push(`  - name: n${i}`, '    run: ["true"]')
  return `${lines.join('\n')}\n`
}

/** Loads the flow and runs it; compare with `script-chain`, the same tree built in TypeScript. */
export const flowChain: Side = async (params, tmpDir) => {
  const count = num(params, 'count')
  const file = path.join(tmpDir, 'chain.yaml')
  await fs.writeFile(file, sequenceYaml(count))
  const { value: result, ...timing } = await timed(async () => {
    const flow = await loadFlow(file, { env: {} })
    return makeEngine(tmpDir, 10).run(flow.workflow)
  })
  assertSucceeded(result, count + 1)
  return timing
}

/** The same sequence of `count` argv `true` commands under one root, built (inside the clock) and run. */
export const scriptChain: Side = async (params, tmpDir) => {
  const count = num(params, 'count')
  const { value: result, ...timing } = await timed(async () => {
    const steps = Array.from({ length: count }, (_, i) => new Node({ name: `n${i}`, executable: new Command(['true']) }))
    return makeEngine(tmpDir, 10).run(new Workflow({ name: 'chain', root: new Node({ name: 'chain', children: steps }) }))
  })
  assertSucceeded(result, count + 1)
  return timing
}
