/** @wtflow/plugin-sql on a real SQLite file and a real PostgreSQL (WTFLOW_TEST_PG_URL), the same assertions for both. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, Engine, Node, ValidationError, Workflow, createExecutable, loadConfig, loadPlugin, usePlugin, type NodeResult, type RunResult } from '@wtflow/core'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import sqlPlugin, { Sql } from '../src/index.js'

const PG_URL = process.env.WTFLOW_TEST_PG_URL || undefined
const dir = mkdtempSync(path.join(tmpdir(), 'wtflow-plugin-sql-'))
const table = `wtflow_plugin_sql_${process.pid}`

afterAll(() => rmSync(dir, { recursive: true, force: true }))

function engine(secrets: Record<string, string> = {}): Engine {
  const config = loadConfig({ cwd: dir, env: {}, overrides: { artifactsDir: path.join(dir, 'artifacts'), dbUrl: 'none', secrets } })
  return new Engine({ config, handleSignals: false, cwd: dir })
}

function artifact(node: NodeResult | undefined, name: string): string {
  const file = node?.artifacts.find(a => a.name === name)?.path
  if (file === undefined) throw new Error(`${node?.path} has no ${name} artifact`)
  return readFileSync(file, 'utf8')
}

function byPath(result: RunResult, nodePath: string): NodeResult {
  return result.nodes.find(n => n.path === nodePath)!
}

interface Target {
  kind: 'sqlite' | 'postgres'
  url: string
  /** Placeholders of the first and second parameter. */
  p: [string, string]
}

const TARGETS: Array<Target | null> = [
  { kind: 'sqlite', url: 'sqlite:data/app.db', p: ['?', '?'] },
  PG_URL === undefined ? null : { kind: 'postgres', url: PG_URL, p: ['$1', '$2'] },
]

for (const target of TARGETS) {
  describe.skipIf(target === null)(`Sql on ${target?.kind ?? 'postgres (set WTFLOW_TEST_PG_URL)'}`, () => {
    const t = target!

    beforeAll(async () => {
      if (t.kind === 'sqlite') {
        const { mkdirSync } = await import('node:fs')
        mkdirSync(path.join(dir, 'data'), { recursive: true })
      }
    })

    afterAll(async () => {
      if (t.kind !== 'postgres') return
      const client = new pg.Client({ connectionString: t.url })
      await client.connect()
      await client.query(`drop table if exists ${table}`)
      await client.end()
    })

    it('creates, inserts with parameters (one a reference), selects: the rows are the result', async () => {
      const create = new Node({ name: 'create', executable: new Sql({ url: t.url, query: `create table ${table} (id integer primary key, name text not null, note text)` }) })
      const file = new Node({ name: 'file', executable: new Command(['echo', 'attached']) })
      const insert = new Node({
        name: 'insert',
        executable: new Sql({ url: t.url, query: `insert into ${table} (id, name, note) values (1, ${t.p[0]}, ${t.p[1]}), (2, 'gadget', null)`, params: ['widget', file.stdout] }),
      })
      const select = new Node({ name: 'select', executable: usePlugin(sqlPlugin, { url: t.url, query: `select id, name, note from ${table} order by id` }) })
      const workflow = new Workflow({ name: 'sql', root: new Node({ name: 'db', children: [create, file, insert, select] }) })
      const result = await engine().run(workflow)
      expect(result.nodes.map(n => [n.path, n.status])).toEqual([
        ['db', 'succeeded'],
        ['db/create', 'succeeded'],
        ['db/file', 'succeeded'],
        ['db/insert', 'succeeded'],
        ['db/select', 'succeeded'],
      ])
      const rows = JSON.parse(artifact(byPath(result, 'db/select'), 'result')) as Array<{ id: number; name: string; note: string | null }>
      const stdoutPath = byPath(result, 'db/file').artifacts.find(a => a.name === 'stdout')!.path
      expect(rows).toEqual([
        { id: 1, name: 'widget', note: stdoutPath },
        { id: 2, name: 'gadget', note: null },
      ])
      expect(artifact(byPath(result, 'db/select'), 'stdout')).toBe('2 rows\n')
      expect(artifact(byPath(result, 'db/insert'), 'stdout')).toBe('0 rows, 2 affected\n')
      expect(byPath(result, 'db/select')).toMatchObject({ kind: 'sql', display: `${t.url}: select id, name, note from ${table} order by id` })
    })

    it('a failing statement fails the node with the database’s message', async () => {
      const result = await engine().run(new Workflow({ name: 'sql', root: new Node({ name: 'bad', executable: new Sql({ url: t.url, query: 'select * from wtflow_no_such_table' }) }) }))
      expect(result.nodes[0]).toMatchObject({ status: 'failed', error: { code: 'WTFLOW_EXECUTABLE_FAILED' } })
      expect(result.nodes[0]!.error!.message).toMatch(new RegExp(`^query on ${t.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} failed: .*wtflow_no_such_table`))
    })
  })
}

