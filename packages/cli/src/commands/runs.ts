import type { RunStatus, RunSummary } from '@wtflow/core'
import { CliError, ExitCode } from '../errors.js'
import { openHistoryForReading, readConfig } from '../history.js'
import type { RunsCommandOptions } from '../main.js'
import { colorFor, statusWord } from '../status.js'
import { formatDateTime, formatDuration, outputFor, padEnd, shortId, writeOut } from '../terminal.js'

const DEFAULT_LIMIT = 20

/** `wtflow runs [--workflow NAME] [--status S] [--limit N | --all] [--since AGE] [--json]`: recorded runs, newest first. */
export async function runsCommand(options: RunsCommandOptions): Promise<number> {
  if (options.all === true && options.limit !== undefined) throw new CliError('give --limit N or --all, not both.')
  const config = await readConfig(options.config)
  const db = await openHistoryForReading(config)
  let runs: RunSummary[] = []
  try {
    if (db !== null) {
      runs = await db.listRuns({
        // --json without --limit is every match (a script should not see a silent page); text shows 20.
        limit: options.all === true || (options.json === true && options.limit === undefined) ? null : (options.limit ?? DEFAULT_LIMIT),
        ...(options.since === undefined ? {} : { since: options.since }),
        ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
        ...(options.status === undefined ? {} : { status: options.status as RunStatus }),
      })
    }
  } finally {
    await db?.close()
  }

  if (options.json === true) {
    writeOut(process.stdout, `${JSON.stringify(runs, null, 2)}\n`)
    return ExitCode.ok
  }
  const out = outputFor(process.stdout)
  const style = out.style
  if (runs.length === 0) {
    const filtered = options.workflow !== undefined || options.status !== undefined || options.since !== undefined
    out.write(filtered ? 'no runs match these filters\n' : 'no runs recorded yet; `wtflow run` records one\n')
    return ExitCode.ok
  }
  const rows = runs.map(run => [
    shortId(run.id),
    run.workflow,
    run.status,
    formatDateTime(new Date(run.startedAt)),
    run.durationMs === null ? (run.status === 'running' ? 'running' : '-') : formatDuration(run.durationMs),
  ])
  const header = ['ID', 'WORKFLOW', 'STATUS', 'STARTED', 'DURATION']
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map(row => row[i]!.length)))
  const lines = [style.dim(header.map((title, i) => padEnd(title, widths[i]!)).join('  ').trimEnd())]
  runs.forEach((run, r) => {
    const cells = rows[r]!.map((cell, i) => padEnd(cell, widths[i]!))
    cells[2] = colorFor(run.status, style)(padEnd(statusWord(run.status), widths[2]!))
    lines.push(cells.join('  ').trimEnd())
  })
  if (options.all !== true && options.limit === undefined && runs.length === DEFAULT_LIMIT) {
    lines.push(style.dim(`the latest ${DEFAULT_LIMIT}; --all (or --limit N, --since 2d) for more`))
  }
  out.write(`${lines.join('\n')}\n`)
  return ExitCode.ok
}
