import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { createInterface } from 'node:readline'
import type { Artifact } from '../../interfaces.js'

/**
 * An artifact file as a Func receives it: metadata at hand, content read lazily on demand.
 * Also handy to unit-test a workflow function without the engine.
 *
 * @example
 * export async function count(log: Artifact) {
 *   let n = 0
 *   for await (const line of log.lines()) if (line.includes('ERROR')) n++
 *   return n
 * }
 * // in a test:
 * expect(await count(await FileArtifact.fromPath('fixtures/build.log'))).toBe(2)
 */
export class FileArtifact implements Artifact {
  /** `stdout`, `stderr`, `result`, or the declared name of an extra file. */
  readonly name: string
  /** Absolute path of the file. */
  readonly path: string
  /** Size in bytes when the consuming node started. */
  readonly size: number

  constructor(name: string, filePath: string, size: number) {
    this.name = name
    this.path = filePath
    this.size = size
  }

  /** An artifact for an existing file; `name` defaults to the file's basename. */
  static async fromPath(filePath: string, name?: string): Promise<FileArtifact> {
    const absolute = path.resolve(filePath)
    const { size } = await stat(absolute)
    return new FileArtifact(name ?? path.basename(absolute), absolute, size)
  }

  /** The whole content, decoded as UTF-8. */
  text(): Promise<string> {
    return readFile(this.path, 'utf8')
  }

  /** The whole content. */
  async bytes(): Promise<Uint8Array> {
    const buffer = await readFile(this.path)
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
  }

  /** The lines (without `\n` or `\r\n`), streamed: memory stays flat whatever the file size. */
  async *lines(): AsyncGenerator<string, void, undefined> {
    const input = createReadStream(this.path, { encoding: 'utf8' })
    const reader = createInterface({ input, crlfDelay: Infinity })
    try {
      yield* reader
    } finally {
      reader.close()
      input.destroy()
    }
  }

  /** The content parsed as JSON (a `result` artifact gives back the upstream return value). */
  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T
  }

  toString(): string {
    return this.path
  }

  toJSON(): { name: string; path: string; size: number } {
    return { name: this.name, path: this.path, size: this.size }
  }
}
