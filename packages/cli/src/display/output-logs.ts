/**
 * `--output-logs`: what a run prints of its nodes' output while it goes. `full` streams every
 * line as it is written, prefixed with the node's path; `new` prints each node's output when it
 * ends, `errors` only that of nodes that failed; `--output-logs-grouped` wraps each node's output
 * in `::group::` / `::endgroup::` (CI logs), which needs it whole, so it is printed when the node
 * ends even in `full`.
 */
import { closeSync, openSync, readSync, fstatSync } from 'node:fs'
import { StringDecoder } from 'node:string_decoder'
import { styleText } from 'node:util'
import type { Engine, EngineEventMap, NodeResult, OutputLogsMode } from '@wtflow/core'
import { formatBytes, formatClock, stripAnsi, type Output } from '../terminal.js'

export type OutputLogs = Exclude<OutputLogsMode, 'auto'>

/** `auto`: errors on a terminal (the live tree is there), full elsewhere (CI logs). */
export function resolveOutputLogs(mode: OutputLogsMode, interactive: boolean): OutputLogs {
  return mode === 'auto' ? (interactive ? 'errors' : 'full') : mode
}

/** A node's output printed when it ends is its last this-many bytes per stream, at most. */
const TAIL_BYTES = 1024 * 1024

// Distinct colours per node on a terminal (by ordinal), none of them the status colours' red.
const COLOURS = ['cyan', 'magenta', 'blue', 'green', 'yellow', 'cyanBright', 'magentaBright', 'blueBright', 'greenBright', 'yellowBright'] as const

interface PendingLine {
  decoder: StringDecoder
  rest: string
}

export class OutputPrinter {
  readonly #mode: OutputLogs
  readonly #grouped: boolean
  readonly #out: Output
  readonly #print: (text: string | Uint8Array) => void
  /** Not a terminal: lines are handled as latin1 strings (one byte, one character) and written back as the same bytes: no UTF-8 decoding and encoding of what may be gigabytes. */
  readonly #bytes: boolean
  readonly #pendingBytes = new Map<string, string>()
  readonly #partial = new Map<string, PendingLine>()
  readonly #prefixes = new Map<number, string>()

  constructor(mode: OutputLogs, grouped: boolean, out: Output, print: (text: string | Uint8Array) => void) {
    this.#mode = mode
    this.#grouped = grouped
    this.#out = out
    this.#print = print
    this.#bytes = !out.style.enabled
  }

  /** Subscribes to the engine; returns the unsubscribe function. Nothing at all for `none`. */
  follow(engine: Engine): () => void {
    if (this.#mode === 'none') return () => {}
    const streaming = this.#mode === 'full' && !this.#grouped
    const onOutput = (event: EngineEventMap['node:output']) => this.#chunk(event)
    const onEnd = (event: EngineEventMap['node:end']) => this.#ended(event.ordinal, event.node, streaming)
    // node:output is only emitted (and its chunks only copied) when someone listens.
    if (streaming) engine.on('node:output', onOutput)
    engine.on('node:end', onEnd)
    return () => {
      if (streaming) engine.off('node:output', onOutput)
      engine.off('node:end', onEnd)
    }
  }

  /** `path | ` on a plain stream (with the time), the path coloured per node on a terminal. */
  #prefix(ordinal: number, path: string): string {
    if (!this.#out.style.enabled) return `${path} | `
    let prefix = this.#prefixes.get(ordinal)
    if (prefix === undefined) {
      prefix = `${styleText(COLOURS[ordinal % COLOURS.length]!, path, { validateStream: false })} ${styleText('dim', '│', { validateStream: false })} `
      this.#prefixes.set(ordinal, prefix)
    }
    return prefix
  }

  #chunk({ ordinal, path, stream, chunk }: EngineEventMap['node:output']): void {
    const key = `${ordinal}:${stream}`
    if (this.#bytes) {
      const bytes = chunk as Buffer
      const text = (this.#pendingBytes.get(key) ?? '') + bytes.toString('latin1')
      const last = text.lastIndexOf('\n')
      if (last === -1) {
        this.#pendingBytes.set(key, text)
        return
      }
      this.#pendingBytes.set(key, text.slice(last + 1))
      this.#latin1Lines(path, last === text.length - 1 ? text : text.slice(0, last + 1))
      return
    }
    let partial = this.#partial.get(key)
    if (partial === undefined) this.#partial.set(key, (partial = { decoder: new StringDecoder('utf8'), rest: '' }))
    const text = partial.rest + partial.decoder.write(chunk as Buffer)
    const last = text.lastIndexOf('\n')
    if (last === -1) {
      partial.rest = text
      return
    }
    partial.rest = text.slice(last + 1)
    this.#lines(ordinal, path, text.slice(0, last))
  }

  /** Whole lines as latin1 (ending with a newline), each prefixed with the time and the path; one write. */
  #latin1Lines(path: string, text: string): void {
    const prefix = Buffer.from(`${formatClock(new Date())} ${path} | `, 'utf8').toString('latin1')
    const clean = text.includes('\x1b') ? stripAnsi(text) : text
    // Every newline gets the next line's prefix, the last one too, and that one is left out of
    // the write: fewer copies of what may be gigabytes than cutting and joining strings.
    const body = Buffer.from(clean.replaceAll('\n', `\n${prefix}`), 'latin1')
    this.#print(Buffer.from(prefix, 'latin1'))
    this.#print(body.subarray(0, body.length - prefix.length))
  }

