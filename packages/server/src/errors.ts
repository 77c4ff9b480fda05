import { WtflowError } from '@wtflow/core'

/**
 * Error codes of `@wtflow/server`, with the HTTP status each answers. Every error a route
 * answers is a `ServerError` (or a core/db `WtflowError` mapped by `statusOf`), sent as
 * `{ "error": { "code", "message" } }`.
 */
export const SERVER_ERROR_CODES = {
  WTFLOW_SERVER_BAD_REQUEST: 400,
  WTFLOW_SERVER_UNAUTHORIZED: 401,
  WTFLOW_SERVER_FORBIDDEN: 403,
  WTFLOW_SERVER_INLINE_FLOWS_OFF: 403,
  WTFLOW_SERVER_NOT_FOUND: 404,
  WTFLOW_SERVER_UNKNOWN_WORKFLOW: 404,
  WTFLOW_SERVER_RUN_ENDED: 409,
  WTFLOW_SERVER_RUN_ELSEWHERE: 409,
  WTFLOW_SERVER_CANNOT_RESUME: 409,
  WTFLOW_SERVER_BODY_TOO_LARGE: 413,
  WTFLOW_SERVER_NOT_AVAILABLE: 501,
  WTFLOW_SERVER_DATABASE: 503,
  WTFLOW_SERVER_START: 500,
} as const

export type ServerErrorCode = keyof typeof SERVER_ERROR_CODES

/** An error a route answers with its status (see `SERVER_ERROR_CODES`). */
export class ServerError extends WtflowError {
  declare readonly code: ServerErrorCode
  readonly status: number

  constructor(code: ServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.status = SERVER_ERROR_CODES[code]
  }
}

/** The HTTP status for any error a route throws: known codes of core and db, else 500. */
export function statusOf(error: unknown): number {
  if (error instanceof ServerError) return error.status
  switch ((error as { code?: unknown } | null)?.code) {
    case 'WTFLOW_RUN_NOT_FOUND':
    case 'WTFLOW_NODE_NOT_FOUND':
      return 404
    case 'WTFLOW_RUN_AMBIGUOUS':
    case 'WTFLOW_VALIDATION':
    case 'WTFLOW_CONFIG':
    case 'WTFLOW_FLOW_INVALID':
    case 'WTFLOW_INPUT':
      return 400
    default:
      return 500
  }
}

/** The JSON body of an error answer. A 500 hides the message (it may hold paths); the log has it. */
export function errorBody(error: unknown): { error: { code: string; message: string } } {
  const status = statusOf(error)
  const code = (error as { code?: unknown } | null)?.code
  if (status === 500 || typeof code !== 'string') {
    return { error: { code: 'WTFLOW_SERVER_INTERNAL', message: 'internal error; the server log has the details' } }
  }
  return { error: { code, message: error instanceof Error ? error.message : String(error) } }
}
