import { createHash, type Hash } from 'node:crypto'
import { closeSync, openSync, writeSync } from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import fs from 'fs-extra'
import type { ArtifactInfo } from './interfaces.js'
import { StreamRedactor } from './redactor.js'

/** File names the engine writes in every node directory; child directories never take them. */
export const RESERVED_FILE_NAMES = ['stdout.log', 'stderr.log', 'result.json'] as const

/**
 * Encodes a node name as one directory name that cannot leave its parent: `/`, `\`, `%`,
 * control characters and a leading `.` are percent-encoded (so `.`, `..`, `../../x` stay
 * inside), reserved file names are escaped, and over-long names are shortened with a hash.
 * The encoding is injective: two different names never share a directory.
 */
export function encodePathSegment(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be encoded
  let encoded = name.replace(/[%/\\\u0000-\u001f\u007f]/g, ch => `%${ch.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`)
  if (encoded.startsWith('.')) encoded = `%2E${encoded.slice(1)}`
  if (encoded === '') encoded = '%'
  if ((RESERVED_FILE_NAMES as readonly string[]).includes(encoded) || /^attempt-\d+$/.test(encoded)) {
    encoded = `%${encoded.charCodeAt(0).toString(16).toUpperCase()}${encoded.slice(1)}`
  }
  if (Buffer.byteLength(encoded) > 200) {
    const digest = createHash('sha256').update(name).digest('hex').slice(0, 16)
    encoded = `${Buffer.from(encoded).subarray(0, 180).toString('utf8').replace(/\uFFFD+$/, '')}%~${digest}`
  }
  return encoded
}

/** Where a run's and a node's artifacts live: `<artifacts_dir>/<run id>/<encoded node path>/`. */
export class ArtifactStore {
  constructor(readonly artifactsDir: string) {}

  runDir(runId: string): string {
    return path.join(this.artifactsDir, encodePathSegment(runId))
  }

  /** Creates the run's directory; fails if it exists, so two runs can never share one. */
  async createRunDir(runId: string): Promise<string> {
    const dir = this.runDir(runId)
    await fs.ensureDir(this.artifactsDir)
    await fs.mkdir(dir)
    return dir
  }

  nodeDir(runDir: string, pathSegments: readonly string[]): string {
    const dir = path.join(runDir, ...pathSegments.map(encodePathSegment))
    // Belt and braces: encoding already guarantees this.
    if (!dir.startsWith(runDir + path.sep)) throw new Error(`node directory escapes the run directory: ${dir}`)
    return dir
  }
}

/**
 * A Writable that streams one artifact to disk as it is produced: secrets masked, size and
 * sha256 computed on the way, constant memory (backpressure reaches the producer).
 */
export class ArtifactSink extends Writable {
  readonly name: string
  readonly path: string
  readonly #redactor: StreamRedactor
  readonly #hash: Hash = createHash('sha256')
  readonly #onChunk: ((chunk: Buffer) => void) | undefined
  #fd: number | undefined
  #size = 0
  #info: ArtifactInfo | undefined

  constructor(name: string, filePath: string, secrets: Iterable<string>, onChunk?: (chunk: Buffer) => void) {
    super({ highWaterMark: 64 * 1024, decodeStrings: true })
    this.name = name
    this.path = filePath
    this.#redactor = new StreamRedactor(secrets)
    this.#onChunk = onChunk
  }

  // Writes are synchronous on purpose: they land in the page cache in microseconds, while an
  // async write per chunk through the thread pool halves the throughput of large outputs.
  override _construct(callback: (error?: Error | null) => void): void {
    this.#attempt(() => (this.#fd = openSync(this.path, 'w')), callback)
  }

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
      this.#close()
      this.#info = { name: this.name, path: this.path, size: this.#size, sha256: this.#hash.digest('hex') }
    }, callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#attempt(() => this.#close(), () => callback(error))
  }

  /** Ends the stream and resolves to the artifact's record once every byte is on disk. */
  async finish(): Promise<ArtifactInfo> {
    if (this.#info) return this.#info
    await new Promise<void>((resolve, reject) => {
      this.once('error', reject)
      this.end(() => resolve())
    })
    if (!this.#info) throw new Error(`artifact ${this.path} was not completed`)
    return this.#info
  }

  #append(data: Buffer): void {
    if (data.length === 0) return
    this.#hash.update(data)
    this.#size += data.length
    this.#onChunk?.(data)
    let offset = 0
    while (offset < data.length) offset += writeSync(this.#fd!, data, offset, data.length - offset)
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
  const sink = new ArtifactSink(name, target, secrets)
  await pipeline(fs.createReadStream(source), sink)
  return sink.finish()
}
