/**
 * Caching across runs (`cache` on a node): the key of a node, and what the engine asks of a
 * cache store (`@wtflow/db` keeps one in run history; core has no SQL).
 */
import { createHash, hash } from 'node:crypto'
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs'
import { glob } from 'tinyglobby'
import type { ArtifactInfo } from '../interfaces.js'
import type { CacheOptions, WhenContext } from '../model/node.js'

/** One entry: a node that succeeded with this key. */
export interface CacheEntry {
  key: string
  workflow: string
  path: string
  runId: string
  createdAt: Date
  /** sha256 of each key part, by name (never a value in clear). */
  parts: Record<string, string>
  exitCode: number | null
  artifacts: ArtifactInfo[]
}

/** Where entries live (`HistoryDatabase.cacheStore()`). */
export interface CacheStore {
  /** The entry with this key made within `ttlMs` (null: any age), or null. */
  lookup(key: string, ttlMs: number | null): Promise<CacheEntry | null>
  /** The newest entry of the same workflow and node path: what `explain` compares with on a miss. */
  latest(workflow: string, path: string): Promise<CacheEntry | null>
  /** Stores an entry; with `replace: false` an existing entry of the key is kept (one entry per key). */
  store(entry: CacheEntry, options: { replace: boolean }): Promise<void>
}

/** `RunOptions.cache`. */
export interface RunCache {
  store: CacheStore
  /** `use` (default): hits are reused; `refresh`: every cached node runs and overwrites its entry. */
  mode?: 'use' | 'refresh'
  /** Told about what a user should know (a `files` glob that matched nothing). */
  onWarning?: (message: string) => void
}

/** What a node's result says of its cache key (`NodeResult.cache`). */
export interface NodeCacheInfo {
  key: string
  parts: Record<string, string>
  hit: boolean
  /** The entry this key was compared with: the hit, or on a miss the newest entry of the node; null if none. */
  comparedWith: { key: string; runId: string; parts: Record<string, string> } | null
}

export interface KeyInputs {
  definition: string
  /** Each referenced node's artifacts by sha256 (results are `result.json`, so JSON by hash). */
  inputs: Record<string, string>
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  options: CacheOptions
  whenContext: WhenContext
  warn: (message: string) => void
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex')

/** The key parts (each a sha256) and the key (sha256 of them all). */
export async function cacheKey(k: KeyInputs): Promise<{ key: string; parts: Record<string, string> }> {
  const parts: Record<string, string> = { definition: k.definition }
  for (const [name, hash] of Object.entries(k.inputs).sort(([a], [b]) => a.localeCompare(b))) parts[`input:${name}`] = hash
  if (k.options.files !== undefined) {
    for (const [pattern, hash] of Object.entries(await hashFiles(k.options.files, k.cwd, k.warn))) parts[`files:${pattern}`] = hash
  }
  for (const name of k.options.env ?? []) parts[`env:${name}`] = sha(JSON.stringify(k.env[name] ?? null))
  if (k.options.key !== undefined) {
    const key = typeof k.options.key === 'function' ? await k.options.key(k.whenContext) : k.options.key
    parts.key = sha(String(key))
  }
  return { key: sha(JSON.stringify(Object.entries(parts))), parts }
}

/** Per glob: sha256 over the sorted matching files' relative paths and contents. */
export async function hashFiles(patterns: readonly string[], cwd: string, warn: (message: string) => void): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {}
  for (const pattern of patterns) {
    const files = (await glob(pattern, { cwd, onlyFiles: true, dot: true, followSymbolicLinks: true })).sort()
    if (files.length === 0) warn(`cache.files glob "${pattern}" matches no file in ${cwd}`)
    const all = createHash('sha256')
    for (let i = 0; i < files.length; i += SYNC_BATCH) {
      // Small files are read synchronously, a batch at a time, then the event loop gets a turn:
      // a thread-pool round trip per open/stat/read/close cost 3× `sha256sum` (bench/README.md).
      for (const file of files.slice(i, i + SYNC_BATCH)) all.update(`${file}\0${await hashFile(`${cwd}/${file}`)}\0`)
      await new Promise(resolve => setImmediate(resolve))
    }
    hashes[pattern] = all.digest('hex')
  }
  return hashes
}

/** Small files in one synchronous read (most inputs are); big ones streamed, so memory stays flat. */
function hashFile(file: string): string | Promise<string> {
  const fd = openSync(file, 'r')
  try {
    const { size } = fstatSync(fd)
    if (size <= ONE_READ_BYTES) {
      const buffer = Buffer.allocUnsafe(size)
      let read = 0
      while (read < size) {
        const bytesRead = readSync(fd, buffer, read, size - read, read)
        if (bytesRead === 0) break
        read += bytesRead
      }
      // The one-shot hash: no Hash object per file.
      return hash('sha256', buffer.subarray(0, read))
    }
  } finally {
    closeSync(fd)
  }
  return hashStream(file)
}

const ONE_READ_BYTES = 1024 * 1024
const SYNC_BATCH = 64

function hashStream(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(file)
      .on('data', chunk => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}
