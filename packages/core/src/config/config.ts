import fs from 'node:fs'
import path from 'node:path'
import { ConfigError } from '../errors/errors.js'
import { parseIni, type IniContents } from './ini.js'
import { KEY_FIELDS, KEY_SPECS, keyName, optionName, type ConfigKey, type KeySpec, type KeyValues, type OutputLogsMode } from './keys.js'
import type { RawValue } from './values.js'

export type { ConfigKey, OutputLogsMode } from './keys.js'
export type { DatabaseTarget } from './values.js'

/** The effective configuration: one field per key of the table (see `CONFIG_KEYS`), plus secrets and provenance. */
export interface WtflowConfig extends KeyValues {
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
  maxFuncs?: number
  killGraceMs?: number
  workerMemoryMb?: number
  outputLogs?: OutputLogsMode
  maxRuns?: number
  retentionOlderThan?: string
  retentionKeepLast?: number
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

/** The keys wtflow reads, for docs and `--help`: `section.key`, environment variable, default, doc. */
export const CONFIG_KEYS: ReadonlyArray<{ key: ConfigKey; env: string; default: string; doc: string; accepts: string | null }> = KEY_FIELDS.map(field => {
  const spec = KEY_SPECS[field] as KeySpec<unknown>
  return { key: keyName(field), env: spec.env, default: spec.default, doc: spec.doc, accepts: spec.accepts ?? null }
})

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
  const ini: IniContents | null = configFile === null ? null : parseIni(fs.readFileSync(configFile, 'utf8'), configFile)
  const overrides = (options.overrides ?? {}) as Record<string, unknown>

  const config = { secrets: { ...(ini?.secrets ?? {}), ...(options.overrides?.secrets ?? {}) }, configFile, sources: {} } as WtflowConfig
  const values = config as unknown as Record<string, unknown>
  for (const field of KEY_FIELDS) {
    const spec = KEY_SPECS[field] as KeySpec<unknown>
    let chosen: RawValue = ini?.values.get(field) ?? { value: spec.default, source: 'default', baseDir: cwd }
    const fromEnv = env[spec.env]
    if (fromEnv !== undefined && fromEnv !== '') chosen = { value: fromEnv, source: `environment variable ${spec.env}`, baseDir: cwd }
    const override = overrides[optionName(field)]
    if (override !== undefined && typeof override !== 'object') chosen = { value: String(override), source: 'option', baseDir: cwd }
    const name = keyName(field)
    values[field] = spec.parse(chosen, name)
    config.sources[name] = chosen.source
  }
  return config
}

/** The effective configuration for display and history: no secrets, no passwords. */
export function describeConfig(config: WtflowConfig): Record<string, string | number | boolean> {
  const described: Record<string, string | number | boolean> = {}
  for (const field of KEY_FIELDS) {
    const spec = KEY_SPECS[field] as KeySpec<unknown>
    const value = config[field] as unknown
    described[keyName(field)] = spec.show !== undefined ? spec.show(value) : (value as string | number | boolean)
  }
  described.secrets = Object.keys(config.secrets).length
  return described
}

function findConfigFile(cwd: string, env: Readonly<Record<string, string | undefined>>, explicit: string | undefined): string | null {
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
