import { once } from 'node:events'
import { openAsBlob } from 'node:fs'
import { NodeFailure, serializeError } from '../errors/errors.js'
import { Executable, type ExecutableCapabilities, type ExecutableSpec, type ExecutionContext, type ExecutionOutcome } from '../model/executable.js'
import { isRef, type ArtifactRef, type Ref, type ResultRef } from '../model/refs.js'
import {
  BodyKeeper,
  MIN_SECRET_LENGTH,
  checkExpect,
  checkMethod,
  describeFetchError,
  isJsonType,
  isSensitiveHeader,
  parseHttpUrl,
  responseHeaders,
  stripCredentials,
} from './http-parts.js'

/** What a request body may be: text, a JSON value (sent as JSON), a node's result (as JSON) or an artifact (its bytes). */
export type HttpBody = string | number | boolean | null | readonly unknown[] | { readonly [key: string]: unknown } | ResultRef<unknown> | ArtifactRef

export interface HttpOptions {
  /** `http://` or `https://`. Credentials in it (`https://user:pass@host/`) become a Basic `authorization` header. */
  url: string | URL
  /** Default `GET`, or `POST` when there is a body. */
  method?: string
  /** Request headers. `authorization`, `cookie` and the like (and any holding a secret) are masked wherever shown. */
  headers?: Readonly<Record<string, string>>
  /** Text as is; a JSON value as JSON (`content-type: application/json` unless set); a reference's value or file. */
  body?: HttpBody
  /** Statuses that count as success (default 200–299); any other fails the attempt, so `retries` apply. */
  expect?: readonly number[]
  /** Milliseconds for the whole request, body included; past it the attempt fails (and may be retried). */
  timeout?: number
}

/** The result of an `Http` node (`node.result`). */
export interface HttpResult<T = unknown> {
  status: number
  statusText: string
  /** Response headers, lower-case names; `set-cookie` and the like shown as `***`. */
  headers: Record<string, string>
  /** Parsed JSON for a JSON content type, else text; null when the body is larger than 1 MiB (read the stdout artifact). */
  body: T | string | null
  /** The URL that answered (after redirects), without credentials. */
  url: string
}

/** Bodies up to this size are kept in the result; the stdout artifact always has all of it. */
export const HTTP_RESULT_BODY_LIMIT = 1024 * 1024

const HTTP_CAPABILITIES: ExecutableCapabilities = Object.freeze({ result: true, cwd: false })

interface PreparedRequest {
  url: string
  /** The URL as shown: no credentials. */
  shown: string
  method: string
  headers: Headers
  secrets: string[]
}

/**
 * An HTTP request with Node's `fetch`. The response body streams to the node's `stdout.log`
 * (memory stays flat whatever its size); the result is `{ status, statusText, headers, body, url }`.
 * Redirects are followed. A status outside `expect` (default 200–299), a failed connection or a
 * body that breaks off fails the attempt, so the node's `retries` apply. The node's `timeout`
 * (or this request's own) stops it.
 *
 * @example
 * const report = new Node({
 *   name: 'report',
 *   executable: new Http<{ items: string[] }>({ url: 'https://api.example.com/report', headers: { authorization: `Bearer ${token}` } }),
 *   retries: 2,
 * })
 * // later: new Func(count, { args: [report.result] })  — count(res: HttpResult<{ items: string[] }>)
 */
export class Http<T = unknown> extends Executable<HttpResult<T>> {
  readonly kind = 'http'
  override readonly capabilities: ExecutableCapabilities = HTTP_CAPABILITIES
  readonly options: Readonly<HttpOptions>
  #prepared: PreparedRequest | string | undefined

  constructor(options: HttpOptions) {
    super()
    this.options = Object.freeze({ ...options })
  }

  /** The request, checked (or why it is invalid); made once. */
  get #request(): PreparedRequest | string {
    return (this.#prepared ??= prepareRequest(this.options))
  }

  describe(): string {
    const request = this.#request
    if (typeof request !== 'string') return `${request.method} ${request.shown}`
    const url = this.options.url
    return `${typeof this.options.method === 'string' ? this.options.method.toUpperCase() : 'GET'} ${typeof url === 'string' || url instanceof URL ? stripCredentials(String(url)) : '(no url)'}`
  }

  references(): Ref[] {
    return isRef(this.options.body) ? [this.options.body] : []
  }

  override secrets(): readonly string[] {
    const request = this.#request
    return typeof request === 'string' ? [] : request.secrets
  }

  override toSpec(): ExecutableSpec {
    const { url, ...rest } = this.options
    return { uses: 'http', with: { url: String(url), ...rest } }
  }

  /** Builds an Http from its spec (`{ url, method?, headers?, body?, expect?, timeout? }`, as `toSpec()` gives it). */
  static fromSpec(spec: unknown): Http {
    if (typeof spec !== 'object' || spec === null) throw new TypeError('an http spec needs at least `url`')
    return new Http(spec as HttpOptions)
  }

