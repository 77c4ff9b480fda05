/**
 * URLs of `http:` steps. The value of each `${{ }}` is percent-encoded, so that it stays inside
 * the path segment or query value where it was written: `/`, `?`, `#`, `&` or `@` in a value
 * cannot change the host, the path or the other parameters. One exception: an expression at the
 * very start of the URL (`${{ inputs.api }}/v1/items`) gives the base, which must be an absolute
 * http(s) URL and is kept as it is.
 */
import { asText, type Template } from './expressions.js'
import type { data } from '@actions/expressions'

export function renderUrl(template: Template, values: readonly data.ExpressionData[]): string {
  const { literals } = template
  let url = literals[0]!
  for (let i = 0; i < values.length; i++) {
    const text = asText(values[i]!)
    url += (i === 0 && url === '' ? baseUrl(text) : encodeURIComponent(text)) + literals[i + 1]!
  }
  return url
}

function baseUrl(text: string): string {
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    throw new Error(`the URL starts with an expression, whose value must be an absolute http(s) URL; got ${JSON.stringify(text)}`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`the URL starts with an expression, whose value must be an http(s) URL; got a ${parsed.protocol} URL`)
  }
  return text.replace(/\/+$/, '')
}
