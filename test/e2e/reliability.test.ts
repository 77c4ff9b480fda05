/** Faults around the CLI: readers that go away, signals at the edges of a run, scripts that never load. */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { loadConfig, type RunDocument } from '@wtflow/core'
import { openDatabase } from '@wtflow/db'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_DATABASES, FIXTURES, isRunning, makeWorkspace, parseJson, readPid, STARTED_RUN, unavailable, waitFor, type Workspace } from '../helpers/cli.js'

const fixture = (name: string) => path.join(FIXTURES, name)

for (const kind of ALL_DATABASES) describe.skipIf(unavailable(kind))(`reliability on ${kind}`, () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('a reader that goes away (`| head -2`) does not end the run: it finishes and is recorded', async () => {
    ws = await makeWorkspace(kind)
    const cli = ws.start(['run', fixture('many.ts')])
    // Like `head -2`: read two lines, then close the pipe.
    await cli.waitForStdout(/^.*\n.*\n/)
    cli.child.stdout!.destroy()
    const result = await cli.exited
    expect(result.code, result.stderr).toBe(0)
    const runs = parseJson<Array<{ id: string; status: string }>>((await ws.run(['runs', '--json'])).stdout)
    expect(runs.map(run => run.status)).toEqual(['succeeded'])
    const doc = parseJson<RunDocument>((await ws.run(['show', runs[0]!.id, '--json'])).stdout)
    expect(doc.nodes.map(node => node.status)).toEqual(Array(8).fill('succeeded'))
  })

  it('a signal that comes once the run has ended changes nothing: the exit code says what history says', async () => {
    ws = await makeWorkspace(kind)
    const cli = ws.start(['run', fixture('one.ts')])
    await cli.waitForStdout(/ end {4}one: succeeded/)
    // From the end line to the exit, every moment gets a SIGTERM.
    const pelt = setInterval(() => {
      try {
        process.kill(cli.pid, 'SIGTERM')
      } catch {
        // gone
      }
    }, 1)
    const result = await cli.exited.finally(() => clearInterval(pelt))
    const runs = parseJson<Array<{ status: string }>>((await ws.run(['runs', '--json'])).stdout)
    expect(runs.map(run => run.status)).toEqual(['succeeded'])
    expect([result.code, result.signal]).toEqual([0, null])
  })

  it('masks secrets everywhere a person or a database sees them, not only in artifacts', async () => {
    ws = await makeWorkspace(kind)
    await writeFile(path.join(ws.dir, 'wtflow.ini'), '[secrets]\ntoken = hunter2\n')
    const run = await ws.run(['run', fixture('secrets.ts'), '--json'])
    expect(run.code, run.stderr).toBe(0)
    const doc = parseJson<RunDocument>(run.stdout)
    expect(doc.nodes.map(node => node.status)).toEqual(['succeeded', 'failed', 'failed', 'failed'])
    const shown = await ws.run(['show', doc.id])
    const shownJson = await ws.run(['show', doc.id, '--json'])
    const dry = await ws.run(['run', fixture('secrets.ts'), '--dry-run'])
    const dryJson = await ws.run(['run', fixture('secrets.ts'), '--dry-run', '--json'])
    const logs = await ws.run(['logs', doc.id, 'root/echo', '--stderr'])
    const everything = [run, shown, shownJson, dry, dryJson, logs].map(r => r.stdout + r.stderr).join('\n')
    expect(everything).toContain('***')
    expect(everything).not.toContain('hunter2')
    expect(await historyDump(ws)).not.toContain('hunter2')
  })


  it.each([
    ['wtflow runs', ['runs']],
    ['the next wtflow run', ['run', fixture('one.ts')]],
  ])('a run killed with SIGKILL: the next command (%s) stops what it left running and records the truth', async (_, next) => {
    ws = await makeWorkspace(kind)
    const cli = ws.start(['run', fixture('orphan.ts')], { env: { PID_DIR: ws.dir } })
    const runId = (await cli.waitForStdout(STARTED_RUN))[1]!
    const long = await readPid(path.join(ws.dir, 'long.pid'))
    // History lags the run by a batch (100 ms): kill once it has seen the node start.
    await waitFor(async () => {
      const shown = parseJson<RunDocument>((await ws.run(['show', runId, '--json'])).stdout)
      return shown.nodes.find(node => node.path === 'root/long')?.status === 'running'
    }, { what: 'history to show root/long running' })
    cli.child.kill('SIGKILL')
    await cli.exited
    expect(isRunning(long)).toBe(true)
    const runs = await ws.run(next)
    expect(runs.code, runs.stderr).toBe(0)
    expect(runs.stderr).toContain(`wtflow: run ${runId.slice(0, 8)} crashed: the wtflow process (pid ${cli.pid} on `)
    expect(runs.stderr).toContain(`it left running was stopped: pid ${long} (sleep 300)`)
    await waitFor(() => !isRunning(long), { what: 'the leftover to be gone' })
    const doc = parseJson<RunDocument>((await ws.run(['show', runId, '--json'])).stdout)
    expect(doc.status).toBe('crashed')
    expect(doc.nodes.map(node => [node.path, node.status])).toEqual([
      ['root', 'cancelled'],
      ['root/first', 'succeeded'],
      ['root/long', 'cancelled'],
      ['root/never', 'skipped'],
    ])
    const longNode = doc.nodes.find(node => node.path === 'root/long')!
    expect(longNode.artifacts.map(a => [a.name, a.size])).toEqual([['stdout', 8]])
    expect(Date.parse(doc.endedAt!)).toBeGreaterThanOrEqual(Date.parse(longNode.startedAt!))
    // Following the output of a node of the crashed run says why it stopped, and fails.
    const followed = await ws.run(['logs', runId, 'root/long', '--follow'])
    expect(followed.code).toBe(1)
    expect(followed.stdout).toHaveLength(8)
    expect(followed.stderr).toContain(`wtflow: run ${runId.slice(0, 8)} crashed (the wtflow process running it, pid ${cli.pid} on `)
    // Nothing of the run is left in the spool.
    expect(existsSync(path.join(ws.dir, '.wtflow', 'artifacts', runId, '%spool'))).toBe(false)
  })

})

describe('loading a script', () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('a top-level await that never settles is an error that says so (was: exit 13, nothing printed)', async () => {
    ws = await makeWorkspace('sqlite')
    await writeFile(path.join(ws.dir, 'stuck.mjs'), 'await new Promise(() => {})\nexport default null\n')
    const result = await ws.run(['run', 'stuck.mjs'])
    expect(result).toMatchObject({ code: 2, stdout: '' })
    expect(result.stderr).toBe(
      'wtflow: error: stuck.mjs never finished loading: a top-level await in it (or in a module it imports) never settled. Workflow scripts must be import-safe: build objects at import, start nothing.\n',
    )
  })
})

/** Every row of every history table, as text. */
async function historyDump(ws: Workspace): Promise<string> {
  const config = loadConfig({ cwd: ws.dir, env: { WTFLOW_DB_URL: ws.dbUrl } })
  const db = (await openDatabase(config.database))!
  try {
    const tables = await db.dialect.listTables(db.db)
    const rows = await Promise.all(tables.map(table => sql`select * from ${sql.table(table)}`.execute(db.db).then(result => result.rows)))
    expect(rows.flat().length).toBeGreaterThan(5)
    return JSON.stringify(rows)
  } finally {
    await db.close()
  }
}