  override async prepare(): Promise<void> {
    const request = this.#request
    if (typeof request === 'string') throw new Error(`Http: ${request}`)
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const request = this.#request
    if (typeof request === 'string') return failure(new NodeFailure(`Http: ${request}`, { code: 'WTFLOW_EXECUTABLE_FAILED' }))
    const { method, shown } = request
    const timeout = this.options.timeout
    const controller = new AbortController()
    let timedOut = false
    const unlisten = ctx.onStop(reason => controller.abort(reason))
    const timer = timeout === undefined ? undefined : setTimeout(() => {
      timedOut = true
      controller.abort('timeout')
    }, timeout)
    const kept = new BodyKeeper(HTTP_RESULT_BODY_LIMIT)
    let response: Response | undefined
    try {
      // A copy only when the body may add a content type: Headers are dear to copy.
      const headers = this.options.body === undefined ? request.headers : new Headers(request.headers)
      response = await fetch(request.url, { method, headers, body: await this.#body(ctx, headers), redirect: 'follow', signal: controller.signal })
      if (response.body !== null) {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          kept.push(chunk)
          if (!ctx.stdout.write(chunk)) await once(ctx.stdout, 'drain', { signal: controller.signal })
        }
      }
    } catch (error) {
      // Stopped by the engine (the node's timeout, a cancel): it reports that itself.
      if (ctx.stopReason !== null) return { exitCode: null, signal: null, error: null }
      const where = response === undefined ? '' : ` after ${response.status} and ${kept.size} bytes of the body`
      if (timedOut) return failure(new NodeFailure(`${method} ${shown}: no complete response within ${timeout} ms${where}`, { timedOut: true, code: 'WTFLOW_TIMEOUT' }))
      return failure(new NodeFailure(`${method} ${shown} failed${where}: ${describeFetchError(error)}`, { code: 'WTFLOW_HTTP_REQUEST' }, { cause: error }))
    } finally {
      clearTimeout(timer)
      unlisten()
    }

    const text = kept.text()
    let body: unknown = text
    if (text !== null && text !== '' && isJsonType(response.headers.get('content-type'))) {
      try {
        body = JSON.parse(text)
      } catch {
        // Not JSON after all: the text is what there is.
      }
    }
    const result: HttpResult = { status: response.status, statusText: response.statusText, headers: responseHeaders(response.headers), body, url: stripCredentials(response.url || request.url) }
    const resultJson = JSON.stringify(result)
    const expected = this.options.expect === undefined ? response.status >= 200 && response.status <= 299 : this.options.expect.includes(response.status)
    if (expected) return { exitCode: 0, signal: null, error: null, resultJson }
    const wanted = this.options.expect === undefined ? '200–299' : this.options.expect.join(', ')
    const redirected = result.url === shown ? '' : ` (redirected to ${result.url})`
    const status = new NodeFailure(`${method} ${shown}${redirected} answered ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}, expected ${wanted}; the body is in the stdout artifact`, { code: 'WTFLOW_HTTP_STATUS' })
    return { ...failure(status), resultJson }
  }

  /** The request body: text, JSON, or what a reference names (a file is streamed, not read whole). */
  async #body(ctx: ExecutionContext, headers: Headers): Promise<string | Blob | undefined> {
    const body = this.options.body
    if (body === undefined) return undefined
    if (typeof body === 'string') return body
    let value: unknown = body
    if (isRef(body)) {
      const resolved = await ctx.resolve(body)
      if (resolved.kind === 'artifact') return openAsBlob(resolved.path)
      value = resolved.value
    }
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
    return JSON.stringify(value)
  }
}

function failure(error: NodeFailure): ExecutionOutcome {
  return { exitCode: null, signal: null, error: serializeError(error) }
}

/** Checks the options and makes the request fetch is given; a string says why it cannot be made. */
function prepareRequest(options: HttpOptions): PreparedRequest | string {
  if (typeof options !== 'object' || options === null) return 'expected options { url, method?, headers?, body?, expect?, timeout? }'
  const parsed = parseHttpUrl(options.url)
  if (typeof parsed === 'string') return parsed
  const method = checkMethod(options.method ?? (options.body === undefined ? 'GET' : 'POST'))
  if (typeof method !== 'string') return method.error
  if (options.body !== undefined && (method === 'GET' || method === 'HEAD')) return `a ${method} request cannot have a body; use POST (or leave the method out)`
  const expectError = checkExpect(options.expect)
  if (expectError !== null) return expectError
  const timeout = options.timeout
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0)) {
    return `timeout must be a positive number of milliseconds, got ${String(timeout)}`
  }
  if (options.headers !== undefined && (typeof options.headers !== 'object' || options.headers === null)) return 'headers must be an object of strings'
  let headers: Headers
  try {
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (typeof value !== 'string') return `header "${name}" must be a string, got ${typeof value}`
    }
    headers = new Headers(options.headers as Record<string, string> | undefined)
  } catch (error) {
    return `invalid headers: ${error instanceof Error ? error.message : String(error)}`
  }
  const secrets: string[] = []
  // fetch refuses URLs with credentials: they become a Basic authorization header, unless one is given.
  if (parsed.username !== '' || parsed.password !== '') {
    const user = decodeURIComponent(parsed.username)
    const password = decodeURIComponent(parsed.password)
    if (!headers.has('authorization')) headers.set('authorization', `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`)
    secrets.push(password, parsed.password)
    parsed.username = ''
    parsed.password = ''
  }
  headers.forEach((value, name) => {
    if (!isSensitiveHeader(name)) return
    secrets.push(value)
    // `Bearer <token>`: the token alone may be echoed too.
    const space = value.indexOf(' ')
    if (space !== -1) secrets.push(value.slice(space + 1).trim())
  })
  return { url: parsed.href, shown: parsed.href, method, headers, secrets: [...new Set(secrets.filter(secret => secret.length >= MIN_SECRET_LENGTH))] }
}
