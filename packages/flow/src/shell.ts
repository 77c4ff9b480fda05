/**
 * `run:` strings go to `/bin/sh -c`. An expression's value must never become shell text: each
 * `${{ … }}` is replaced by a reference to an environment variable (`WTFLOW_EXPR_<n>`) that holds
 * the value, and the shell expands a variable once, without parsing what it holds.
 *
 * How the reference is written depends on the quoting around the expression, so that it is
 * always exactly one word, wherever the user put it:
 * - outside quotes: `"$WTFLOW_EXPR_0"`
 * - inside double quotes (the user's own): `${WTFLOW_EXPR_0}` (braces: a letter may follow)
 * - inside single quotes, which expand nothing: `'"$WTFLOW_EXPR_0"'` (close, expand, reopen).
 */

/** The environment variable that holds the value of the `index`-th expression of a `run` string. */
export function expressionVariable(index: number): string {
  return `WTFLOW_EXPR_${index}`
}

type Quote = 'none' | 'single' | 'double' | 'backtick'

/**
 * The shell text of a `run` string whose expressions are replaced by variable references.
 * `literals` are the texts between the expressions (one more than there are expressions).
 */
export function shellText(literals: readonly string[]): string {
  const scanner = new QuoteScanner()
  let text = ''
  for (let i = 0; i < literals.length; i++) {
    const literal = literals[i]!
    scanner.scan(literal)
    text += literal
    if (i === literals.length - 1) break
    const name = expressionVariable(i)
    switch (scanner.quote) {
      case 'double':
        text += `\${${name}}`
        break
      case 'single':
        text += `'"$${name}"'`
        break
      default:
        text += `"$${name}"`
    }
  }
  return text
}

/**
 * Follows POSIX shell quoting through text: single and double quotes, backslashes, `$( … )` and
 * backticks (which start a new quoting context inside double quotes), and `#` comments. Heredoc
 * bodies are not told apart: a reference there may show its quotes, but a value still never
 * becomes shell text.
 */
class QuoteScanner {
  /** Innermost last; `depth` counts open parentheses of a `$(` context. */
  readonly #stack: Array<{ quote: Quote; depth: number; substitution: boolean }> = [{ quote: 'none', depth: 0, substitution: false }]
  #comment = false
  #escaped = false
  /** The previous character, for word starts (`#`) and `$(`. */
  #previous = '\n'

  get quote(): Quote {
    return this.#comment ? 'none' : this.#stack[this.#stack.length - 1]!.quote
  }

  scan(text: string): void {
    for (const ch of text) {
      this.#step(ch)
      this.#previous = ch
    }
  }

  #step(ch: string): void {
    const top = this.#stack[this.#stack.length - 1]!
    if (this.#comment) {
      if (ch === '\n') this.#comment = false
      return
    }
    if (this.#escaped) {
      this.#escaped = false
      return
    }
    switch (top.quote) {
      case 'single':
        if (ch === "'") this.#stack.pop()
        return
      case 'double':
        if (ch === '\\') this.#escaped = true
        else if (ch === '"') this.#stack.pop()
        else if (ch === '(' && this.#previous === '$') this.#stack.push({ quote: 'none', depth: 1, substitution: true })
        else if (ch === '`') this.#stack.push({ quote: 'backtick', depth: 0, substitution: true })
        return
      default:
        if (ch === '\\') this.#escaped = true
        else if (ch === "'") this.#stack.push({ quote: 'single', depth: 0, substitution: false })
        else if (ch === '"') this.#stack.push({ quote: 'double', depth: 0, substitution: false })
        else if (ch === '`') {
          if (top.quote === 'backtick') this.#stack.pop()
          else this.#stack.push({ quote: 'backtick', depth: 0, substitution: true })
        } else if (ch === '(') top.depth++
        else if (ch === ')') {
          if (top.depth > 0) top.depth--
          if (top.depth === 0 && top.substitution && top.quote === 'none' && this.#stack.length > 1) this.#stack.pop()
        } else if (ch === '#' && /[\s;&|()]/.test(this.#previous)) this.#comment = true
    }
  }
}