  /** Whole lines (without the last newline), each prefixed; one write for a whole chunk. */
  #lines(ordinal: number, path: string, text: string): void {
    const prefix = this.#out.style.enabled ? this.#prefix(ordinal, path) : `${formatClock(new Date())} ${this.#prefix(ordinal, path)}`
    // A node's own escape codes (colours, cursor moves) must not reach a CI log nor break the tree.
    const clean = text.includes('\x1b') ? stripAnsi(text) : text
    this.#print(`${prefix}${clean.replaceAll('\n', `\n${prefix}`)}\n`)
  }

  #ended(ordinal: number, node: NodeResult, streaming: boolean): void {
    if (node.kind === 'group') return
    if (streaming) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const pending = this.#pendingBytes.get(`${ordinal}:${stream}`)
        if (pending !== undefined && pending !== '') this.#latin1Lines(node.path, `${pending}\n`)
        this.#pendingBytes.delete(`${ordinal}:${stream}`)
        const partial = this.#partial.get(`${ordinal}:${stream}`)
        if (partial === undefined) continue
        const rest = partial.rest + partial.decoder.end()
        if (rest !== '') this.#lines(ordinal, node.path, rest)
        this.#partial.delete(`${ordinal}:${stream}`)
      }
      return
    }
    const failed = node.status === 'failed' || node.status === 'timed_out'
    if (this.#mode === 'errors' && !failed) return
    const parts: string[] = []
    for (const stream of ['stdout', 'stderr'] as const) {
      const artifact = node.artifacts.find(a => a.name === stream)
      if (artifact === undefined || artifact.size === 0) continue
      const tail = readTail(artifact.path)
      if (tail === null) continue
      if (tail.cut > 0) parts.push(`[… the first ${formatBytes(tail.cut)} of ${stream} are in ${artifact.path}]`)
      parts.push(tail.text.endsWith('\n') ? tail.text.slice(0, -1) : tail.text)
    }
    if (parts.length === 0) return
    const text = parts.join('\n')
    if (this.#grouped) {
      const clean = text.includes('\x1b') ? stripAnsi(text) : text
      this.#print(`::group::${node.path}${failed ? ` (${node.status.replace('_', ' ')})` : ''}\n${clean}\n::endgroup::\n`)
    } else {
      this.#lines(ordinal, node.path, text)
    }
  }
}

/** The last TAIL_BYTES of a file (from a line start when cut), and how many bytes were left out. */
function readTail(file: string): { text: string; cut: number } | null {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch {
    return null
  }
  try {
    const size = fstatSync(fd).size
    const length = Math.min(size, TAIL_BYTES)
    const buffer = Buffer.alloc(length)
    readSync(fd, buffer, 0, length, size - length)
    let text = buffer.toString('utf8')
    let cut = size - length
    if (cut > 0) {
      const newline = text.indexOf('\n')
      cut += Buffer.byteLength(text.slice(0, newline + 1))
      text = text.slice(newline + 1)
    }
    return { text, cut }
  } finally {
    closeSync(fd)
  }
}
