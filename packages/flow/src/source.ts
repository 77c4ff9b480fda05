/**
 * Reading a flow file: the text into a plain value, and key paths back to lines and columns.
 *
 * Two parsers, for speed: js-yaml turns a valid file into a value about ten times faster than
 * `yaml` does (the 10,000-step benchmark), but `yaml` keeps every node's position and reports
 * every syntax error of a file, not only the first. So a file is read by js-yaml, and only a
 * file with a problem is read again by `yaml`, to say where each problem is.
 */
import { createRequire } from 'node:module'
import jsYaml from 'js-yaml'
import type * as Yaml from 'yaml'
import type { Document, LineCounter, Node as YamlNode, Pair } from 'yaml'
import type { KeyPath, Target } from './diagnostics.js'

/** `yaml` is loaded only when a file has a problem to locate (it takes longer to import than the rest). */
let yamlModule: typeof Yaml | undefined
function yaml(): typeof Yaml {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml)
}

export type FlowFormat = 'yaml' | 'json'

/** A position in the text: 1-based line and column. */
export interface Position {
  line: number
  column: number
}

export interface SyntaxProblem {
  position: Position
  message: string
}

/** The value of a flow file, or its syntax errors (all of them). */
export type ParsedText = { ok: true; value: unknown } | { ok: false; problems: SyntaxProblem[] }

/** Parses the text of a flow file; never throws. */
export function parseText(text: string, format: FlowFormat): ParsedText {
  if (format === 'json') {
    // YAML is a superset of JSON: a .json file must be JSON as other tools read it.
    try {
      JSON.parse(text)
    } catch (error) {
      return { ok: false, problems: [jsonProblem(text, error as Error)] }
    }
  }
  try {
    return { ok: true, value: jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA, maxDepth: MAX_DEPTH } as jsYaml.LoadOptions) }
  } catch (error) {
    if (!(error instanceof jsYaml.YAMLException)) {
      return { ok: false, problems: [{ position: { line: 1, column: 1 }, message: `cannot read the document: ${(error as Error).message}` }] }
    }
    if (error.reason.startsWith('nesting exceeded')) {
      return { ok: false, problems: [{ position: markOf(error), message: `the document nests more than ${MAX_DEPTH} levels deep (steps within steps…); flatten it` }] }
    }
    try {
      return { ok: false, problems: new SourceLocator(text).syntaxProblems(error) }
    } catch {
      return { ok: false, problems: [{ position: markOf(error), message: error.reason }] }
    }
  }
}

/** Deeper documents are refused: parsing them recursively could overflow the stack. */
const MAX_DEPTH = 1000

function markOf(error: jsYaml.YAMLException): Position {
  return { line: error.mark.line + 1, column: error.mark.column + 1 }
}

/** Where a key path is in the text; parses the text (with `yaml`) on first use. */
export class SourceLocator {
  readonly #text: string
  #doc: Document.Parsed | undefined
  #lines: LineCounter | undefined

  constructor(text: string) {
    this.#text = text
  }

  /** The position of what `target` names at `path` (the nearest existing ancestor if the path is not there). */
  locate(path: KeyPath, target: Target = { kind: 'value' }): Position {
    const doc = this.#document()
    const { isAlias, isMap, isScalar, isSeq } = yaml()
    let node: YamlNode | null = doc.contents
    let key: YamlNode | null = null
    let reached = 0
    for (const segment of path) {
      if (isAlias(node)) node = (node.resolve(doc) as YamlNode | undefined) ?? null
      if (isMap(node)) {
        const pair = node.items.find(item => keyText(item) === String(segment))
        if (pair === undefined) break
        key = (pair.key as YamlNode | null) ?? null
        const value = (pair.value as YamlNode | null) ?? null
        // `key:` with nothing after it: the key is the place.
        if (value === null) return this.#position(key?.range?.[0] ?? node.range?.[0] ?? 0)
        node = value
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = (node.items[segment] as YamlNode | undefined) ?? null
        if (item === null) break
        key = null
        node = item
      } else {
        break
      }
      reached++
    }
    const complete = reached === path.length
    if (complete && target.kind === 'key' && key !== null) return this.#position(key.range?.[0] ?? 0)
    if (complete && target.kind === 'expression' && isScalar(node)) return this.#position(this.#expressionOffset(node, target.expression, target.offset))
    return this.#position(node?.range?.[0] ?? 0)
  }

