/**
 * The GitHub Actions expression language (`${{ … }}`), through GitHub's own implementation
 * (@actions/expressions): parsing with positions, what an expression reads, evaluation.
 */
import { data, Evaluator, ExpressionError, Lexer, Parser, type Expr } from '@actions/expressions'
import { ContextAccess, FunctionCall, Binary, Grouping, IndexAccess, Literal, Logical, Unary } from '@actions/expressions/ast'
import { truthy } from '@actions/expressions/result'

/** The contexts an expression may read. */
export const CONTEXTS = ['inputs', 'env', 'secrets', 'steps', 'run'] as const
export type ContextName = (typeof CONTEXTS)[number]

/**
 * What an expression reads: a context and the literal keys after it (`steps.build.stdout` is
 * `['steps', 'build', 'stdout']`). `computed` is set when a key after them is not a literal
 * (`steps[inputs.name]`), so what is read cannot be known before the run.
 */
export interface ContextRead {
  context: ContextName
  keys: Array<string | number>
  computed: boolean
  /** Offset of the context name in the expression text. */
  offset: number
}

export interface Expression {
  /** The text between `${{` and `}}`, trimmed of nothing. */
  readonly text: string
  readonly ast: Expr
  readonly reads: readonly ContextRead[]
}

/** A string with `${{ }}` parts: `literals[0] expressions[0] literals[1] … literals[n]`. */
export interface Template {
  readonly source: string
  readonly literals: readonly string[]
  readonly expressions: readonly Expression[]
}

/** A syntax error in the `index`-th expression of a string (-1: a bare expression), at `offset` in it. */
export interface ExpressionProblem {
  index: number
  offset: number
  message: string
}

const OPEN = '${{'
const CLOSE = '}}'

/** True if the string has a `${{`. */
export function hasExpression(text: string): boolean {
  return text.includes(OPEN)
}

/** Parses a string with `${{ }}` parts; all problems of all its expressions, or the template. */
export function parseTemplate(source: string): { template: Template } | { problems: ExpressionProblem[] } {
  const literals: string[] = []
  const expressions: Expression[] = []
  const problems: ExpressionProblem[] = []
  let from = 0
  for (let index = 0; ; index++) {
    const open = source.indexOf(OPEN, from)
    if (open < 0) break
    const start = open + OPEN.length
    const close = findClose(source, start)
    if (close < 0) {
      problems.push({ index, offset: 0, message: '"${{" is not closed by "}}"' })
      break
    }
    literals.push(source.slice(from, open))
    const parsed = parseExpression(source.slice(start, close))
    if ('problem' in parsed) problems.push({ index, offset: parsed.problem.offset, message: parsed.problem.message })
    else expressions.push(parsed.expression)
    from = close + CLOSE.length
  }
  literals.push(source.slice(from))
  if (problems.length > 0) return { problems }
  return { template: { source, literals, expressions } }
}

/**
 * A bare expression (`when: inputs.deploy == 'yes'`); `${{ }}` around the whole of it is
 * accepted too. Offsets of problems are relative to `source`.
 */
export function parseBareExpression(source: string): { expression: Expression } | { problem: ExpressionProblem } {
  const trimmed = source.trim()
  if (trimmed.startsWith(OPEN)) {
    const close = findClose(trimmed, OPEN.length)
    if (close < 0) return { problem: { index: -1, offset: source.indexOf(OPEN), message: '"${{" is not closed by "}}"' } }
    if (close + CLOSE.length !== trimmed.length) {
      return { problem: { index: -1, offset: source.indexOf(OPEN), message: 'write one expression, with or without ${{ }} around all of it (text around it would make it always true)' } }
    }
    const inner = source.indexOf(OPEN) + OPEN.length
    const parsed = parseExpression(trimmed.slice(OPEN.length, close))
    return 'problem' in parsed ? { problem: { index: -1, offset: inner + parsed.problem.offset, message: parsed.problem.message } } : parsed
  }
  const parsed = parseExpression(source)
  return 'problem' in parsed ? { problem: { index: -1, offset: parsed.problem.offset, message: parsed.problem.message } } : parsed
}

/** The `}}` that ends an expression starting at `from`, skipping string literals ('it''s'). */
function findClose(text: string, from: number): number {
  let inString = false
  for (let i = from; i < text.length; i++) {
    const ch = text[i]
    if (ch === "'") {
      if (inString && text[i + 1] === "'") i++
      else inString = !inString
    } else if (!inString && ch === '}' && text[i + 1] === '}') {
      return i
    }
  }
  return -1
}

function parseExpression(text: string): { expression: Expression } | { problem: { offset: number; message: string } } {
  if (text.trim() === '') return { problem: { offset: 0, message: 'the expression is empty' } }
  let ast: Expr
  try {
    const { tokens } = new Lexer(text).lex()
    ast = new Parser(tokens, [...CONTEXTS], []).parse()
  } catch (error) {
    return { problem: describeSyntaxError(text, error) }
  }
  return { expression: { text, ast, reads: readsOf(ast, text) } }
}

