import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import type { Context, MiddlewareHandler } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'

export const TOKEN_COOKIE = 'wtflow_token'

/** A fresh token: 32 random bytes, base64url. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url')
}

/** True for an address only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '')
  if (bare === 'localhost') return true
  if (isIP(bare) === 4) return bare.startsWith('127.')
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1'
  return false
}

/** Compares in constant time (both sides hashed first, so their lengths leak nothing either). */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined || given === '') return false
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(token).digest()
  return timingSafeEqual(a, b)
}

export interface SecurityOptions {
  token: string
  /** Bound to a loopback address: Host is checked, and read-only requests need no token unless `requireToken`. */
  loopback: boolean
  /** Every request needs the token, also on loopback (a machine shared by several users). */
  requireToken?: boolean
  /** The port the server listens on (for the Host and Origin checks). */
  port: () => number
  /** The address it listens on. */
  host: string
}

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

/** What the security middleware tells later handlers. */
export interface AuthVariables {
  authenticated: boolean
}

/**
 * Host and Origin checks, the token, and the browser's cookie:
 * - on loopback, a `Host` other than this machine's names is refused (DNS rebinding: a page on
 *   evil.example resolving to 127.0.0.1 would otherwise read the API);
 * - a request that changes something (not GET/HEAD) from a foreign `Origin`, or marked
 *   `Sec-Fetch-Site: cross-site`, is refused;
 * - `?token=T` on a GET sets an HttpOnly, SameSite=Strict cookie and redirects to the same URL
 *   without it;
 * - the token (`Authorization: Bearer T` or the cookie) is required for every request when not
 *   on loopback, and for every request that changes something on loopback. A missing or wrong
 *   token is a bare 401.
 */
export function security(options: SecurityOptions): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const method = c.req.method
    const hostHeader = c.req.header('host') ?? ''
    if (options.loopback && !allowedLoopbackHost(hostHeader, options.port())) {
      return c.json({ error: { code: 'WTFLOW_SERVER_FORBIDDEN', message: 'this server answers only requests addressed to this machine (Host: 127.0.0.1, localhost or [::1])' } }, 403)
    }
    if (!SAFE_METHODS.has(method)) {
      const origin = c.req.header('origin')
      const fetchSite = c.req.header('sec-fetch-site')
      if ((origin !== undefined && origin !== 'null' && !sameOrigin(origin, hostHeader, options)) || origin === 'null' || fetchSite === 'cross-site') {
        return c.json({ error: { code: 'WTFLOW_SERVER_FORBIDDEN', message: 'cross-origin requests are refused' } }, 403)
      }
    }
    const fromQuery = method === 'GET' ? c.req.query('token') : undefined
    if (fromQuery !== undefined) {
      if (!tokenMatches(fromQuery, options.token)) return unauthorized(c)
      setCookie(c, TOKEN_COOKIE, options.token, { httpOnly: true, sameSite: 'Strict', path: '/' })
      const url = new URL(c.req.url)
      url.searchParams.delete('token')
      return c.redirect(`${url.pathname}${url.search}`, 303)
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim()
    const authenticated = tokenMatches(bearer ?? getCookie(c, TOKEN_COOKIE), options.token)
    const open = options.loopback && options.requireToken !== true && SAFE_METHODS.has(method)
    if (!authenticated && !open) return unauthorized(c)
    c.set('authenticated', authenticated)
    await next()
  }
}

function unauthorized(c: Context): Response {
  c.header('WWW-Authenticate', 'Bearer')
  return c.json({ error: { code: 'WTFLOW_SERVER_UNAUTHORIZED', message: 'unauthorized' } }, 401)
}

function allowedLoopbackHost(header: string, port: number): boolean {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(header.trim().toLowerCase())
  if (match === null) return false
  if (match[2] !== undefined && Number(match[2]) !== port) return false
  return isLoopbackHost(match[1]!)
}

function sameOrigin(origin: string, hostHeader: string, options: SecurityOptions): boolean {
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false
  if (options.loopback) return allowedLoopbackHost(url.host, options.port()) && Number(url.port || (url.protocol === 'https:' ? 443 : 80)) === options.port()
  // Behind a name or a proxy the Host header is the name the browser used.
  return url.host.toLowerCase() === hostHeader.toLowerCase()
}