describe.skipIf(PG_URL === undefined)('Sql credentials', () => {
  it('a password in the URL is masked in the display, stdout, result and errors', async () => {
    // The test server trusts local connections, so any password connects.
    const url = new URL(PG_URL!)
    url.password = 'pw-s3cret-77'
    const ok = new Node({ name: 'ok', executable: new Sql({ url: url.href, query: `select 'pw-s3cret-77' as echoed` }) })
    const bad = new Node({ name: 'bad', executable: new Sql({ url: url.href, query: 'select nothing_here' }) })
    const ended: unknown[] = []
    const e = engine()
    e.on('node:end', event => ended.push(event.node))
    const result = await e.run(new Workflow({ name: 'sql', root: new Node({ name: 'root', parallel: true, continueOnFailure: true, children: [ok, bad] }) }))
    expect(JSON.parse(artifact(byPath(result, 'root/ok'), 'result'))).toEqual([{ echoed: '***' }])
    expect(byPath(result, 'root/ok').display).toContain(':***@')
    expect(JSON.stringify(ended)).not.toContain('pw-s3cret-77')
    expect(byPath(result, 'root/bad').error!.message).toContain(':***@')
  })
})

describe('the plugin', () => {
  it('is found by its package name and checks its options with its zod schema', async () => {
    const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))
    const plugin = await loadPlugin('@wtflow/plugin-sql', { from: repoRoot })
    expect(plugin.name).toBe('sql')
    const error = await createExecutable(plugin, { url: 'mysql://db/x', query: ' ', extra: 1 }, { nodePath: 'flow/report' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as Error).message).toBe(
      'flow/report: plugin "sql": invalid options: url: must start with sqlite: or postgres://; query: must not be empty; Unrecognized key: "extra"',
    )
    const made = await createExecutable(plugin, { url: 'sqlite::memory:', query: 'select 1 as one' })
    expect(made.kind).toBe('sql')
    const result = await engine().run(new Workflow({ name: 'mem', root: new Node({ name: 'one', executable: made }) }))
    expect(JSON.parse(artifact(result.nodes[0], 'result'))).toEqual([{ one: 1 }])
  })
})

describe('Sql options', () => {
  it.each([
    [{ url: 'mysql://db/x', query: 'select 1' }, 'q: sql: unsupported database URL "mysql://db/x"; use sqlite:PATH, sqlite:///ABSOLUTE/PATH, sqlite::memory: or postgres://USER@HOST/DB'],
    [{ url: 'postgres://u:pw-123456@db/x', query: '' }, 'q: sql: the query must be a non-empty string'],
    [{ query: 'select 1' }, 'q: sql: url must be a string (sqlite:PATH or postgres://…)'],
  ])('%j is a ValidationError before anything runs', async (options, message) => {
    const error = await engine().run(new Workflow({ name: 'w', root: new Node({ name: 'q', executable: new Sql(options as never) }) })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as Error).message).toBe(message)
  })
})
