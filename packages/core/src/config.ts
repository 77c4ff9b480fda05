import fs from 'node:fs'
import { parse as parseIni } from 'ini'
import path from 'node:path'
import { ConfigError } from './errors.js'

/** Where run history goes. Parsed from `WTFLOW_DB_URL` / `[database] url`. */
export type DatabaseTarget =
  | { kind: 'none' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string }

export interface WtflowConfig {
  database: DatabaseTarget
  /** Absolute. */
  artifactsDir: string
  ignoreFailure: boolean
  maxParallel: number
  /** Milliseconds between SIGTERM and SIGKILL when a process group is stopped. */
  killGraceMs: number
  /** Heap limit of each Func worker thread, in MB. */
  workerMemoryMb: number
  /** Runs `wtflow serve` executes at once; more wait as `queued`. */
  maxRuns: number
  /** Values masked as `***` in every artifact; keys are only labels. */
  secrets: Record<string, string>
  /** The INI file that was read, if any. */
  configFile: string | null
  /** Where each key's value came from: `default`, `environment variable X`, `file:line`, `option`. */
  sources: Record<ConfigKey, string>
}

/** Programmatic overrides (CLI flags): the highest precedence. */
export interface ConfigOverrides {
  dbUrl?: string
  artifactsDir?: string
  ignoreFailure?: boolean
  maxParallel?: number
  killGraceMs?: number
  workerMemoryMb?: number
  maxRuns?: number
  secrets?: Record<string, string>
}

export interface LoadConfigOptions {
  /** Directory relative paths and `./wtflow.ini` are resolved from (default `process.cwd()`). */
  cwd?: string
  /** Environment to read `WTFLOW_*` from (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>
  /** INI file to read (like `--config`); beats `WTFLOW_CONFIG`. */
  configFile?: string
  overrides?: ConfigOverrides
}

interface KeySpec {
  section: string
  key: string
  env: string | null
  override: keyof ConfigOverrides
  default: string
}

const KEYS = {
  'database.url': { section: 'database', key: 'url', env: 'WTFLOW_DB_URL', override: 'dbUrl', default: 'sqlite:.wtflow/wtflow.db' },
  'storage.artifacts_dir': { section: 'storage', key: 'artifacts_dir', env: 'WTFLOW_ARTIFACTS_DIR', override: 'artifactsDir', default: '.wtflow/artifacts' },
  'run.ignore_failure': { section: 'run', key: 'ignore_failure', env: 'WTFLOW_IGNORE_FAILURE', override: 'ignoreFailure', default: 'false' },
  'run.max_parallel': { section: 'run', key: 'max_parallel', env: 'WTFLOW_MAX_PARALLEL', override: 'maxParallel', default: '10' },
  'run.kill_grace_ms': { section: 'run', key: 'kill_grace_ms', env: 'WTFLOW_KILL_GRACE_MS', override: 'killGraceMs', default: '5000' },
  'run.worker_memory_mb': { section: 'run', key: 'worker_memory_mb', env: 'WTFLOW_WORKER_MEMORY_MB', override: 'workerMemoryMb', default: '2048' },
  'server.max_runs': { section: 'server', key: 'max_runs', env: 'WTFLOW_SERVER_MAX_RUNS', override: 'maxRuns', default: '4' },
} as const satisfies Record<string, KeySpec>

export type ConfigKey = keyof typeof KEYS

/** The `WTFLOW_*` variables wtflow reads, with their INI keys (for docs and `--help`). */
export const CONFIG_KEYS: ReadonlyArray<{ key: ConfigKey; env: string | null; default: string }> = Object.entries(KEYS).map(
  ([key, spec]) => ({ key: key as ConfigKey, env: spec.env, default: spec.default }),
)

interface RawValue {
  value: string
  source: string
  /** Directory relative paths in this value are resolved from. */
  baseDir: string
}

/**
 * Builds the effective configuration: defaults < INI file < environment < overrides.
 * Throws `ConfigError` naming the key and where the bad value came from.
 *
 * @example
 * const config = loadConfig({ configFile: 'wtflow.ini', overrides: { maxParallel: 4 } })
 */
