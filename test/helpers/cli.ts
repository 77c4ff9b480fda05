/**
 * Runs the built `wtflow` bin as a subprocess, the way users do, in a fresh workspace (a temp
 * directory and, for PostgreSQL, a fresh database).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import type { NodeDocument, RunDocument } from '@wtflow/core'
import { vi } from 'vitest'

const require = createRequire(import.meta.url)

/** The bin as package.json declares it: executable, with a `#!/usr/bin/env node` shebang. */
export const WTFLOW_BIN = (() => {
  const manifest = require.resolve('@wtflow/cli/package.json')
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> }
  return path.resolve(path.dirname(manifest), bin.wtflow!)
})()

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const EXAMPLES = path.join(REPO_ROOT, 'examples')

/** The path of an example script or flow. */
export const example = (name: string): string => path.join(EXAMPLES, name)

/** A run document's nodes by path. */
export function byPath(doc: RunDocument): Record<string, NodeDocument> {
  return Object.fromEntries(doc.nodes.map(node => [node.path, node]))
}

/** The text of one of a node's artifacts (throws when it has none of that name). */
export function artifactText(node: NodeDocument | undefined, name: string): string {
  const artifact = node?.artifacts.find(a => a.name === name)
  if (artifact === undefined) throw new Error(`${node?.path} has no artifact ${name}`)
  return readFileSync(artifact.path, 'utf8')
}
export const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url))

export const PG_URL = process.env.WTFLOW_TEST_PG_URL || undefined

export type DatabaseKind = 'sqlite' | 'postgres'

if (PG_URL === undefined) {
  console.warn('PostgreSQL suites are skipped: set WTFLOW_TEST_PG_URL (CI uses postgres://postgres@127.0.0.1:5432/test) to run them')
}

/** Every database the suites run against; PostgreSQL only when WTFLOW_TEST_PG_URL is set. */
export const DATABASES: readonly DatabaseKind[] = PG_URL === undefined ? ['sqlite'] : ['sqlite', 'postgres']

/** Both databases, for `describe.skipIf(unavailable(kind))`: a missing PostgreSQL shows as skipped suites. */
export const ALL_DATABASES: readonly DatabaseKind[] = ['sqlite', 'postgres']

export function unavailable(kind: DatabaseKind): boolean {
  return kind === 'postgres' && PG_URL === undefined
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunningCli {
  child: ChildProcess
  readonly pid: number
  stdout(): string
  stderr(): string
  /** Resolves with what stdout holds once it matches `pattern`; rejects after `timeoutMs`. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  exited: Promise<CliResult>
}

export interface Workspace {
  kind: DatabaseKind
  /** The working directory of every command (its `.wtflow/` holds artifacts). */
  dir: string
  /** `WTFLOW_DB_URL` of this workspace. */
  dbUrl: string
  env: Record<string, string>
  run(args: readonly string[], options?: { env?: Record<string, string> }): Promise<CliResult>
  start(args: readonly string[], options?: { env?: Record<string, string> }): RunningCli
  cleanup(): Promise<void>
}

/** The environment of a command: this process's, without any WTFLOW_* or color settings. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('WTFLOW_') || key === 'FORCE_COLOR' || key === 'NO_COLOR') continue
    env[key] = value
  }
  return env
}

export function startCli(args: readonly string[], cwd: string, env: Record<string, string>, bin = WTFLOW_BIN): RunningCli {
  const child = spawn(bin, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  return {
    child,
    get pid() {
      return child.pid!
    },
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStdout: async (pattern, timeoutMs = 30_000) => {
      const match = await waitFor(() => pattern.exec(stdout) ?? undefined, {
        timeoutMs,
        what: () => `stdout to match ${pattern}; stdout so far:\n${stdout}\nstderr:\n${stderr}`,
      })
      return match
    },
    exited,
  }
}

/** `bin`: another wtflow bin (an installed copy); default the one built in this repository. */
export async function runCli(args: readonly string[], cwd: string, env: Record<string, string>, bin = WTFLOW_BIN): Promise<CliResult> {
  return startCli(args, cwd, env, bin).exited
}

/**
 * A temp directory and a database of its own: an SQLite file inside it, or a new PostgreSQL
 * database (dropped by `cleanup`).
 */
export async function makeWorkspace(kind: DatabaseKind): Promise<Workspace> {
  const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), `wtflow-e2e-${kind}-`)))
  let dbUrl: string
  let dropDatabase = async () => {}
  if (kind === 'sqlite') {
    dbUrl = `sqlite://${path.join(dir, 'history.db')}`
  } else {
    const name = `wtflow_e2e_${randomBytes(6).toString('hex')}`
    await adminQuery(`CREATE DATABASE ${name}`)
    const url = new URL(PG_URL!)
    url.pathname = `/${name}`
    dbUrl = url.toString()
    dropDatabase = () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }
  const env = { ...baseEnv(), WTFLOW_DB_URL: dbUrl }
  return {
    kind,
    dir,
    dbUrl,
    env,
    run: (args, options) => runCli(args, dir, { ...env, ...options?.env }),
    start: (args, options) => startCli(args, dir, { ...env, ...options?.env }),
    cleanup: async () => {
      await dropDatabase()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

/** `vi.waitFor` until `probe` returns something other than undefined/false; no fixed sleeps. */
export function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe()
      if (value !== undefined && value !== false) return value
      const what = typeof options.what === 'function' ? options.what() : (options.what ?? 'a condition')
      throw new Error(`timed out waiting for ${what}`)
    },
    { timeout: options.timeoutMs ?? 30_000, interval: options.intervalMs ?? 25 },
  )
}

/** True while the process exists and is not a zombie (nothing reaps orphans on this machine). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z'
  } catch {
    return false
  }
}

export async function readPid(file: string): Promise<number> {
  return waitFor(
    async () => {
      const text = await readFile(file, 'utf8').catch(() => '')
      return /^\d+\s*$/.test(text) ? Number(text) : undefined
    },
    { what: `a pid in ${file}` },
  )
}

/** `JSON.parse` that says what it could not parse. */
export function parseJson<T>(text: string): T {
  try {
    return JSON.parse(text) as T
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message}):\n${text}`)
  }
}

/** The escape character: plain output (not a terminal) must never contain it. */
export const ESC = '\x1b'

/** The run id announced in plain progress output (`… started run <id> …`). */
export const STARTED_RUN = /started run ([0-9a-f-]{36})/
