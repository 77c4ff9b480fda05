import { watch, type FSWatcher } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { utf8Boundary } from './artifact-files.js'

export interface LogChunk {
  /** Text of the bytes [start, end) of the file (whole UTF-8 characters). */
  text: string
  start: number
  end: number
}

export interface FollowOptions {
  file: string
  /** Byte offset to start from. */
  offset: number
  /** Resolves when the node has ended (its file will not grow any more). */
  ended: Promise<unknown>
  /** Aborted when the client went away. */
  signal: AbortSignal
  /** Most bytes read (and sent) at once (default 256 KiB). */
  chunkBytes?: number
  /** Safety poll in case a file-system notification is missed (default 500 ms). */
  pollMs?: number
  /**
   * Most bytes the reader may fall behind the end of the file: when more was written since,
   * it skips ahead (a `skip` item) and reads the newest `maxBehind` bytes. For viewers (the
   * web UI) that show the tail of a flood anyway; unset, every byte is read.
   */
  maxBehind?: number
}

export type FollowItem = { kind: 'data'; chunk: LogChunk } | { kind: 'skip'; from: number; to: number } | { kind: 'attempt' } | { kind: 'end' }

/**
 * Follows a log file that grows while its node runs: yields its text from `offset` on as it
 * is written, woken by inotify on the node's directory (the file may not exist yet; a retry
 * moves it aside and starts a new one: `attempt`, then the new file from byte 0), and ends
 * once the node ended and everything is read. Reads stop while the consumer is slow (the
 * generator is pulled), so a slow client costs no memory.
 */
export async function* followLog(options: FollowOptions): AsyncGenerator<FollowItem> {
  const chunkBytes = options.chunkBytes ?? 256 * 1024
  const pollMs = options.pollMs ?? 500
  const buffer = Buffer.alloc(chunkBytes)
  const wake = new Waker(path.dirname(options.file), pollMs, options.signal)
  let ended = false
  void options.ended.then(
    () => {
      ended = true
      wake.wake()
    },
    () => {},
  )
  let handle: fs.FileHandle | null = null
  let ino = -1
  let offset = options.offset
  try {
    for (;;) {
      if (options.signal.aborted) return
      // Read the flag first: anything written before the node ended is on disk by now.
      const endedNow = ended
      const stat = await fs.stat(options.file).catch(() => null)
      if (stat !== null && stat.ino !== ino) {
        if (handle !== null) {
          // The file was moved aside for a retry: finish it, then start the new one.
          for await (const chunk of drain(handle, offset, buffer, true)) {
            offset = chunk.end
            yield { kind: 'data', chunk }
          }
          await handle.close()
          handle = null
          offset = 0
          yield { kind: 'attempt' }
        }
        handle = await fs.open(options.file, 'r').catch(() => null)
        ino = handle === null ? -1 : stat.ino
      }
      if (handle !== null && options.maxBehind !== undefined) {
        const size = (await handle.stat()).size
        if (size - offset > options.maxBehind) {
          // Start at a line: the first line break in the newest maxBehind bytes.
          const from = offset
          const probe = Buffer.alloc(Math.min(4096, options.maxBehind))
          const at = size - options.maxBehind
          const { bytesRead } = await handle.read(probe, 0, probe.length, at)
          const newline = probe.subarray(0, bytesRead).indexOf(10)
          offset = newline === -1 ? at : at + newline + 1
          yield { kind: 'skip', from, to: offset }
        }
      }
      if (handle !== null) {
        for await (const chunk of drain(handle, offset, buffer, endedNow)) {
          offset = chunk.end
          yield { kind: 'data', chunk }
          if (options.signal.aborted) return
        }
      }
      if (endedNow) {
        yield { kind: 'end' }
        return
      }
      await wake.next()
    }
  } finally {
    wake.close()
    await handle?.close()
  }
}

/** Reads from `offset` to the current end; with `final`, a last incomplete character is sent too. */
async function* drain(handle: fs.FileHandle, offset: number, buffer: Buffer, final: boolean): AsyncGenerator<LogChunk> {
  let at = offset
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, at)
    if (bytesRead === 0) return
    const atEnd = bytesRead < buffer.length
    let usable = utf8Boundary(buffer, bytesRead)
    // The last character is incomplete: its next bytes come with the next read (a full
    // buffer) or are not written yet, unless the node ended and they never will be.
    if (usable < bytesRead && atEnd && final) usable = bytesRead
    if (usable === 0) return
    yield { text: buffer.toString('utf8', 0, usable), start: at, end: at + usable }
    at += usable
    if (atEnd && usable < bytesRead) return
  }
}

/**
 * Resolves `next()` when something changed in a directory (inotify through fs.watch), or after
 * `pollMs` (the directory may not exist yet, and notifications can be missed), or on abort.
 */
class Waker {
  #watcher: FSWatcher | null = null
  #pending = false
  #resolve: (() => void) | null = null
  #timer: NodeJS.Timeout | null = null
  readonly #onAbort = () => this.wake()

  constructor(
    readonly dir: string,
    readonly pollMs: number,
    readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', this.#onAbort, { once: true })
    this.#tryWatch()
  }

  #tryWatch(): void {
    if (this.#watcher !== null) return
    try {
      this.#watcher = watch(this.dir, { persistent: false }, () => this.wake())
      this.#watcher.on('error', () => {
        this.#watcher?.close()
        this.#watcher = null
      })
    } catch {
      this.#watcher = null // not there yet: polled until it is
    }
  }

  wake(): void {
    this.#pending = true
    const resolve = this.#resolve
    this.#resolve = null
    resolve?.()
  }

  next(): Promise<void> {
    if (this.#pending || this.signal.aborted) {
      this.#pending = false
      return Promise.resolve()
    }
    return new Promise(resolve => {
      this.#resolve = () => {
        if (this.#timer !== null) clearTimeout(this.#timer)
        this.#timer = null
        this.#pending = false
        resolve()
      }
      this.#timer = setTimeout(() => {
        this.#tryWatch()
        this.wake()
      }, this.#watcher === null ? Math.min(this.pollMs, 100) : this.pollMs)
    })
  }

  close(): void {
    this.signal.removeEventListener('abort', this.#onAbort)
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#watcher?.close()
    this.#watcher = null
    this.#resolve?.()
    this.#resolve = null
  }
}
