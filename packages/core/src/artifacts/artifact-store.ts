import { createHash, type Hash } from 'node:crypto'
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import fs from 'fs-extra'
import type { ArtifactInfo } from '../interfaces.js'
import { StreamRedactor } from './redactor.js'

/** Directory paths longer than this (bytes) move to `%deep/`, leaving room for file names. */
const DEEP_PATH_LIMIT = 3800

/** File names the engine writes in every node directory; child directories never take them. */
export const RESERVED_FILE_NAMES = ['stdout.log', 'stderr.log', 'result.json'] as const
const RESERVED_SEGMENTS: ReadonlySet<string> = new Set(RESERVED_FILE_NAMES)
const ATTEMPT_SEGMENT = /^attempt-\d+$/
/** ASCII names the general encoding leaves as they are (no `%`, `/`, `\`, control or leading `.`; ≤ 200 bytes). */
const PLAIN_SEGMENT = /^[\w-][\w .,+=@()[\]-]{0,199}$/

/**
 * Encodes a node name as one directory name that cannot leave its parent: `/`, `\`, `%`,
 * control characters and a leading `.` are percent-encoded (so `.`, `..`, `../../x` stay
 * inside), reserved file names are escaped, and over-long names are shortened with a hash.
 * The encoding is injective: two different names never share a directory.
 */
export function encodePathSegment(name: string): string {
  // Most names need nothing: one regex test instead of the general path below.
  if (PLAIN_SEGMENT.test(name) && !RESERVED_SEGMENTS.has(name) && !ATTEMPT_SEGMENT.test(name)) return name
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be encoded
  let encoded = name.replace(/[%/\\\u0000-\u001f\u007f]/g, ch => `%${ch.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`)
  if (encoded.startsWith('.')) encoded = `%2E${encoded.slice(1)}`
  if (encoded === '') encoded = '%'
  if (RESERVED_SEGMENTS.has(encoded) || ATTEMPT_SEGMENT.test(encoded)) {
    encoded = `%${encoded.charCodeAt(0).toString(16).toUpperCase()}${encoded.slice(1)}`
  }
  if (Buffer.byteLength(encoded) > 200) {
    const digest = createHash('sha256').update(name).digest('hex').slice(0, 16)
    encoded = `${Buffer.from(encoded).subarray(0, 180).toString('utf8').replace(/\uFFFD+$/, '')}%~${digest}`
  }
  return encoded
}

/**
 * `dir/name` for a directory of the store (absolute, normalized) and one name that is already
 * safe: an encoded segment or a file name of ours. `path.join` would normalize the whole path
 * again, segment by segment, which costs real memory in trees a thousand levels deep.
 */
export function fileIn(dir: string, name: string): string {
  return `${dir}${path.sep}${name}`
}

/** The directory of a node's artifacts in a run: `nodeArtifactDir(runDir, 'Root/Build')`. */
export function nodeArtifactDir(runDir: string, nodePath: string): string {
  return new ArtifactStore(path.dirname(runDir)).nodeDir(runDir, nodePath.split('/'))
}

/** Where a run's and a node's artifacts live: `<artifacts_dir>/<run id>/<encoded node path>/`. */
export class ArtifactStore {
  constructor(readonly artifactsDir: string) {}

  runDir(runId: string): string {
    return path.join(this.artifactsDir, encodePathSegment(runId))
  }

  /**
   * Where output written straight by a child process waits until its first byte
   * (see `ArtifactSink.openDirect`). No node directory can be named `%spool`: `%` is encoded.
   */
  spoolDir(runDir: string): string {
    return path.join(runDir, '%spool')
  }

  /**
   * Creates the run's directory; fails if it exists, so two runs can never share one.
   * Synchronous: two mkdirs take microseconds, while the thread pool's first round trip, at the
   * start of a run whose worker threads are booting, took milliseconds.
   */
  createRunDir(runId: string): string {
    const dir = this.runDir(runId)
    mkdirSync(this.artifactsDir, { recursive: true })
    mkdirSync(dir)
    return dir
  }

  nodeDir(runDir: string, pathSegments: readonly string[]): string {
    let dir = runDir
    let nodePath = ''
    for (const name of pathSegments) {
      nodePath = nodePath === '' ? name : `${nodePath}/${name}`
      dir = this.childDir(runDir, dir, nodePath, name)
    }
    return dir
  }

  /**
   * The directory of a node given its parent's. A tree so deep that the path would near the
   * OS limit (4096 bytes) continues under `<run dir>/%deep/<sha256 of the node path>`.
   */
  childDir(runDir: string, parentDir: string, nodePath: string, name: string): string {
    let dir = fileIn(parentDir, encodePathSegment(name))
    if (Buffer.byteLength(dir) > DEEP_PATH_LIMIT) {
      dir = path.join(runDir, '%deep', createHash('sha256').update(nodePath).digest('hex').slice(0, 32))
    }
    // Belt and braces: encoding already guarantees this.
    if (!dir.startsWith(runDir + path.sep)) throw new Error(`node directory escapes the run directory: ${dir}`)
    return dir
  }
}

