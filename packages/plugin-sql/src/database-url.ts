import path from 'node:path'

/** Where a query goes: a SQLite file or a PostgreSQL server. */
export type SqlTarget = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string }

/**
 * Reads a database URL: `sqlite:relative/path.db` (relative to `cwd`), `sqlite:///abs/path.db`,
 * `sqlite::memory:`, or `postgres://…` / `postgresql://…`. Throws an Error saying what is accepted.
 */
export function parseSqlUrl(url: string, cwd: string): SqlTarget {
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url }
  if (url === 'sqlite::memory:') return { kind: 'sqlite', file: ':memory:' }
  if (url.startsWith('sqlite://')) {
    const file = url.slice('sqlite://'.length)
    if (!file.startsWith('/')) throw new Error(`"${url}" must be sqlite:///absolute/path.db or sqlite:relative/path.db`)
    return { kind: 'sqlite', file }
  }
  if (url.startsWith('sqlite:') && url.length > 'sqlite:'.length) return { kind: 'sqlite', file: path.resolve(cwd, url.slice('sqlite:'.length)) }
  throw new Error(`unsupported database URL "${showUrl(url)}"; use sqlite:PATH, sqlite:///ABSOLUTE/PATH, sqlite::memory: or postgres://USER@HOST/DB`)
}

/** A URL as it may be shown: no password. */
export function showUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password === '') return url
    parsed.password = '***'
    return parsed.href
  } catch {
    return url.replace(/(\/\/[^/:@\s]*:)[^/@\s]*@/, '$1***@')
  }
}

/** The password of a URL, if it has one (to be masked wherever the run shows text). */
export function passwordOf(url: string): string | null {
  try {
    const password = new URL(url).password
    return password === '' ? null : decodeURIComponent(password)
  } catch {
    return null
  }
}
