import '@wtflow/core'
import { nodesByPath } from '../display/plan.js'
import { plural } from '../display/display.js'
import { ExitCode } from '../errors.js'
import type { ListCommandOptions } from '../main.js'
import { loadScript } from '../script.js'
import { outputFor, padEnd } from '../terminal.js'

/** `wtflow list [FILE]`: the workflows a script exports. */
export async function listCommand(file: string | undefined, options: ListCommandOptions): Promise<number> {
  // @wtflow/core is imported above, before tsx registers its (slower) hooks.
  const script = await loadScript(file, undefined, { structureOnly: true })
  const rows = script.workflows.map(({ exportName, workflow }) => ({
    name: workflow.name,
    export: exportName,
    nodes: nodesByPath(workflow).size,
    root: workflow.root.name,
    description: workflow.description ?? null,
  }))
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
    return ExitCode.ok
  }
  const out = outputFor(process.stdout)
  const style = out.style
  const nameWidth = Math.max(...rows.map(row => row.name.length))
  const lines = [`${script.shown}: ${plural(rows.length, 'workflow')}`]
  for (const row of rows) {
    const exported = script.document !== undefined ? `${script.document.format} flow` : row.export === 'default' ? 'export default' : `export ${row.export}`
    lines.push(`  ${style.bold(padEnd(row.name, nameWidth))}  ${padEnd(plural(row.nodes, 'node'), 9)}  ${style.dim(exported)}${row.description === null ? '' : `  ${row.description}`}`)
  }
  lines.push(style.dim(`run one: wtflow run ${script.shown} --workflow ${rows[0]?.name.includes(' ') ? `'${rows[0]?.name}'` : rows[0]?.name}`))
  out.write(`${lines.join('\n')}\n`)
  return ExitCode.ok
}
