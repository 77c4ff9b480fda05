/**
 * A node's declared `artifacts`: a file (stored by its file name), a directory (every file under
 * it, stored as `<dir name>/<path inside>`), or a glob (`reports/*.xml`, `coverage/**`: every
 * matching file, stored by its path relative to the node's working directory).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { glob } from 'tinyglobby'

const GLOB_CHARS = /[*?[\]{}]/

export function isGlob(entry: string): boolean {
  return GLOB_CHARS.test(entry)
}

/** Files of a declared entry, by artifact name (sorted); throws when there is none. */
export async function declaredFiles(cwd: string, entry: string): Promise<Array<{ name: string; source: string }>> {
  if (isGlob(entry)) {
    const matches = await glob(entry, { cwd, onlyFiles: true, dot: true, expandDirectories: false })
    if (matches.length === 0) throw new Error(`no file matches ${entry}`)
    return matches.sort().map(match => ({ name: storedName(match), source: path.resolve(cwd, match) }))
  }
  const source = path.resolve(cwd, entry)
  const stat = await fs.stat(source)
  if (!stat.isDirectory()) return [{ name: path.basename(entry), source }]
  const inside = await glob('**/*', { cwd: source, onlyFiles: true, dot: true })
  if (inside.length === 0) throw new Error(`the directory ${entry} is empty`)
  const base = path.basename(source)
  return inside.sort().map(file => ({ name: `${base}/${file}`, source: path.join(source, file) }))
}

/** A path relative to the working directory as an artifact name: no `..` or `.` segments, `/` separated. */
function storedName(relative: string): string {
  return relative
    .split(/[\\/]/)
    .filter(segment => segment !== '..' && segment !== '.' && segment !== '')
    .join('/')
}
