import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ConfigError, loadConfig } from '@wtflow/core'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { attachRecorder, openDatabase } from '../src/index.js'
import { FakeEngine } from './helpers.js'

describe('openDatabase', () => {
  it('turns tracking off for `none`: no handle, and a recorder that records nothing', async () => {
    const config = loadConfig({ cwd: os.tmpdir(), env: { WTFLOW_DB_URL: 'none' } })
    expect(await openDatabase(config.database)).toBeNull()
    const engine = new FakeEngine()
    const recorder = attachRecorder(engine, null)
    expect(engine.hasListeners('run:start')).toBe(false)
    await expect(recorder.close()).resolves.toBeUndefined()
  })

  it('creates the SQLite file and its parent directories, in WAL mode with a busy timeout', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-db-open-'))
    try {
      const config = loadConfig({ cwd: dir, env: {} })
      expect(config.database).toEqual({ kind: 'sqlite', path: path.join(dir, '.wtflow', 'wtflow.db') })
      const db = (await openDatabase(config.database, { source: config.sources['database.url'] }))!
      expect(db.description).toBe(`sqlite://${path.join(dir, '.wtflow', 'wtflow.db')}`)
      const pragma = async (name: string) => Object.values((await sql.raw(`pragma ${name}`).execute(db.db)).rows[0] as object)[0]
      expect(await pragma('journal_mode')).toBe('wal')
      expect(await pragma('synchronous')).toBe(1) // NORMAL
      expect(await pragma('busy_timeout')).toBe(5000)
      expect(await pragma('foreign_keys')).toBe(1)
      await db.close()
      await db.close()
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })

  it('names the source of a SQLite path it cannot open', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-db-open-'))
    try {
      await fs.writeFile(path.join(dir, 'a-file'), '')
      const file = path.join(dir, 'a-file', 'sub', 'wtflow.db')
      const error = await openDatabase({ kind: 'sqlite', path: file }, { source: `${dir}/wtflow.ini:2` }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ConfigError)
      expect(error).toMatchObject({ key: 'database.url', source: `${dir}/wtflow.ini:2` })
      expect((error as Error).message).toMatch(new RegExp(`^database.url \\(from ${dir}/wtflow.ini:2\\): cannot open the SQLite database ${file}: ENOTDIR`))
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })
})
