/**
 * Which PostgreSQL failures deserve a retry on a fresh connection, and how a failed first
 * connection is explained to the user (without the password).
 */

/** SQLSTATE classes and codes after which the same statement may succeed on a new connection. */
// 53100: the server's disk is full (a write succeeds once there is room again).
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '40001', '40P01', '53100', '53300'])
const TRANSIENT_ERRNOS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])
const TRANSIENT_MESSAGES = [
  'Connection terminated',
  'connection error',
  'not queryable',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'terminating connection',
]

export function isTransientPostgresError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && (TRANSIENT_SQLSTATES.has(code) || code.startsWith('08') || TRANSIENT_ERRNOS.has(code))) {
    return true
  }
  const message = error instanceof Error ? error.message : ''
  return TRANSIENT_MESSAGES.some(text => message.includes(text))
}

/** Why the first connection failed, in words that say what to check. */
export function explainConnectError(error: unknown, connectTimeoutMs: number): string {
  const code = (error as { code?: unknown } | null)?.code
  const message = error instanceof Error ? error.message : String(error)
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused; is the server running, and are the host and port right?'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve; check the host in the URL'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'the host is unreachable; check the host in the URL and the network'
    case '28P01':
      return `${message}; check the user and password in the URL`
    case '28000':
      return `${message}; check the user in the URL and the server's pg_hba.conf`
    case '3D000':
      return `${message}; create the database or fix its name in the URL`
  }
  if (/timeout/i.test(message)) {
    return `no answer within ${connectTimeoutMs} ms; is the host right and the port open?`
  }
  return message
}

/** Replaces a password (raw and URL-encoded) wherever it appears in a text. */
export function scrubPassword(text: string, password: string): string {
  if (password === '') return text
  let result = text
  for (const form of new Set([password, encodeURIComponent(password)])) result = result.split(form).join('***')
  return result
}