/** Reads of the direct-mode tail: small enough to be hashed from the CPU cache. */
const TAIL_CHUNK_BYTES = 256 * 1024
/** Most one pass of the tail reads before it yields to the event loop. */
const TAIL_PASS_BYTES = 16 * 1024 * 1024

/** The reader that follows a file written directly by a child process. */
interface DirectTail {
  /** The file the child writes to until it is moved to the artifact's path. */
  spoolPath: string
  /** True once the file is at the artifact's path (from its first byte on). */
  placed: boolean
  /** Our copy of the descriptor the child writes to: fstat tells how far it got. */
  writeFd: number
  /** Opened once there is something to read (most commands print nothing). */
  readFd: number | undefined
  /** Set once the writer is done: read to the end, then stop. */
  done: boolean
  /** Cuts short the pause between two reads. */
  wake: (() => void) | null
  tail: Promise<void>
}

/**
 * Directories artifacts were recently opened in: a node's second file (its result after its
 * stdout) skips the mkdir, a synchronous call on the event loop's thread that a run of many
 * small nodes (Http requests) pays per file. Bounded: cleared when full.
 */
const madeDirs = new Set<string>()
const MADE_DIRS_KEPT = 1024

/**
 * A Writable that streams one artifact to disk as it is produced: secrets masked, size and
 * sha256 computed on the way, constant memory (backpressure reaches the producer).
 *
 * The file (and its directories) are created with the first byte: on some disks a mkdir and
 * two opens cost more than running a no-op node, and most nodes print nothing on stderr.
 * `finish()` resolves to null for an artifact that never got a byte, unless `createEmpty`.
 */
export class ArtifactSink extends Writable {
  readonly name: string
  readonly path: string
  readonly #redactor: StreamRedactor
  #hash: Hash | undefined
  readonly #onChunk: ((chunk: Buffer) => void) | undefined
  readonly #createEmpty: boolean
  #fd: number | undefined
  #size = 0
  #info: ArtifactInfo | null | undefined
  /** The first write error; kept so that finish() can report it (and no 'error' goes unheard). */
  #failure: Error | undefined
  /** Direct mode: the hashing tail of a file a child process writes itself. */
  #direct: DirectTail | undefined

