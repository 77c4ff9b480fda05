import path from 'node:path'
import { unsafe as iniValue } from 'ini'
import { ConfigError } from '../errors/errors.js'
import { INI_SECTIONS, KEY_FIELDS, KEY_SPECS, type KeyField } from './keys.js'
import type { RawValue } from './values.js'

/** What an INI file sets. */
export interface IniContents {
  values: Map<KeyField, RawValue>
  secrets: Record<string, string>
}

/**
 * Reads an INI file in one pass: each line is checked (`ini` silently ignores broken lines and
 * does not tell lines) and its value decoded by `ini`'s own rules (quotes, `;` and `#` comments,
 * escapes), so values mean what they mean to `ini`.
 */
export function parseIni(text: string, file: string): IniContents {
  const baseDir = path.dirname(file)
  const fieldOf = new Map<string, KeyField>(KEY_FIELDS.map(field => [`${KEY_SPECS[field].section}.${KEY_SPECS[field].key}`, field]))
  const values = new Map<KeyField, RawValue>()
  const secrets: Record<string, string> = {}
  const expected = INI_SECTIONS.map(name => `[${name}]`)
  const expectedList = `${expected.slice(0, -1).join(', ')} or ${expected.at(-1)}`
  let section = ''
  const lines = text.split(/\r?\n/)
  for (let index = 0; index < lines.length; index++) {
    const trimmed = lines[index]!.trim()
    const where = `${file}:${index + 1}`
    if (trimmed === '' || trimmed.startsWith(';') || trimmed.startsWith('#')) continue
    const header = /^\[([^\]]+)\]$/.exec(trimmed)
    if (header) {
      section = header[1]!.trim()
      if (!INI_SECTIONS.includes(section)) throw new ConfigError(`[${section}]`, where, `unknown section; expected ${expectedList}`)
      continue
    }
    const assignment = /^([^=]+?)\s*=(.*)$/.exec(trimmed)
    if (!assignment) {
      throw new ConfigError(section === '' ? 'ini' : `[${section}]`, where, `cannot parse "${trimmed}"; expected "key = value" or "[section]"`)
    }
    const key = assignment[1]!
    if (section === '') throw new ConfigError(key, where, `key outside any section; put it under ${expectedList}`)
    const value = iniValue(assignment[2]!.trim())
    if (section === 'secrets') {
      if (value !== '') secrets[key] = value
      continue
    }
    const field = fieldOf.get(`${section}.${key}`)
    if (field === undefined) {
      const known = KEY_FIELDS.filter(f => KEY_SPECS[f].section === section).map(f => KEY_SPECS[f].key)
      throw new ConfigError(`[${section}] ${key}`, where, `unknown key; [${section}] accepts ${known.join(', ')}`)
    }
    values.set(field, { value, source: where, baseDir })
  }
  return { values, secrets }
}