export function loadConfig(options: LoadConfigOptions = {}): WtflowConfig {
  const cwd = path.resolve(options.cwd ?? process.cwd())
  const env = options.env ?? process.env
  const configFile = findConfigFile(cwd, env, options.configFile)
  const ini = configFile === null ? null : readIniFile(configFile)

  const raw = new Map<ConfigKey, RawValue>()
  const sources = {} as Record<ConfigKey, string>
  for (const [name, spec] of Object.entries(KEYS) as [ConfigKey, KeySpec][]) {
    let chosen: RawValue = { value: spec.default, source: 'default', baseDir: cwd }
    const fromIni = ini?.values.get(name)
    if (fromIni !== undefined) chosen = fromIni
    const fromEnv = spec.env === null ? undefined : env[spec.env]
    if (fromEnv !== undefined && fromEnv !== '') {
      chosen = { value: fromEnv, source: `environment variable ${spec.env}`, baseDir: cwd }
    }
    const override = options.overrides?.[spec.override]
    if (override !== undefined && typeof override !== 'object') {
      chosen = { value: String(override), source: 'option', baseDir: cwd }
    }
    raw.set(name, chosen)
    sources[name] = chosen.source
  }
  const get = (key: ConfigKey): RawValue => raw.get(key)!

  return {
    database: parseDatabaseUrl(get('database.url'), 'database.url'),
    artifactsDir: path.resolve(get('storage.artifacts_dir').baseDir, nonEmpty(get('storage.artifacts_dir'), 'storage.artifacts_dir')),
    ignoreFailure: parseBoolean(get('run.ignore_failure'), 'run.ignore_failure'),
    maxParallel: parseInteger(get('run.max_parallel'), 'run.max_parallel', 1),
    killGraceMs: parseInteger(get('run.kill_grace_ms'), 'run.kill_grace_ms', 0),
    workerMemoryMb: parseInteger(get('run.worker_memory_mb'), 'run.worker_memory_mb', 16),
    maxRuns: parseInteger(get('server.max_runs'), 'server.max_runs', 1),
    secrets: { ...(ini?.secrets ?? {}), ...(options.overrides?.secrets ?? {}) },
    configFile,
    sources,
  }
}

/** The effective configuration for display and history: no secrets, no passwords. */
export function describeConfig(config: WtflowConfig): Record<string, string | number | boolean> {
  return {
    'database.url': describeDatabase(config.database),
    'storage.artifacts_dir': config.artifactsDir,
    'run.ignore_failure': config.ignoreFailure,
    'run.max_parallel': config.maxParallel,
    'run.kill_grace_ms': config.killGraceMs,
    'run.worker_memory_mb': config.workerMemoryMb,
    secrets: Object.keys(config.secrets).length,
  }
}

/** A database target as text, with any password replaced by `***`. */
export function describeDatabase(target: DatabaseTarget): string {
  switch (target.kind) {
    case 'none':
      return 'none'
    case 'sqlite':
      return `sqlite://${target.path}`
    case 'postgres':
      return redactUrlPassword(target.url)
  }
}

/** Replaces the password of a URL (`postgres://user:pw@host`) by `***`. */
export function redactUrlPassword(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@')
}

function findConfigFile(cwd: string, env: LoadConfigOptions['env'] & object, explicit: string | undefined): string | null {
  const given = explicit ?? (env.WTFLOW_CONFIG || undefined)
  if (given !== undefined) {
    const file = path.resolve(cwd, given)
    if (!fs.existsSync(file)) {
      const source = explicit !== undefined ? 'option --config' : 'environment variable WTFLOW_CONFIG'
      throw new ConfigError('config', source, `the INI file ${file} does not exist; create it or point to another file`)
    }
    return file
  }
  const fallback = path.join(cwd, 'wtflow.ini')
  return fs.existsSync(fallback) ? fallback : null
}

interface IniContents {
  values: Map<ConfigKey, RawValue>
  secrets: Record<string, string>
}

/**
 * Reads an INI file. `ini` parses values; a line scan first finds broken lines and the line
 * of every key, because `ini` silently ignores the former and does not report the latter.
 */