  /** Every syntax error `yaml` finds; the js-yaml error when `yaml` finds none. */
  syntaxProblems(fallback: jsYaml.YAMLException): SyntaxProblem[] {
    const doc = this.#document()
    const problems = doc.errors.map(error => ({ position: this.#position(error.pos[0]), message: describeYamlError(error.code, error.message, this.#text, error.pos[0]) }))
    if (problems.length > 0) return problems
    return [{ position: markOf(fallback), message: fallback.reason }]
  }

  #document(): Document.Parsed {
    if (this.#doc === undefined) {
      const { LineCounter, parseDocument } = yaml()
      this.#lines = new LineCounter()
      this.#doc = parseDocument(this.#text, { lineCounter: this.#lines, prettyErrors: false })
    }
    return this.#doc
  }

  #position(offset: number): Position {
    this.#document()
    const { line, col } = this.#lines!.linePos(offset)
    return { line, column: col }
  }

  /**
   * The offset of a place in the source of a string scalar: the `index`-th `${{` of its source,
   * plus `offset` into the expression (which escapes seldom touch). A bare expression (`when`)
   * starts after the opening quote, if any.
   */
  #expressionOffset(node: YamlNode, index: number, offset: number): number {
    const [start, end] = node.range ?? [0, 0]
    const source = this.#text.slice(start, end)
    if (index < 0) return start + (source.startsWith('"') || source.startsWith("'") ? 1 : 0) + offset
    let at = -1
    for (let i = 0; i <= index; i++) {
      at = source.indexOf('${{', at + 1)
      if (at < 0) return start
    }
    return start + at + 3 + offset
  }
}

function keyText(pair: Pair): string | undefined {
  const key = pair.key
  if (yaml().isScalar(key)) return String(key.value)
  return undefined
}

/** `yaml`'s message, said the way a person fixing the file needs it. */
function describeYamlError(code: string, message: string, text: string, offset: number): string {
  const firstLine = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
  switch (code) {
    case 'TAB_AS_INDENT':
      return 'a tab is used for indentation; YAML allows only spaces there'
    case 'DUPLICATE_KEY': {
      const key = /^[^\s:,}\]]+|^"[^"]*"|^'[^']*'/.exec(text.slice(offset))?.[0]
      return `duplicate key${key === undefined ? '' : ` ${key}`}: each key may appear once in a mapping; remove or rename one`
    }
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'a value written without quotes cannot contain ": " (colon, space): quote it, or write it as a block (run: |)'
    case 'MULTIPLE_DOCS':
      return 'the file holds several YAML documents (---); a flow file holds one'
    default:
      return `YAML syntax error: ${firstLine}`
  }
}

/** Where JSON.parse failed, as a line and column, and why. */
function jsonProblem(text: string, error: Error): SyntaxProblem {
  const offset = firstInvalidOffset(text)
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      lineStart = i + 1
    }
  }
  let reason = error.message.replace(/ in JSON at position \d+.*$/s, '').replace(/, .*is not valid JSON$/s, '')
  const before = text.slice(0, offset).trimEnd()
  if (before.endsWith(',') && (text[offset] === ']' || text[offset] === '}')) reason += ' (JSON allows no comma before a closing bracket)'
  return { position: { line, column: offset - lineStart + 1 }, message: `JSON syntax error: ${reason}` }
}

/**
 * The offset of the first character that makes the text invalid JSON (the end, if it is cut
 * short). V8 does not always say where: the longest prefix that is still valid so far is
 * found by bisection (only on this error path).
 */
function firstInvalidOffset(text: string): number {
  const invalid = (length: number): boolean => {
    try {
      JSON.parse(text.slice(0, length))
      return false
    } catch (error) {
      const message = (error as Error).message
      const at = /at position (\d+)/.exec(message)
      // Running out of text is not an invalid character.
      return !message.includes('Unexpected end of JSON input') && !(at !== null && Number(at[1]) >= length)
    }
  }
  if (!invalid(text.length)) return text.length
  let low = 0
  let high = text.length
  while (low < high) {
    const middle = (low + high) >> 1
    if (invalid(middle)) high = middle
    else low = middle + 1
  }
  return low - 1
}
