import { readFileSync } from 'node:fs'
import os from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type { RunInfo } from '@wtflow/db'
import { processStart } from '@wtflow/db/internal'
import { CliError, ExitCode } from '../errors.js'
import { openHistoryForReading, readConfig } from '../history.js'
import type { CancelCommandOptions } from '../main.js'
import { outputFor, shortId } from '../terminal.js'

const POLL_MS = 250

/**
 * `wtflow cancel RUN_ID`: stops a run started elsewhere. The request is recorded in history,
 * where the run's recorder reads it with its heartbeat (any host); on this host the run's
 * process also gets SIGTERM at once — after checking, by its start time, that the pid is still
 * that process. Either way the run stops as for Ctrl-C: its process groups get SIGTERM, then
 * SIGKILL after kill_grace_ms, and it is recorded `cancelled`.
 */
export async function cancelCommand(runIdArg: string, options: CancelCommandOptions): Promise<number> {
  const config = await readConfig(options.config)
  const db = await openHistoryForReading(config)
  if (db === null) throw new CliError(`no run with id "${runIdArg}": no run has been recorded yet.`)
  const out = outputFor(process.stdout)
  try {
    const run = await db.requestCancel(runIdArg)
    const id = shortId(run.id)
    if (run.status !== 'running' && run.status !== 'queued') {
      throw new CliError(`run ${id} is not running: it ${run.status === 'crashed' ? 'crashed' : `ended ${run.status}`}${run.endedAt === null ? '' : ` at ${run.endedAt.toISOString()}`}; there is nothing to cancel.`)
    }
    const signalled = signalIfHere(run)
    out.write(
      signalled
        ? `cancelling run ${id} (${run.workflow}): sent SIGTERM to its wtflow process, pid ${run.pid}\n`
        : `cancelling run ${id} (${run.workflow}): asked through history; its wtflow process (pid ${run.pid} on ${run.host}) stops it within a few seconds\n`,
    )
    if (options.wait === false) return ExitCode.ok
    // Long enough for the heartbeat to see the request and every process group to be killed.
    const deadline = Date.now() + config.killGraceMs + 15_000
    let current: RunInfo = run
    while ((current.status === 'running' || current.status === 'queued') && Date.now() < deadline) {
      await sleep(POLL_MS)
      current = await db.getRunInfo(run.id)
    }
    if (current.status === 'running' || current.status === 'queued') {
      throw new CliError(`run ${id} is still running after ${Math.round((config.killGraceMs + 15_000) / 1000)} s; the request stays recorded. Check \`wtflow show ${id}\`.`, { exitCode: ExitCode.failed })
    }
    out.write(`run ${id} ${current.status}\n`)
    return current.status === 'cancelled' ? ExitCode.ok : ExitCode.failed
  } finally {
    await db.close()
  }
}

/**
 * A `wtflow run` process, not `wtflow serve` (SIGTERM would stop the server and all its runs:
 * a served run is cancelled through the history request, which the server's recorder reads).
 */
function isRunCommand(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('serve')
  } catch {
    return false
  }
}

/** SIGTERM to the run's process when it runs on this host and is still the process that recorded it (not a reused pid). */
export function signalIfHere(run: RunInfo): boolean {
  if (run.host !== os.hostname() || run.processStart === null || run.status !== 'running') return false
  if (processStart(run.pid) !== run.processStart || !isRunCommand(run.pid)) return false
  try {
    process.kill(run.pid, 'SIGTERM')
    return true
  } catch {
    return false
  }
}