function readIniFile(file: string): IniContents {
  const text = fs.readFileSync(file, 'utf8')
  const lineOf = new Map<string, number>()
  let section = ''
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim()
    const where = `${file}:${index + 1}`
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) return
    const header = /^\[([^\]]+)\]$/.exec(trimmed)
    if (header) {
      section = header[1]!.trim()
      if (!['database', 'storage', 'run', 'server', 'secrets'].includes(section)) {
        throw new ConfigError(`[${section}]`, where, 'unknown section; expected [database], [storage], [run], [server] or [secrets]')
      }
      return
    }
    const assignment = /^([^=]+?)\s*=/.exec(trimmed)
    if (!assignment) {
      throw new ConfigError(section === '' ? 'ini' : `[${section}]`, where, `cannot parse "${trimmed}"; expected "key = value" or "[section]"`)
    }
    const key = assignment[1]!
    if (section === '') {
      throw new ConfigError(key, where, 'key outside any section; put it under [database], [storage], [run], [server] or [secrets]')
    }
    if (section !== 'secrets' && !(`${section}.${key}` in KEYS)) {
      const known = Object.keys(KEYS).filter(k => k.startsWith(`${section}.`)).map(k => k.slice(section.length + 1))
      throw new ConfigError(`[${section}] ${key}`, where, `unknown key; [${section}] accepts ${known.join(', ')}`)
    }
    lineOf.set(`${section}.${key}`, index + 1)
  })

  const parsed = parseIni(text) as Record<string, Record<string, unknown> | undefined>
  const values = new Map<ConfigKey, RawValue>()
  for (const name of Object.keys(KEYS) as ConfigKey[]) {
    const [sectionName, key] = name.split('.') as [string, string]
    const value = parsed[sectionName]?.[key]
    if (value !== undefined) {
      values.set(name, { value: String(value), source: `${file}:${lineOf.get(name) ?? '?'}`, baseDir: path.dirname(file) })
    }
  }
  const secrets: Record<string, string> = {}
  for (const [key, value] of Object.entries(parsed.secrets ?? {})) {
    if (typeof value === 'string' && value !== '') secrets[key] = value
  }
  return { values, secrets }
}

function nonEmpty(raw: RawValue, key: ConfigKey): string {
  if (raw.value.trim() === '') throw new ConfigError(key, raw.source, 'must not be empty')
  return raw.value
}

function parseBoolean(raw: RawValue, key: ConfigKey): boolean {
  const value = raw.value.trim().toLowerCase()
  if (value === '1' || value === 'true') return true
  if (value === '0' || value === 'false') return false
  throw new ConfigError(key, raw.source, `"${raw.value}" is not a boolean; use 0, 1, true or false`)
}

function parseInteger(raw: RawValue, key: ConfigKey, min: number): number {
  const value = raw.value.trim()
  if (!/^-?\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new ConfigError(key, raw.source, `"${raw.value}" is not an integer >= ${min}`)
  }
  return Number(value)
}

function parseDatabaseUrl(raw: RawValue, key: ConfigKey): DatabaseTarget {
  const value = raw.value.trim()
  const shown = redactUrlPassword(value)
  if (value === '') throw new ConfigError(key, raw.source, 'must not be empty; use "none" to turn tracking off')
  if (value === 'none') return { kind: 'none' }
  if (/^postgres(ql)?:\/\//i.test(value)) {
    try {
      const url = new URL(value)
      if (url.hostname === '' && !url.searchParams.has('host')) throw new Error('no host')
    } catch {
      throw new ConfigError(key, raw.source, `"${shown}" is not a valid PostgreSQL URL; expected postgres://user:password@host:5432/database`)
    }
    return { kind: 'postgres', url: value }
  }
  if (value.startsWith('sqlite://')) {
    // sqlite:///abs/path.db: the path after the scheme's `//` is absolute.
    const file = value.slice('sqlite://'.length)
    if (!file.startsWith('/')) {
      throw new ConfigError(key, raw.source, `"${shown}" must be sqlite:///absolute/path.db or sqlite:relative/path.db`)
    }
    return { kind: 'sqlite', path: file }
  }
  if (value.startsWith('sqlite:')) {
    const file = value.slice('sqlite:'.length)
    if (file === '') throw new ConfigError(key, raw.source, 'sqlite: needs a file path, e.g. sqlite:.wtflow/wtflow.db')
    return { kind: 'sqlite', path: path.resolve(raw.baseDir, file) }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new ConfigError(key, raw.source, `unsupported database URL "${shown}"; use sqlite:PATH, a file path, postgres://… or none`)
  }
  return { kind: 'sqlite', path: path.resolve(raw.baseDir, value) }
}
