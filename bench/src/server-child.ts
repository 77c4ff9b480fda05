/**
 * A `wtflow serve` server in a process of its own for the server scenarios: argv is one JSON
 * object { dbUrl, schema?, artifactsDir, workflows? (module paths) }. Prints "READY <origin>".
 */
import { loadConfig, isWorkflow, type Workflow } from '@wtflow/core'
import { openDatabase } from '@wtflow/db'
import { startServer } from '@wtflow/server'

const options = JSON.parse(process.argv[2] ?? '{}') as { dbUrl: string; schema?: string; artifactsDir: string; workflows?: string[] }
const config = loadConfig({ env: {}, overrides: { dbUrl: options.dbUrl, artifactsDir: options.artifactsDir } })
const db = (await openDatabase(config.database, options.schema === undefined ? {} : { schema: options.schema }))!
const workflows: Array<{ workflow: Workflow; file: string }> = []
for (const file of options.workflows ?? []) {
  const module = (await import(file)) as Record<string, unknown>
  for (const value of Object.values(module)) if (isWorkflow(value)) workflows.push({ workflow: value, file })
}
const server = await startServer({ config, db, workflows, port: 0, token: 'bench', log: message => process.stderr.write(`[server] ${message}\n`) })
process.stdout.write(`READY ${server.origin}\n`)
process.on('SIGTERM', () => {
  void server.close().then(() => db.close()).then(() => process.exit(0))
})
