import path from 'node:path'
import type { Workflow } from '@wtflow/core'
import { preloadCommandRuntime } from '@wtflow/core/internal'
import { signalIfHere } from './cancel.js'
import { CliError, ExitCode, formatError } from '../errors.js'
import { openHistoryForRun, readConfig } from '../history.js'
import type { ServeCommandOptions } from '../main.js'
import { loadScript } from '../script.js'
import { outputFor } from '../terminal.js'

const RETENTION_CHECK_MS = 10 * 60_000

/**
 * A posted flow document, checked as a flow file would be (every problem at once, 400). Its
 * secrets come from the configuration only: the server's engine masks those, not whatever a
 * posted flow would name from the server's environment.
 */
async function loadPostedFlow(flow: unknown, inputs: Record<string, unknown>, secrets: Readonly<Record<string, string>>): Promise<Workflow> {
  const { parseFlow } = await import('@wtflow/flow')
  const values = Object.fromEntries(Object.entries(inputs).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]))
  const loaded = await parseFlow(JSON.stringify(flow, null, 2), { file: path.join(process.cwd(), 'posted-flow.json'), format: 'json', displayName: 'posted-flow.json', inputs: values, secrets, env: {} })
  return loaded.workflow
}

/** `wtflow serve [FILE…] [--host H] [--port P] [--token T] [--run-on-start] [--allow-inline-flows]` */
export async function serveCommand(files: string[], options: ServeCommandOptions): Promise<number> {
  const config = await readConfig(options.config)
  if (config.database.kind === 'none') {
    throw new CliError(
      `wtflow serve serves run history, and history is off (database.url is "none", from ${config.sources['database.url']}). ` +
        'Unset it to use the default SQLite file .wtflow/wtflow.db, or point WTFLOW_DB_URL at your database.',
    )
  }
  // Imported before tsx registers its hooks (see run.ts).
  const [{ preloadDatabaseDriver }, { startServer }] = await Promise.all([import('@wtflow/db'), import('@wtflow/server'), preloadCommandRuntime()])
  await preloadDatabaseDriver(config.database)
  const workflows: Array<{ workflow: Workflow; file: string }> = []
  for (const file of files) {
    const script = await loadScript(file)
    for (const { workflow } of script.workflows) {
      const other = workflows.find(w => w.workflow.name === workflow.name)
      if (other !== undefined) {
        throw new CliError(`two served workflows are named "${workflow.name}" (${path.relative(process.cwd(), other.file) || other.file} and ${script.shown}); give them distinct names.`)
      }
      workflows.push({ workflow, file: script.file })
    }
  }
  const db = await openHistoryForRun(config)
  if (db === null) throw new CliError('run history is off')
  const out = outputFor(process.stderr)
  let server
  try {
    server = await startServer({
      config,
      db,
      workflows,
      host: options.host,
      port: options.port,
      token: options.token ?? (process.env.WTFLOW_SERVER_TOKEN || undefined),
      allowInlineFlows: options.allowInlineFlows === true,
      hooks: {
        ...(options.allowInlineFlows === true ? { loadFlow: (flow: unknown, inputs: Record<string, unknown>) => loadPostedFlow(flow, inputs, config.secrets) } : {}),
        // A run another process executes: as `wtflow cancel` does (history request, SIGTERM on this host).
        cancelElsewhere: async run => void signalIfHere(await db.requestCancel(run.id)),
      },
      log: message => out.write(`wtflow serve: ${message}\n`),
    })
  } catch (error) {
    await db.close()
    if ((error as { code?: unknown }).code === 'WTFLOW_SERVER_START') throw new CliError(`${(error as Error).message}.`, { cause: error })
    throw error
  }
  const given = options.token !== undefined || Boolean(process.env.WTFLOW_SERVER_TOKEN)
  process.stdout.write(`wtflow serve: listening on ${server.origin}/?token=${server.token}\n`)
  out.write(
    `${out.style.dim(
      `${given ? 'token from ' + (options.token !== undefined ? '--token' : 'WTFLOW_SERVER_TOKEN') : 'a new token (set WTFLOW_SERVER_TOKEN or --token to keep one)'}; ` +
        `history ${db.description}; artifacts ${config.artifactsDir}; ${server.runs.maxRuns} run(s) at once` +
        (server.loopback ? '; read-only requests need no token on this loopback address' : '; every request needs the token'),
    )}\n` + (workflows.length === 0 ? out.style.dim('no workflow script given: it serves history only\n') : `workflows: ${workflows.map(w => w.workflow.name).join(', ')}\n`),
  )
  // [retention]: applied now and then checked every 10 minutes; it runs at most once an hour
  // across every process on this history (wtflow run applies it too).
  let retention: NodeJS.Timeout | undefined
  if (config.retentionOlderThan !== null || config.retentionKeepLast !== null) {
    const { applyRetention } = await import('./gc.js')
    const apply = () => void applyRetention(db, config, line => out.write(`wtflow serve: ${line}\n`))
    apply()
    retention = setInterval(apply, RETENTION_CHECK_MS)
    retention.unref()
  }
  if (options.runOnStart === true) {
    const ids = await server.runAll()
    out.write(`started ${ids.length} run(s): ${ids.map(id => id.slice(0, 8)).join(', ')}\n`)
  }
  const signal = await new Promise<NodeJS.Signals>(resolve => {
    for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(name, () => resolve(name))
  })
  out.write(`wtflow serve: ${signal}: stopping (runs in progress are cancelled; queued runs stay queued)…\n`)
  clearInterval(retention)
  const force = setTimeout(() => process.exit(ExitCode.interrupted), 30_000)
  force.unref()
  try {
    await server.close()
  } catch (error) {
    out.write(`wtflow serve: ${formatError(error)}\n`)
  } finally {
    await db.close()
  }
  return ExitCode.ok
}
