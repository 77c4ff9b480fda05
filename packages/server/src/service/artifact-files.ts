import fs from 'node:fs/promises'
import path from 'node:path'
import { nodeArtifactDir } from '@wtflow/core/internal'
import { ServerError } from '../errors.js'

/**
 * Whether `file` is inside the artifact store, symbolic links resolved: history rows name the
 * files the routes serve, and no row (damaged, or written with another `artifacts_dir`) may
 * make the server read anything else. A file that does not exist yet (a log about to be
 * written) is judged by its directory's real path.
 */
export async function insideStore(artifactsDir: string, file: string): Promise<boolean> {
  if (!path.isAbsolute(file)) return false
  const root = await fs.realpath(artifactsDir).catch(() => path.resolve(artifactsDir))
  let real: string
  try {
    real = await fs.realpath(file)
  } catch {
    // Not there (yet): the nearest existing ancestor decides, and the rest must not climb.
    const normal = path.normalize(file)
    if (normal !== file) return false
    let dir = path.dirname(normal)
    let rest = path.basename(normal)
    for (;;) {
      try {
        real = path.join(await fs.realpath(dir), rest)
        break
      } catch {
        const parent = path.dirname(dir)
        if (parent === dir) return false
        rest = path.join(path.basename(dir), rest)
        dir = parent
      }
    }
  }
  return real.startsWith(root + path.sep)
}

/** The same, as a 404 that says nothing about the file system. */
export async function assertInsideStore(artifactsDir: string, file: string, what: string): Promise<void> {
  if (!(await insideStore(artifactsDir, file))) {
    throw new ServerError('WTFLOW_SERVER_NOT_FOUND', `${what} is not in this server's artifact store`)
  }
}

/** Where a node's log is while it runs (history records artifacts only once the node ends). */
export function liveLogPath(runDir: string, nodePath: string, stream: 'stdout' | 'stderr'): string {
  return path.join(nodeArtifactDir(runDir, nodePath), `${stream}.log`)
}

/**
 * The length of the longest prefix of `bytes` that ends on a UTF-8 character boundary: a log
 * chunk read at an arbitrary offset may end inside a character, and an SSE event carries text.
 */
export function utf8Boundary(bytes: Uint8Array, length = bytes.length): number {
  // Look at most 3 bytes back for the lead byte of the last character.
  for (let i = length - 1, seen = 1; i >= 0 && i >= length - 4; i--, seen++) {
    const byte = bytes[i]!
    if ((byte & 0xc0) === 0x80) continue // continuation byte
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1
    return needed > seen ? i : length
  }
  return length
}
