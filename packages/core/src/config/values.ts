import { availableParallelism } from 'node:os'
import path from 'node:path'
import { ConfigError } from '../errors/errors.js'

/** A configuration value as found, before it is parsed. */
export interface RawValue {
  value: string
  /** `default`, `environment variable X`, `file:line` or `option`. */
  source: string
  /** Directory relative paths in this value are resolved from. */
  baseDir: string
}

/** Where run history goes. Parsed from `WTFLOW_DB_URL` / `[database] url`. */
export type DatabaseTarget =
  | { kind: 'none' }
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string }

export function parsePath(raw: RawValue, key: string): string {
  if (raw.value.trim() === '') throw new ConfigError(key, raw.source, 'must not be empty')
  return path.resolve(raw.baseDir, raw.value)
}

export function parseBoolean(raw: RawValue, key: string): boolean {
  const value = raw.value.trim().toLowerCase()
  if (value === '1' || value === 'true') return true
  if (value === '0' || value === 'false') return false
  throw new ConfigError(key, raw.source, `"${raw.value}" is not a boolean; use 0, 1, true or false`)
}

/** One of a few words (case-insensitive). */
export function oneOf<const T extends string>(values: readonly T[]): (raw: RawValue, key: string) => T {
  return (raw, key) => {
    const value = raw.value.trim().toLowerCase()
    if ((values as readonly string[]).includes(value)) return value as T
    throw new ConfigError(key, raw.source, `"${raw.value}" is not one of ${values.join(', ')}`)
  }
}

export function integerAtLeast(min: number): (raw: RawValue, key: string) => number {
  return (raw, key) => {
    const value = raw.value.trim()
    if (!/^-?\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
      throw new ConfigError(key, raw.source, `"${raw.value}" is not an integer >= ${min}`)
    }
    return Number(value)
  }
}

/** `auto` (the number of CPUs, `os.availableParallelism()`) or an integer >= 1. */
export function parseCpuCount(raw: RawValue, key: string): number {
  if (raw.value.trim().toLowerCase() === 'auto') return availableParallelism()
  return integerAtLeast(1)(raw, key)
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

export function parseDatabaseUrl(raw: RawValue, key: string): DatabaseTarget {
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

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** `30d`, `12h`, `90m`, `45s`, `2w` in milliseconds; null for anything else. */
export function durationMs(text: string): number | null {
  const match = /^(\d+)\s*([smhdw])$/.exec(text.trim())
  if (match === null) return null
  const ms = Number(match[1]) * DURATION_UNITS[match[2]!]!
  return Number.isSafeInteger(ms) ? ms : null
}

/** A duration (`30d`), or empty for none. */
export function parseOptionalDuration(raw: RawValue, key: string): number | null {
  if (raw.value.trim() === '') return null
  const ms = durationMs(raw.value)
  if (ms === null) throw new ConfigError(key, raw.source, `"${raw.value}" is not a duration; use a number and a unit: 45s, 90m, 12h, 30d or 2w`)
  return ms
}

/** An integer >= min, or empty for none. */
export function optionalIntegerAtLeast(min: number): (raw: RawValue, key: string) => number | null {
  const parse = integerAtLeast(min)
  return (raw, key) => (raw.value.trim() === '' ? null : parse(raw, key))
}
