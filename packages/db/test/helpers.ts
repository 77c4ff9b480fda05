import { vi } from 'vitest'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { TypedEmitter, type DatabaseTarget, type EngineEventMap, type EngineEventName } from '@wtflow/core'
import pg from 'pg'
import { openDatabase, type HistoryDatabase, type OpenDatabaseOptions } from '../src/index.js'

/** The PostgreSQL server of the tests; CI exports it. Without it the PostgreSQL suites are skipped. */
export const PG_URL = process.env.WTFLOW_TEST_PG_URL || undefined

if (PG_URL === undefined) {
  console.warn('[@wtflow/db] PostgreSQL suites are SKIPPED: set WTFLOW_TEST_PG_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run them')
}

/** A database of one test: its own SQLite file or its own PostgreSQL schema. */
export interface TestDatabase {
  db: HistoryDatabase
  target: DatabaseTarget
  options: OpenDatabaseOptions
  /** A temp directory of the test (artifacts, scripts' cwd). */
  dir: string
  /** Opens another handle on the same database (as another process would). */
  open(extra?: OpenDatabaseOptions): Promise<HistoryDatabase>
}

export interface DialectCase {
  name: 'sqlite' | 'postgres'
  /** Shown as the suite name. */
  label: string
  skip: boolean
  /** Creates a database for one test; `dispose` removes it (file or schema). */
  create(): Promise<TestDatabase & { dispose(): Promise<void> }>
}

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'wtflow-db-'))
}

const sqliteCase: DialectCase = {
  name: 'sqlite',
  label: 'sqlite',
  skip: false,
  async create() {
    const dir = await tempDir()
    const target: DatabaseTarget = { kind: 'sqlite', path: path.join(dir, 'nested', 'dirs', 'wtflow.db') }
    const options: OpenDatabaseOptions = {}
    const handles: HistoryDatabase[] = []
    const open = async (extra: OpenDatabaseOptions = {}) => {
      const db = (await openDatabase(target, { ...options, ...extra }))!
      handles.push(db)
      return db
    }
    const db = await open()
    return {
      db,
      target,
      options,
      dir,
      open,
      async dispose() {
        for (const handle of handles) await handle.close()
        await fs.rm(dir, { recursive: true, force: true })
      },
    }
  },
}

const postgresCase: DialectCase = {
  name: 'postgres',
  label: PG_URL === undefined ? 'postgres (SKIPPED: WTFLOW_TEST_PG_URL is not set)' : 'postgres',
  skip: PG_URL === undefined,
  async create() {
    const dir = await tempDir()
    const schema = `wtflow_test_${randomBytes(6).toString('hex')}`
    const target: DatabaseTarget = { kind: 'postgres', url: PG_URL! }
    const options: OpenDatabaseOptions = { schema, applicationName: schema }
    const handles: HistoryDatabase[] = []
    const open = async (extra: OpenDatabaseOptions = {}) => {
      const db = (await openDatabase(target, { ...options, ...extra }))!
      handles.push(db)
      return db
    }
    const dispose = async () => {
      for (const handle of handles) await handle.close()
      await withPg(client => client.query(`drop schema if exists "${schema}" cascade`))
      await fs.rm(dir, { recursive: true, force: true })
    }
    try {
      return { db: await open(), target, options, dir, open, dispose }
    } catch (error) {
      await dispose()
      throw error
    }
  },
}

/** Every db suite runs once per dialect, with the same assertions. */
export const DIALECTS: readonly DialectCase[] = [sqliteCase, postgresCase]

/** A plain admin connection to the test server. */
export async function withPg<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

/** An emitter the tests fire synthetic engine events through. */
export class FakeEngine extends TypedEmitter {
  fire<K extends EngineEventName>(name: K, event: EngineEventMap[K]): void {
    this.emit(name, event)
  }
}

/** `vi.waitFor` until `check` returns a value other than undefined; the error names what was awaited. */
export function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await check()
      if (value === undefined) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
      return value
    },
    { timeout: timeoutMs, interval: 20 },
  )
}

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures')

/** A child `node` process running a TypeScript fixture through tsx. */
export function spawnFixture(script: string, args: readonly string[], options: { cwd?: string } = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(FIXTURES, script), ...args], {
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const lineWaiters: Array<{ text: string; resolve: () => void }> = []
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
    for (const waiter of [...lineWaiters]) {
      if (stdout.includes(waiter.text)) {
        lineWaiters.splice(lineWaiters.indexOf(waiter), 1)
        waiter.resolve()
      }
    }
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(resolve =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    /** Resolves once stdout contains `text`; rejects if the child exits first. */
    waitFor(text: string): Promise<void> {
      if (stdout.includes(text)) return Promise.resolve()
      return new Promise((resolve, reject) => {
        lineWaiters.push({ text, resolve })
        void exited.then(({ code, signal }) =>
          reject(new Error(`child exited (${code ?? signal}) before printing "${text}"\nstdout: ${stdout}\nstderr: ${stderr}`)),
        )
      })
    },
  }
}
