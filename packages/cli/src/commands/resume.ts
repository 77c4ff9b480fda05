import { existsSync } from 'node:fs'
import path from 'node:path'
import { Engine, decideReuse, type ReuseDecision } from '@wtflow/core'
import { preloadCommandRuntime } from '@wtflow/core/internal'
import { CliError } from '../errors.js'
import { openHistoryForReading, readConfig } from '../history.js'
import type { ResumeCommandOptions } from '../main.js'
import { loadScript } from '../script.js'
import { outputFor, shortId, writeOut } from '../terminal.js'
import { RunInterrupts, runPlans, validate } from './run.js'

/**
 * `wtflow resume RUN_ID [--rerun PATH]… [--script FILE] [--json]`: a new run of the same
 * workflow that reuses every node of RUN_ID the contract allows (see `decideReuse`).
 * Everything that makes the resume impossible is found before anything runs (exit 2).
 */
export async function resumeCommand(runId: string, options: ResumeCommandOptions): Promise<number> {
  const interrupts = new RunInterrupts()
  try {
    const config = await readConfig(options.config)
    const db = await openHistoryForReading(config)
    if (db === null) throw new CliError(`no run with id "${runId}": no run has been recorded yet; \`wtflow run\` records one.`)
    try {
      const source = await db.getResumeSource(runId)
      const id = shortId(source.id)
      const scriptFile = options.script === undefined ? source.script : path.resolve(options.script)
      if (scriptFile === null) {
        throw new CliError(`run ${id} was recorded without its script's path (by an older wtflow); name it: wtflow resume ${id} --script FILE. Nothing was run.`, { code: 'WTFLOW_RESUME' })
      }
      if (!existsSync(scriptFile)) {
        throw new CliError(
          options.script === undefined
            ? `the script of run ${id}, ${scriptFile}, is not there any more (moved or deleted); say where it is now: wtflow resume ${id} --script FILE. Nothing was run.`
            : `--script ${options.script}: no such file. Nothing was run.`,
          { code: 'WTFLOW_RESUME' },
        )
      }
      await preloadCommandRuntime()
      const inputs = source.inputs === null || Object.keys(source.inputs).length === 0 ? undefined : (Object.fromEntries(Object.entries(source.inputs).map(([k, v]) => [k, String(v)])) as Record<string, string>)
      const script = await loadScript(scriptFile, process.cwd(), { ...(inputs === undefined ? {} : { inputs }), secrets: config.secrets })
      const entry = script.workflows.find(candidate => candidate.workflow.name === source.workflow)
      if (entry === undefined) {
        throw new CliError(
          `${script.shown} no longer exports the workflow "${source.workflow}" of run ${id} (it exports ${script.workflows.map(w => `"${w.workflow.name}"`).join(', ')}); ` +
            `restore it, or start a new run with wtflow run. Nothing was run.`,
          { code: 'WTFLOW_RESUME' },
        )
      }
      const engine = new Engine({ config, handleSignals: false, secrets: script.secrets })
      const plan = await validate(engine, entry.workflow, script.shown)
      for (const rerun of options.rerun ?? []) {
        if (plan.nodeAt(rerun) === undefined) {
          throw new CliError(`--rerun "${rerun}": workflow "${plan.name}" has no node at that path; paths are names joined by / (wtflow show ${id} lists them). Nothing was run.`)
        }
      }
      const decision = await decideReuse(plan, source, { rerun: options.rerun ?? [] })
      if (decision.treeChanged !== null) {
        const { added, removed } = decision.treeChanged
        const list = (paths: string[]) => paths.slice(0, 5).map(p => `"${p}"`).join(', ') + (paths.length > 5 ? `, and ${paths.length - 5} more` : '')
        throw new CliError(
          `the tree of workflow "${plan.name}" changed since run ${id}` +
            `${added.length > 0 ? `: new node${added.length > 1 ? 's' : ''} ${list(added)}` : ''}${removed.length > 0 ? `${added.length > 0 ? ';' : ':'} removed ${list(removed)}` : ''}. ` +
            'Resume needs the same nodes; start a new run with wtflow run. Nothing was run.',
          { code: 'WTFLOW_RESUME' },
        )
      }
      tellDecision(decision, source.id, options.json === true)
      return await runPlans(engine, db, [plan], options, interrupts, { script: script.file, ...(inputs === undefined ? {} : { inputs }), reuse: decision })
    } finally {
      await db.close()
    }
  } finally {
    interrupts.dispose()
  }
}

/** One line of what is reused, and why each node that could have been is not (missing files above all). */
function tellDecision(decision: ReuseDecision, from: string, json: boolean): void {
  const out = outputFor(json ? process.stderr : process.stdout)
  const again = decision.reasons.size
  writeOut(out.stream, `resuming run ${shortId(from)}: ${decision.nodes.size} node${decision.nodes.size === 1 ? '' : 's'} reused, ${again} to run\n`)
  for (const [nodePath, reason] of decision.reasons) {
    // What the user asked for or expects (a failed node runs again) goes without saying.
    if (reason.kind === 'artifacts' || reason.kind === 'changed') writeOut(out.stream, out.style.dim(`  runs again: ${nodePath}: ${reason.message}\n`))
  }
}