  constructor(name: string, filePath: string, secrets: Iterable<string>, options: { onChunk?: (chunk: Buffer) => void; createEmpty?: boolean } = {}) {
    super({ highWaterMark: 64 * 1024, decodeStrings: true })
    this.name = name
    this.path = filePath
    this.#redactor = new StreamRedactor(secrets)
    this.#onChunk = options.onChunk
    this.#createEmpty = options.createEmpty ?? false
    this.on('error', error => (this.#failure ??= error))
  }

  // Writes are synchronous on purpose: they land in the page cache in microseconds, while an
  // async write per chunk through the thread pool halves the throughput of large outputs.
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#attempt(() => this.#append(this.#redactor.push(chunk)), callback)
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.#attempt(() => {
      for (const { chunk } of chunks) this.#append(this.#redactor.push(chunk))
    }, callback)
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#attempt(() => {
      this.#append(this.#redactor.end())
      if (this.#fd === undefined && this.#createEmpty) this.#open()
      const written = this.#fd !== undefined
      this.#close()
      this.#info = written ? { name: this.name, path: this.path, size: this.#size, sha256: this.#hashOf().digest('hex') } : null
    }, callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#attempt(() => this.#close(), () => callback(error))
  }

  /**
   * Direct mode, for output nobody needs to see on its way (no secrets to mask, no listeners):
   * returns a file descriptor for a child process to write to, as a shell's `> file` would —
   * no copy through this process. The file is read back behind the writer to compute size and
   * sha256. Call before any write; `finish()` once the writer is done.
   *
   * The file is created as `spoolPath`, in a small directory of the run, and moved to the
   * artifact's path (a cheap rename; the child's descriptor stays valid) as soon as it has a
   * byte: creating names in a node's directory, deep in the tree or among a thousand siblings,
   * costs far more on some disks, and most commands print nothing on stdout.
   */
  openDirect(spoolPath: string): number {
    if (this.#fd !== undefined || this.#direct !== undefined) throw new Error(`artifact ${this.path} is already open`)
    const writeFd = openSync(spoolPath, 'w')
    const direct: DirectTail = { spoolPath, placed: false, writeFd, readFd: undefined, done: false, wake: null, tail: Promise.resolve() }
    this.#direct = direct
    direct.tail = this.#tail(direct)
    // Awaited by finish(); until then a failure must not count as unhandled.
    direct.tail.catch(() => {})
    return writeFd
  }

  /** Moves a direct-mode file from the spool to the artifact's path. */
  #place(direct: DirectTail): void {
    if (direct.placed) return
    mkdirSync(path.dirname(this.path), { recursive: true })
    renameSync(direct.spoolPath, this.path)
    direct.placed = true
  }

  async #tail(direct: DirectTail): Promise<void> {
    let buffer: Buffer | undefined
    let pause = 5
    let behind = false
    for (;;) {
      if (behind) {
        // The last pass stopped at its budget with more to read: let the event loop run, then go on.
        await new Promise<void>(resolve => setImmediate(resolve))
      } else if (!direct.done) {
        // Wait a little longer each time nothing came, or until finish() says the writer is done.
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, pause)
          direct.wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        direct.wake = null
      }
      // Decided before fstat: if the writer finishes during this pass, one more pass follows.
      const finalPass = direct.done
      const written = fstatSync(direct.writeFd).size
      const before = this.#size
      if (written > 0) this.#place(direct)
      // Synchronous reads of what was just written come from the page cache: a thread-pool
      // round trip per read cost more CPU than the reads themselves (bench/README.md). A chunk
      // that fits the CPU cache is hashed while hot, and a pass reads at most TAIL_PASS_BYTES
      // before it lets other work run.
      const budget = Math.min(written, before + TAIL_PASS_BYTES)
      let ended = false
      while (this.#size < budget) {
        buffer ??= Buffer.allocUnsafe(TAIL_CHUNK_BYTES)
        direct.readFd ??= openSync(this.path, 'r')
        const bytesRead = readSync(direct.readFd, buffer, 0, Math.min(buffer.length, budget - this.#size), this.#size)
        if (bytesRead === 0) {
          ended = true // shorter than fstat said (truncated): the next pass looks again
          break
        }
        this.#hashOf().update(buffer.subarray(0, bytesRead))
        this.#size += bytesRead
      }
      behind = !ended && this.#size < written
      if (behind) continue
      if (finalPass) return
      // While the writer writes, come back soon, but not at once: reading right behind it would
      // take its output in small pieces, a syscall and a hash call each.
      pause = this.#size > before ? 2 : Math.min(pause * 2, 200)
    }
  }

  /** Ends the stream; resolves to the artifact's record once every byte is on disk (null if none). */
  async finish(): Promise<ArtifactInfo | null> {
    if (this.#info !== undefined) return this.#info
    if (this.#failure !== undefined) throw this.#failure
    const direct = this.#direct
    if (direct !== undefined) {
      direct.done = true
      direct.wake?.()
      try {
        await direct.tail
        // The tail moved a file with its first byte; an empty one moves only when asked for.
        if (this.#createEmpty) this.#place(direct)
      } finally {
        // A silent command's file goes. Output that could not be moved stays in the spool (the
        // error, which names both paths, fails the node): nothing printed is thrown away.
        const silent = !direct.placed && fstatSync(direct.writeFd).size === 0
        closeSync(direct.writeFd)
        if (direct.readFd !== undefined) closeSync(direct.readFd)
        if (silent) unlinkSync(direct.spoolPath)
      }
      this.#info = direct.placed ? { name: this.name, path: this.path, size: this.#size, sha256: this.#hashOf().digest('hex') } : null
      return this.#info
    }
    await new Promise<void>((resolve, reject) => {
      this.once('error', reject)
      this.end(() => resolve())
    })
    if (this.#info === undefined) throw this.#failure ?? new Error(`artifact ${this.path} was not completed`)
    return this.#info
  }

  #open(): void {
    const dir = path.dirname(this.path)
    if (madeDirs.has(dir)) {
      try {
        this.#fd = openSync(this.path, 'w')
        return
      } catch (error) {
        // Removed since: make it again.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      }
    }
    mkdirSync(dir, { recursive: true })
    if (madeDirs.size >= MADE_DIRS_KEPT) madeDirs.clear()
    madeDirs.add(dir)
    this.#fd = openSync(this.path, 'w')
  }

  #append(data: Buffer): void {
    if (data.length === 0) return
    if (this.#fd === undefined) this.#open()
    this.#hashOf().update(data)
    this.#size += data.length
    this.#onChunk?.(data)
    let offset = 0
    while (offset < data.length) offset += writeSync(this.#fd!, data, offset, data.length - offset)
  }

  #hashOf(): Hash {
    return (this.#hash ??= createHash('sha256'))
  }

  #close(): void {
    if (this.#fd === undefined) return
    const fd = this.#fd
    this.#fd = undefined
    closeSync(fd)
  }

  #attempt(action: () => void, callback: (error?: Error | null) => void): void {
    try {
      action()
    } catch (error) {
      return callback(error as Error)
    }
    callback()
  }
}

/** Copies a file into the store through the same redaction and hashing as streamed output. */
export async function collectFile(name: string, source: string, target: string, secrets: Iterable<string>): Promise<ArtifactInfo> {
  const sink = new ArtifactSink(name, target, secrets, { createEmpty: true })
  await pipeline(fs.createReadStream(source), sink)
  return (await sink.finish())!
}

/** The record of an empty artifact, creating its file: for a reference to a node that printed nothing. */
export async function emptyArtifact(name: string, target: string): Promise<ArtifactInfo> {
  await fs.ensureDir(path.dirname(target))
  await fs.writeFile(target, '')
  return { name, path: target, size: 0, sha256: createHash('sha256').digest('hex') }
}
