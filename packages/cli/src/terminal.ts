/**
 * Output helpers: colors only on a terminal (and never with NO_COLOR), widths as a terminal
 * counts them (escape codes none, CJK and emoji two), durations and times as people read them.
 */
import { stripVTControlCharacters, styleText } from 'node:util'
import stringWidth from 'string-width'

export interface Output {
  readonly stream: NodeJS.WriteStream
  /** A terminal that can redraw (not `TERM=dumb`). */
  readonly interactive: boolean
  readonly style: Style
  /** Visible columns; Infinity when unknown (a pipe never truncates). */
  readonly columns: number
  readonly rows: number
  write(text: string): void
}

/** Streams whose reader went away (`wtflow run | head`): what is written to them is dropped. */
const gone = new WeakSet<NodeJS.WritableStream>()
const guarded = new WeakSet<NodeJS.WritableStream>()

/**
 * Makes a reader that goes away (EPIPE, a closed terminal) drop what is written to the stream
 * instead of ending the process: output is a courtesy; the run and its record must go on.
 */
export function survivePipeClose(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return
  guarded.add(stream)
  stream.on('error', () => gone.add(stream))
}

/** Writes unless the reader went away; never throws. */
export function writeOut(stream: NodeJS.WritableStream, text: string | Uint8Array): boolean {
  survivePipeClose(stream)
  if (gone.has(stream) || (stream as { destroyed?: boolean }).destroyed === true) return true
  try {
    return stream.write(text)
  } catch {
    gone.add(stream)
    return true
  }
}

export function outputFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Output {
  const tty = stream.isTTY === true
  const interactive = tty && env.TERM !== 'dumb'
  const color = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' ? true : interactive && env.NO_COLOR === undefined
  return {
    stream,
    interactive,
    style: color ? ansiStyle : plainStyle,
    get columns() {
      return tty && stream.columns > 0 ? stream.columns : Infinity
    },
    get rows() {
      return tty && stream.rows > 0 ? stream.rows : Infinity
    },
    write: text => {
      writeOut(stream, text)
    },
  }
}

export interface Style {
  readonly enabled: boolean
  bold(text: string): string
  dim(text: string): string
  red(text: string): string
  green(text: string): string
  yellow(text: string): string
  cyan(text: string): string
}

// Whether to colour is decided above (a terminal, NO_COLOR, FORCE_COLOR): styleText must not decide
// again from process.stdout (it would not colour stderr's output, nor a terminal without TERM).
const styled =
  (format: Parameters<typeof styleText>[0]) =>
  (text: string): string =>
    styleText(format, text, { validateStream: false })

const ansiStyle: Style = {
  enabled: true,
  bold: styled('bold'),
  dim: styled('dim'),
  red: styled('red'),
  green: styled('green'),
  yellow: styled('yellow'),
  cyan: styled('cyan'),
}

const identity = (text: string) => text
const plainStyle: Style = { enabled: false, bold: identity, dim: identity, red: identity, green: identity, yellow: identity, cyan: identity }

/** Text without escape sequences (colours, cursor moves). */
export function stripAnsi(text: string): string {
  return stripVTControlCharacters(text)
}

/** Columns a line takes on a terminal: escape codes take none, CJK and emoji two. */
export function visibleWidth(text: string): number {
  return stringWidth(text)
}

const segmenter = new Intl.Segmenter()

/** Cuts plain text to `width` columns (by grapheme, wide ones counted twice), ending with `…` when it had to cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return ''
  if (stringWidth(text) <= width) return text
  let kept = ''
  let used = 0
  for (const { segment } of segmenter.segment(text)) {
    const columns = stringWidth(segment)
    if (used + columns > width - 1) break
    kept += segment
    used += columns
  }
  return `${kept}…`
}

export function padEnd(text: string, width: number): string {
  const missing = width - visibleWidth(text)
  return missing > 0 ? text + ' '.repeat(missing) : text
}

/** `850ms`, `12.3s`, `4m05s`, `2h03m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-'
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`
  const totalSeconds = Math.floor(ms / 1000)
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m${String(totalSeconds % 60).padStart(2, '0')}s`
  const minutes = Math.floor(totalSeconds / 60)
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`
}

/** `HH:MM:SS.mmm`, local time: the prefix of plain progress lines. */
export function formatClock(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0')
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`
}

/** `2026-11-22 14:03:07`, local time. */
export function formatDateTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`
  if (size < 1024 ** 3) return `${(size / 1024 / 1024).toFixed(1)} MiB`
  return `${(size / 1024 ** 3).toFixed(2)} GiB`
}

/** Quotes an argument for a POSIX shell only when it needs it, so hints can be pasted. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}

/** The short form of a run id shown in tables and hints (any unique prefix is accepted). */
export function shortId(id: string): string {
  return id.slice(0, 8)
}

/** A command line on one line (multi-line scripts joined by ` ⏎ `), cut to `width` columns. */
export function oneLine(text: string, width = 100): string {
  return truncate(text.trim().replace(/\s*\n\s*/g, ' ⏎ '), width)
}
