import { isWtflowError, validateWorkflow, type RunPlan, type Workflow } from '@wtflow/core'
import { plural } from '../display/display.js'
import { ExitCode } from '../errors.js'
import type { ListCommandOptions } from '../main.js'
import { loadScript } from '../script.js'
import { outputFor, padEnd, writeOut } from '../terminal.js'

/** `wtflow list [FILE]`: the workflows a script exports. */
export async function listCommand(file: string | undefined, options: ListCommandOptions): Promise<number> {
  // @wtflow/core is imported above, before tsx registers its (slower) hooks.
  const script = await loadScript(file, undefined, { structureOnly: true })
  const rows = []
  for (const { exportName, workflow } of script.workflows) {
    const checked = await check(workflow)
    rows.push({
      name: workflow.name,
      export: exportName,
      nodes: checked.plan?.nodes.length ?? null,
      root: typeof workflow.root?.name === 'string' ? workflow.root.name : null,
      description: workflow.description ?? null,
      inputs: { ...workflow.inputs },
      ...(checked.error === null ? {} : { error: checked.error }),
    })
  }
  if (options.json === true) {
    writeOut(process.stdout, `${JSON.stringify(rows, null, 2)}\n`)
    return ExitCode.ok
  }
  const out = outputFor(process.stdout)
  const style = out.style
  const nameWidth = Math.max(...rows.map(row => row.name.length))
  const lines = [`${script.shown}: ${plural(rows.length, 'workflow')}`]
  for (const row of rows) {
    const exported = script.document !== undefined ? `${script.document.format} flow` : row.export === 'default' ? 'export default' : `export ${row.export}`
    const size = row.nodes === null ? style.red('invalid') : plural(row.nodes, 'node')
    lines.push(`  ${style.bold(padEnd(row.name, nameWidth))}  ${padEnd(size, 9)}  ${style.dim(exported)}${row.description === null ? '' : `  ${row.description}`}`)
    for (const [name, spec] of Object.entries(row.inputs)) {
      const facts = [spec.required === true ? 'required' : null, spec.default === undefined ? null : `default ${JSON.stringify(spec.default)}`].filter(fact => fact !== null)
      lines.push(`    ${style.dim('--input')} ${name}=…${facts.length === 0 ? '' : style.dim(` (${facts.join(', ')})`)}${spec.description === undefined ? '' : `  ${spec.description}`}`)
    }
    if (row.error !== undefined) lines.push(`    ${style.red(row.error)}`)
  }
  lines.push(style.dim(`run one: wtflow run ${script.shown} --workflow ${rows[0]?.name.includes(' ') ? `'${rows[0]?.name}'` : rows[0]?.name}`))
  out.write(`${lines.join('\n')}\n`)
  return ExitCode.ok
}

/** A workflow's plan, or why it is invalid (`list` shows every workflow, valid or not). */
async function check(workflow: Workflow): Promise<{ plan: RunPlan | null; error: string | null }> {
  try {
    return { plan: await validateWorkflow(workflow), error: null }
  } catch (error) {
    if (isWtflowError(error, 'WTFLOW_VALIDATION')) return { plan: null, error: error.message }
    throw error
  }
}
