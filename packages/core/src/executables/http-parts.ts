/** What `Http` needs besides the request itself: URL and header checks, masking, the kept body. */

/** Headers whose values are credentials whatever they hold: shown as `***`, masked everywhere. */
const SENSITIVE_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie2?)$|token|secret|passw|api-?key|(^|-)auth($|-)/i

/** Header values shorter than this are not masked in output: masking every `1` would garble it. */
export const MIN_SECRET_LENGTH = 4

/** Methods `fetch` refuses. */
const FORBIDDEN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK'])

/** An HTTP token (RFC 9110), as a method must be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE_HEADER.test(name)
}

/** A URL as it may be shown: without user name and password (also in text that does not parse). */
export function stripCredentials(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.username === '' && parsed.password === '') return url
    parsed.username = ''
    parsed.password = ''
    return parsed.href
  } catch {
    return url.replace(/(\/\/)[^/@\s]*@/, '$1')
  }
}

/** The parsed URL, or an error message naming it without credentials. */
export function parseHttpUrl(url: unknown): URL | string {
  if (typeof url !== 'string' && !(url instanceof URL)) return `url must be a string (http://… or https://…), got ${url === undefined ? 'nothing' : typeof url}`
  const text = String(url)
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    return `"${stripCredentials(text)}" is not a valid URL; write it in full, e.g. http://127.0.0.1:8080/path`
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `"${stripCredentials(text)}" is not an http:// or https:// URL`
  }
  return parsed
}

/** The method in upper case, or an error message. */
export function checkMethod(method: unknown): string | { error: string } {
  if (typeof method !== 'string' || !TOKEN.test(method)) return { error: `method ${JSON.stringify(method)} is not an HTTP method; use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS` }
  const upper = method.toUpperCase()
  if (FORBIDDEN_METHODS.has(upper)) return { error: `method ${upper} cannot be sent by fetch; use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS` }
  return upper
}

/** Checks `expect`: a non-empty list of status codes. */
export function checkExpect(expect: unknown): string | null {
  if (expect === undefined) return null
  if (!Array.isArray(expect) || expect.length === 0 || expect.some(code => !Number.isInteger(code) || code < 100 || code > 599)) {
    return `expect must be a non-empty array of HTTP status codes (100–599), got ${JSON.stringify(expect)}`
  }
  return null
}

/** Response headers as an object, credentials (`set-cookie`…) shown as `***`. */
export function responseHeaders(headers: Headers): Record<string, string> {
  const result: Record<string, string> = {}
  headers.forEach((value, name) => {
    result[name] = isSensitiveHeader(name) ? '***' : value
  })
  return result
}

/** True for `application/json`, `application/problem+json` and the like. */
export function isJsonType(contentType: string | null): boolean {
  if (contentType === null) return false
  const type = contentType.split(';')[0]!.trim().toLowerCase()
  return type === 'application/json' || type.endsWith('+json')
}

/**
 * Keeps the first `limit` bytes of a body for the result, and no more: past the limit it drops
 * what it held, so a large body costs no memory here (it streams to the artifact).
 */
export class BodyKeeper {
  readonly #limit: number
  #chunks: Uint8Array[] | null = []
  #size = 0

  constructor(limit: number) {
    this.#limit = limit
  }

  get size(): number {
    return this.#size
  }

  push(chunk: Uint8Array): void {
    this.#size += chunk.byteLength
    if (this.#chunks === null) return
    if (this.#size > this.#limit) this.#chunks = null
    else this.#chunks.push(chunk)
  }

  /** The body as text, or null when it was larger than the limit. */
  text(): string | null {
    return this.#chunks === null ? null : Buffer.concat(this.#chunks).toString('utf8')
  }
}

/** What a failed `fetch` says, with the reason undici keeps in `cause` (ECONNREFUSED, other side closed…). */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause: unknown = error.cause
  if (!(cause instanceof Error)) return error.message
  const code = (cause as Error & { code?: unknown }).code
  const causeText = typeof code === 'string' && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message
  return error.message.includes(causeText) ? error.message : `${error.message}: ${causeText}`
}
