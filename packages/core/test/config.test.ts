import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { renderExampleIni } from '../src/config/example.js'
import { CONFIG_KEYS, ConfigError, describeConfig, loadConfig } from '../src/index.js'
import { tempDir } from './helpers.js'

function iniIn(dir: string, text: string): string {
  const file = path.join(dir, 'wtflow.ini')
  writeFileSync(file, text)
  return file
}

function configError(load: () => unknown): ConfigError {
  try {
    load()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('configuration', () => {
  it('has documented defaults', () => {
    const dir = tempDir()
    const config = loadConfig({ cwd: dir, env: {} })
    expect(config).toMatchObject({
      database: { kind: 'sqlite', path: path.join(dir, '.wtflow/wtflow.db') },
      artifactsDir: path.join(dir, '.wtflow/artifacts'),
      ignoreFailure: false,
      maxParallel: 10,
      killGraceMs: 5000,
      workerMemoryMb: 2048,
      secrets: {},
      configFile: null,
    })
    expect(config.sources['run.max_parallel']).toBe('default')
  })

  it('layers defaults < INI file < environment < options', () => {
    const dir = tempDir()
    iniIn(dir, '[database]\nurl = sqlite:from-ini.db\n[storage]\nartifacts_dir = ini-artifacts\n[run]\nmax_parallel = 4\nignore_failure = 1\n[secrets]\ntoken = abc123\n')
    const fromIni = loadConfig({ cwd: dir, env: {} })
    expect(fromIni).toMatchObject({
      database: { kind: 'sqlite', path: path.join(dir, 'from-ini.db') },
      artifactsDir: path.join(dir, 'ini-artifacts'),
      maxParallel: 4,
      ignoreFailure: true,
      secrets: { token: 'abc123' },
      configFile: path.join(dir, 'wtflow.ini'),
    })
    expect(fromIni.sources['run.max_parallel']).toBe(`${path.join(dir, 'wtflow.ini')}:6`)
    const fromEnv = loadConfig({ cwd: dir, env: { WTFLOW_MAX_PARALLEL: '8', WTFLOW_IGNORE_FAILURE: 'false', WTFLOW_DB_URL: 'none' } })
    expect(fromEnv).toMatchObject({ maxParallel: 8, ignoreFailure: false, database: { kind: 'none' } })
    expect(fromEnv.sources['run.max_parallel']).toBe('environment variable WTFLOW_MAX_PARALLEL')
    const fromOptions = loadConfig({ cwd: dir, env: { WTFLOW_MAX_PARALLEL: '8' }, overrides: { maxParallel: 2 } })
    expect(fromOptions.maxParallel).toBe(2)
    expect(fromOptions.sources['run.max_parallel']).toBe('option')
  })

  it('finds the INI file through WTFLOW_CONFIG or the configFile option', () => {
    const dir = tempDir()
    const other = path.join(dir, 'other.ini')
    writeFileSync(other, '[run]\nmax_parallel = 3\n')
    expect(loadConfig({ cwd: dir, env: { WTFLOW_CONFIG: other } }).maxParallel).toBe(3)
    expect(loadConfig({ cwd: dir, env: {}, configFile: 'other.ini' }).maxParallel).toBe(3)
    const missing = configError(() => loadConfig({ cwd: dir, env: { WTFLOW_CONFIG: 'nope.ini' } }))
    expect(missing.message).toBe(`config (from environment variable WTFLOW_CONFIG): the INI file ${path.join(dir, 'nope.ini')} does not exist; create it or point to another file`)
  })

  it('accepts every documented database URL form', () => {
    const dir = tempDir()
    const db = (url: string) => loadConfig({ cwd: dir, env: { WTFLOW_DB_URL: url } }).database
    expect(db('sqlite:///abs/path.db')).toEqual({ kind: 'sqlite', path: '/abs/path.db' })
    expect(db('sqlite:rel.db')).toEqual({ kind: 'sqlite', path: path.join(dir, 'rel.db') })
    expect(db('plain/file.db')).toEqual({ kind: 'sqlite', path: path.join(dir, 'plain/file.db') })
    expect(db('postgres://u:pw@localhost:5432/db')).toEqual({ kind: 'postgres', url: 'postgres://u:pw@localhost:5432/db' })
    expect(db('postgresql://localhost/db')).toEqual({ kind: 'postgres', url: 'postgresql://localhost/db' })
    expect(db('none')).toEqual({ kind: 'none' })
  })

  it('names the key and the variable of a bad environment value', () => {
    const dir = tempDir()
    const cases: Array<[Record<string, string>, string]> = [
      [{ WTFLOW_IGNORE_FAILURE: 'maybe' }, 'run.ignore_failure (from environment variable WTFLOW_IGNORE_FAILURE): "maybe" is not a boolean; use 0, 1, true or false'],
      [{ WTFLOW_MAX_PARALLEL: '-1' }, 'run.max_parallel (from environment variable WTFLOW_MAX_PARALLEL): "-1" is not an integer >= 1'],
      [{ WTFLOW_MAX_PARALLEL: '2.5' }, 'run.max_parallel (from environment variable WTFLOW_MAX_PARALLEL): "2.5" is not an integer >= 1'],
      [{ WTFLOW_DB_URL: 'mysql://u:hunter2@h/db' }, 'database.url (from environment variable WTFLOW_DB_URL): unsupported database URL "mysql://u:***@h/db"; use sqlite:PATH, a file path, postgres://… or none'],
      [{ WTFLOW_DB_URL: 'sqlite://relative.db' }, 'database.url (from environment variable WTFLOW_DB_URL): "sqlite://relative.db" must be sqlite:///absolute/path.db or sqlite:relative/path.db'],
    ]
    for (const [env, message] of cases) {
      const error = configError(() => loadConfig({ cwd: dir, env }))
      expect(error.message).toBe(message)
      expect(error.code).toBe('WTFLOW_CONFIG')
      expect(error.message).not.toContain('hunter2')
    }
  })

  it('names the file and line of a bad INI value or a broken INI line', () => {
    const dir = tempDir()
    const file = iniIn(dir, '[run]\n\nmax_parallel = lots\n')
    expect(configError(() => loadConfig({ cwd: dir, env: {} })).message).toBe(`run.max_parallel (from ${file}:3): "lots" is not an integer >= 1`)
    iniIn(dir, '[run]\nthis line is broken\n')
    expect(configError(() => loadConfig({ cwd: dir, env: {} })).message).toBe(`[run] (from ${file}:2): cannot parse "this line is broken"; expected "key = value" or "[section]"`)
    iniIn(dir, '[run]\nmax_paralel = 3\n')
    expect(configError(() => loadConfig({ cwd: dir, env: {} })).message).toBe(
      `[run] max_paralel (from ${file}:2): unknown key; [run] accepts ignore_failure, max_parallel, max_funcs, kill_grace_ms, worker_memory_mb, output_logs`,
    )
    iniIn(dir, '[storage]\nartifacts_dir = x\n[databse]\nurl = none\n')
    expect(configError(() => loadConfig({ cwd: dir, env: {} })).key).toBe('[databse]')
  })

  it('describes the config without secrets or passwords', () => {
    const dir = tempDir()
    iniIn(dir, '[database]\nurl = postgres://me:topsecret@db.example:5432/wtflow\n[secrets]\ntoken = abc123\n')
    const described = JSON.stringify(describeConfig(loadConfig({ cwd: dir, env: {} })))
    expect(described).toContain('postgres://me:***@db.example:5432/wtflow')
    expect(described).not.toContain('topsecret')
    expect(described).not.toContain('abc123')
  })
})

describe('the configuration table', () => {
  it('is what config.example.ini documents (regenerate it with `npm run docs`)', () => {
    const file = readFileSync(new URL('../../../config.example.ini', import.meta.url), 'utf8')
    expect(file).toBe(renderExampleIni())
  })

  it('gives every key a variable, a default that parses, and documentation', () => {
    const config = loadConfig({ cwd: tempDir(), env: {} })
    for (const key of CONFIG_KEYS) {
      expect(key.env).toMatch(/^WTFLOW_[A-Z_]+$/)
      expect(key.doc.length).toBeGreaterThan(10)
      expect(config.sources[key.key]).toBe('default')
    }
    expect(Object.keys(describeConfig(config))).toEqual([...CONFIG_KEYS.map(key => key.key), 'secrets'])
  })

  it('reads values as the ini package does (quotes, comments, escapes), in one pass with their lines', () => {
    const dir = tempDir()
    iniIn(dir, '[secrets]\nquoted = "p;w#1"\nescaped = a\\;b\ncommented = plain ; a comment\n[run]\n\n; a comment line\nmax_parallel = 3\n')
    const config = loadConfig({ cwd: dir, env: {} })
    expect(config.secrets).toEqual({ quoted: 'p;w#1', escaped: 'a;b', commented: 'plain' })
    expect(config.sources['run.max_parallel']).toBe(`${path.join(dir, 'wtflow.ini')}:8`)
  })
})
