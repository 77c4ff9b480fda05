import { WtflowError } from '@wtflow/core'

/** A key path in a flow document: `['steps', 1, 'timeout']`. */
export type KeyPath = ReadonlyArray<string | number>

/** What a problem points at: the value at its path, its key (unknown keys), or a place inside a string. */
export type Target =
  | { kind: 'value' }
  | { kind: 'key' }
  /** `expression` is the index of the `${{ }}` in the string (-1: the whole string is one bare expression). */
  | { kind: 'expression'; expression: number; offset: number }

/** A problem found before positions are known: where (a key path) and what. */
export interface Problem {
  path: KeyPath
  message: string
  target?: Target | undefined
}

/** One problem in a flow file, with where it is. Lines and columns are 1-based. */
export interface FlowDiagnostic {
  /** The file as shown to the user. */
  file: string
  line: number
  column: number
  /** The key path: `steps[1].timeout` (empty for the document itself). */
  path: string
  message: string
}

/** `file:line:column: path: message` */
export function formatDiagnostic(d: FlowDiagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.path === '' ? '' : `${d.path}: `}${d.message}`
}

/**
 * A flow file is invalid: nothing was run. `diagnostics` holds every problem found (not only the
 * first), each with file, line and column; the message lists them one per line.
 */
export class FlowError extends WtflowError {
  readonly file: string
  readonly diagnostics: readonly FlowDiagnostic[]

  constructor(file: string, diagnostics: readonly FlowDiagnostic[]) {
    const count = diagnostics.length === 1 ? '1 problem' : `${diagnostics.length} problems`
    super('WTFLOW_FLOW_INVALID', `${file} is not a valid flow (${count}; nothing was run):\n${diagnostics.map(d => `  ${formatDiagnostic(d)}`).join('\n')}`)
    this.file = file
    this.diagnostics = diagnostics
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/

/** `steps[1].env.HOME`, `inputs["my input"]` */
export function formatPath(path: KeyPath): string {
  let text = ''
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`
    else if (IDENTIFIER.test(segment)) text += text === '' ? segment : `.${segment}`
    else text += `[${JSON.stringify(segment)}]`
  }
  return text
}

/** The known word closest to `word` (edit distance, case-insensitive), if it is close enough to be a typo. */
export function closest(word: string, known: Iterable<string>): string | undefined {
  const lower = word.toLowerCase()
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  const allowed = Math.max(1, Math.floor(Math.max(word.length, 2) / 3))
  return best !== undefined && bestDistance <= allowed && bestDistance < word.length ? best : undefined
}

/** ` (did you mean "x"?)` or nothing. */
export function didYouMean(word: string, known: Iterable<string>): string {
  const suggestion = closest(word, known)
  return suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`
}

/** Optimal string alignment distance: a swap of two neighbours (`retires`) counts as one edit. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array<number>(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, d[(i - 2) * cols + j - 2]! + 1)
      d[i * cols + j] = value
    }
  }
  return d[rows * cols - 1]!
}
