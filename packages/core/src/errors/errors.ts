import type { SerializedError } from '../interfaces.js'
import type { ErrorCode } from './codes.js'

/**
 * What marks a wtflow error, an executable or a reference across copies of @wtflow/core: a
 * user's project and a plugin may each load their own, and `instanceof` only knows one of them.
 */
export const ERROR_BRAND: unique symbol = Symbol.for('wtflow.error') as never

/** Base class of every error wtflow throws on purpose. `code` is stable; match on it, not on messages. */
export class WtflowError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }

  get [ERROR_BRAND](): true {
    return true
  }
}

/**
 * True for an error wtflow made (from any copy of @wtflow/core), optionally with this code.
 *
 * @example
 * try { await engine.run(workflow) } catch (error) {
 *   if (isWtflowError(error, 'WTFLOW_VALIDATION')) console.error(error.message)
 * }
 */
export function isWtflowError<C extends ErrorCode>(error: unknown, code?: C): error is WtflowError & { code: C } {
  if (typeof error !== 'object' || error === null || (error as Record<symbol, unknown>)[ERROR_BRAND] !== true) return false
  return code === undefined || (error as { code?: unknown }).code === code
}

/** The workflow tree is not valid; nothing was started. `nodePath` names the offending node. */
export class ValidationError extends WtflowError {
  readonly nodePath: string | null

  constructor(nodePath: string | null, message: string, options?: { cause?: unknown }) {
    super('WTFLOW_VALIDATION', nodePath === null ? message : `${nodePath}: ${message}`, options)
    this.nodePath = nodePath
  }
}

/** A configuration value is invalid. `source` says where it came from (variable, or file and line). */
export class ConfigError extends WtflowError {
  readonly key: string
  readonly source: string

  constructor(key: string, source: string, message: string, options?: { cause?: unknown }) {
    super('WTFLOW_CONFIG', `${key} (from ${source}): ${message}`, options)
    this.key = key
    this.source = source
  }
}

/** Why a node's attempt failed: a non-zero exit, a signal, a timeout, or an error in the executable. */
export class NodeFailure extends WtflowError {
  readonly exitCode: number | null
  readonly signal: string | null
  readonly timedOut: boolean

  constructor(
    message: string,
    details: { exitCode?: number | null; signal?: string | null; timedOut?: boolean; code?: ErrorCode },
    options?: { cause?: unknown },
  ) {
    super(details.code ?? 'WTFLOW_NODE_FAILED', message, options)
    this.exitCode = details.exitCode ?? null
    this.signal = details.signal ?? null
    this.timedOut = details.timedOut ?? false
  }
}

/** Turns anything thrown into a plain object that survives structured clone and JSON. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return {
      name: error.name,
      message: error.message,
      stack: error.stack,
      code: typeof code === 'string' ? code : undefined,
    }
  }
  return { name: 'Error', message: typeof error === 'string' ? error : JSON.stringify(error) ?? String(error) }
}