function describeSyntaxError(text: string, error: unknown): { offset: number; message: string } {
  if (error instanceof ExpressionError) {
    const offset = offsetOf(text, error.pos.line, error.pos.column)
    const message = error.message.replace(/: '(.*)'$/, ` "$1"`)
    if (message.startsWith('Unrecognized named-value')) {
      const name = /"(.*)"$/.exec(message)?.[1] ?? ''
      return { offset, message: `unknown context "${name}" in expression "${text.trim()}"; expressions read ${CONTEXTS.join(', ')}` }
    }
    if (message.startsWith('Unrecognized function')) {
      const name = /"(.*)"$/.exec(message)?.[1] ?? ''
      return { offset, message: `unknown function ${name}() in expression "${text.trim()}"; functions: contains, startsWith, endsWith, format, join, toJSON, fromJSON, case` }
    }
    return { offset, message: `${lowerFirst(message)} in expression "${text.trim()}"` }
  }
  const message = error instanceof Error ? error.message : String(error)
  // The lexer: "Unexpected symbol: '+'. Located at position 10 within expression: …"
  const lexed = /^(Unexpected symbol: '.*')\. Located at position (\d+)/.exec(message)
  if (lexed !== null) return { offset: Number(lexed[2]) - 1, message: `${lowerFirst(lexed[1]!.replace(/: '(.*)'$/, ' "$1"'))} in expression "${text.trim()}"` }
  if (message === 'ErrorExceededMaxLength') return { offset: 0, message: 'the expression is too long' }
  return { offset: 0, message: `${message} in expression "${text.trim()}"` }
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1)
}

/** Offset of a 0-based line and column in `text`. */
function offsetOf(text: string, line: number, column: number): number {
  let offset = 0
  for (let l = 0; l < line; l++) {
    const next = text.indexOf('\n', offset)
    if (next < 0) break
    offset = next + 1
  }
  return offset + column
}

/** Every context read of an expression: the longest chain of literal keys after each context name. */
function readsOf(ast: Expr, text: string): ContextRead[] {
  const reads: ContextRead[] = []
  const visit = (node: Expr): void => {
    const chain = chainOf(node, text)
    if (chain !== null) {
      reads.push({ context: chain.context, keys: chain.keys, computed: false, offset: chain.offset })
      return
    }
    if (node instanceof IndexAccess) {
      // A computed key: what is read below it cannot be known before the run.
      const below = chainOf(node.expr, text)
      if (below !== null) reads.push({ context: below.context, keys: below.keys, computed: true, offset: below.offset })
      else visit(node.expr)
      visit(node.index)
    } else if (node instanceof Binary) {
      visit(node.left)
      visit(node.right)
    } else if (node instanceof Logical || node instanceof FunctionCall) {
      for (const arg of node.args) visit(arg)
    } else if (node instanceof Unary) {
      visit(node.expr)
    } else if (node instanceof Grouping) {
      visit(node.group)
    }
  }
  visit(ast)
  return reads
}

function chainOf(node: Expr, text: string): { context: ContextName; keys: Array<string | number>; offset: number } | null {
  if (node instanceof ContextAccess) {
    const name = node.name.lexeme.toLowerCase() as ContextName
    return { context: name, keys: [], offset: offsetOf(text, node.name.range.start.line, node.name.range.start.column) }
  }
  if (node instanceof IndexAccess && node.index instanceof Literal) {
    const below = chainOf(node.expr, text)
    const key = node.index.literal
    if (below === null) return null
    if (key instanceof data.StringData) return { ...below, keys: [...below.keys, key.value] }
    if (key instanceof data.NumberData) return { ...below, keys: [...below.keys, key.value] }
    return null
  }
  return null
}

// -- evaluation ---------------------------------------------------------------------------------

/** JSON-like value → expression data. */
export function toData(value: unknown): data.ExpressionData {
  if (value === null || value === undefined) return new data.Null()
  if (typeof value === 'string') return new data.StringData(value)
  if (typeof value === 'number') return new data.NumberData(value)
  if (typeof value === 'boolean') return new data.BooleanData(value)
  if (Array.isArray(value)) return new data.Array(...value.map(toData))
  if (value instanceof data.Dictionary || value instanceof data.Array) return value
  if (typeof value === 'object') {
    const dict = new data.Dictionary()
    for (const [key, item] of Object.entries(value)) dict.add(key, toData(item))
    return dict
  }
  return new data.StringData(String(value))
}

/** Expression data → a plain JSON value. */
export function fromData(value: data.ExpressionData): unknown {
  if (value instanceof data.Null) return null
  if (value instanceof data.StringData) return value.value
  if (value instanceof data.NumberData) return value.value
  if (value instanceof data.BooleanData) return value.value
  if (value instanceof data.Array) return value.values().map(fromData)
  if (value instanceof data.Dictionary) {
    const object: Record<string, unknown> = {}
    for (const { key, value: item } of value.pairs()) object[key] = fromData(item)
    return object
  }
  return null
}

/** Evaluates an expression over the contexts. Throws on errors of evaluation (`fromJSON('x')`). */
export function evaluate(expression: Expression, contexts: data.Dictionary): data.ExpressionData {
  return new Evaluator(expression.ast, contexts).evaluate()
}

/** The text of a value in a string, as GitHub Actions writes it (null is empty). */
export function asText(value: data.ExpressionData): string {
  return value.coerceString()
}

export function isTruthy(value: data.ExpressionData): boolean {
  return truthy(value)
}
