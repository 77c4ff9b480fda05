import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { isWtflowError, type DatabaseTarget } from '@wtflow/core'
import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, type OpenDatabaseOptions } from '../src/index.js'
import { DIALECTS, PG_URL, withPg, type TestDatabase } from './helpers.js'

describe.each(DIALECTS)('a database that is not this version’s history: $label', dialect => {
  let t: TestDatabase & { dispose(): Promise<void> }
  beforeEach(async ctx => {
    if (dialect.skip) return ctx.skip()
    t = await dialect.create()
  })
  afterEach(async () => {
    await t?.dispose()
  })

  it('refuses a history written by a newer wtflow (an unknown migration), and changes nothing', async () => {
    await sql`insert into kysely_migration (name, timestamp) values ('9999_from_the_future', '2030-01-01T00:00:00.000Z')`.execute(t.db.db)
    const error = await t.open().catch((e: unknown) => e)
    expect(isWtflowError(error, 'WTFLOW_DB_NEWER')).toBe(true)
    expect((error as Error).message).toBe(
      `the run history ${t.db.description} was written by a newer version of wtflow (it has migration 9999_from_the_future, which this version does not know); upgrade wtflow (npm i -D @wtflow/cli@latest), or point WTFLOW_DB_URL at another database. Nothing was changed`,
    )
  })
})

describe('a database that holds another application’s tables', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  async function refused(target: DatabaseTarget, options: OpenDatabaseOptions): Promise<{ error: unknown; tables: string[] }> {
    const raw = (await openDatabase(target, { ...options, migrate: false }))!
    await sql`create table invoices (id integer primary key)`.execute(raw.db)
    const error = await openDatabase(target, options).catch((e: unknown) => e)
    const tables = await raw.dialect.listTables(raw.db)
    await raw.close()
    return { error, tables }
  }

  it('SQLite: refuses it without adding a table', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-db-foreign-'))
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }))
    const file = path.join(dir, 'app.db')
    const { error, tables } = await refused({ kind: 'sqlite', path: file }, {})
    expect(isWtflowError(error, 'WTFLOW_DB_FOREIGN')).toBe(true)
    expect((error as Error).message).toBe(
      `sqlite://${file} is not a wtflow run history: it already holds other tables (invoices); point WTFLOW_DB_URL at a new file or an empty database (or PostgreSQL schema). Nothing was changed`,
    )
    expect(tables).toEqual(['invoices'])
  })

  it('SQLite: refuses another kysely application’s migrations rather than calling them a newer wtflow', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-db-foreign-'))
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }))
    const target: DatabaseTarget = { kind: 'sqlite', path: path.join(dir, 'app.db') }
    const raw = (await openDatabase(target, { migrate: false }))!
    await sql`create table kysely_migration (name varchar(255) primary key, timestamp varchar(255) not null)`.execute(raw.db)
    await sql`insert into kysely_migration (name, timestamp) values ('2023_add_users', '2023-01-01T00:00:00.000Z')`.execute(raw.db)
    await raw.close()
    const error = await openDatabase(target, {}).catch((e: unknown) => e)
    expect(isWtflowError(error, 'WTFLOW_DB_FOREIGN')).toBe(true)
  })

  it('SQLite: takes a new database whose only tables are the migrator’s (another wtflow process is creating it)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-db-foreign-'))
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }))
    const target: DatabaseTarget = { kind: 'sqlite', path: path.join(dir, 'new.db') }
    const raw = (await openDatabase(target, { migrate: false }))!
    await sql`create table kysely_migration_lock (id varchar(255) primary key, is_locked integer default 0 not null)`.execute(raw.db)
    await raw.close()
    const db = await openDatabase(target, {})
    expect(await db!.dialect.listTables(db!.db)).toContain('runs')
    await db!.close()
  })

  it.skipIf(PG_URL === undefined)('PostgreSQL: refuses a schema that holds other tables, without adding one', async () => {
    const schema = `wtflow_foreign_${randomBytes(4).toString('hex')}`
    cleanups.push(() => withPg(client => client.query(`drop schema if exists "${schema}" cascade`)).then(() => {}))
    const { error, tables } = await refused({ kind: 'postgres', url: PG_URL! }, { schema })
    expect(isWtflowError(error, 'WTFLOW_DB_FOREIGN')).toBe(true)
    expect(tables).toEqual(['invoices'])
  })
})

