import { WtflowError, isWtflowError, type ErrorCode } from '@wtflow/core'
import { outputFor } from './terminal.js'

/** Exit codes of every `wtflow` command. */
export const ExitCode = {
  /** Everything succeeded. */
  ok: 0,
  /** A node failed (or, for history commands, what was asked for does not exist). */
  failed: 1,
  /** Usage, validation, configuration or database error: nothing ran. */
  usage: 2,
  /** Interrupted (Ctrl-C, SIGTERM). */
  interrupted: 130,
} as const

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/**
 * An error the CLI reports as one short paragraph: what went wrong and what to do about it.
 * Its stack is only shown with `WTFLOW_DEBUG=1`. Code `WTFLOW_USAGE` unless given.
 */
export class CliError extends WtflowError {
  readonly exitCode: ExitCode

  constructor(message: string, options: { exitCode?: ExitCode; cause?: unknown; code?: ErrorCode } = {}) {
    super(options.code ?? 'WTFLOW_USAGE', message, { cause: options.cause })
    this.exitCode = options.exitCode ?? ExitCode.usage
  }
}

/** Errors of @wtflow/core and @wtflow/db by their stable `code`, with the exit code they map to. */
function describeKnown(error: unknown): { message: string; exitCode: ExitCode } | null {
  if (!isWtflowError(error)) return null
  switch (error.code) {
    case 'WTFLOW_VALIDATION':
      return { message: `invalid workflow: ${sentence(error.message)} Fix the workflow definition; nothing was run.`, exitCode: ExitCode.usage }
    case 'WTFLOW_CONFIG': {
      const hint =
        (error as { key?: unknown }).key === 'database.url'
          ? ' Fix the URL, or set WTFLOW_DB_URL=none to run without recording history.'
          : ''
      return { message: `configuration error: ${sentence(error.message)}${hint}`, exitCode: ExitCode.usage }
    }
    case 'WTFLOW_RUN_NOT_FOUND':
    case 'WTFLOW_RUN_AMBIGUOUS':
    case 'WTFLOW_NODE_NOT_FOUND':
    case 'WTFLOW_RUN_NOT_FINISHED':
    case 'WTFLOW_STORAGE':
    case 'WTFLOW_INPUT':
    case 'WTFLOW_DB_NEWER':
    case 'WTFLOW_DB_FOREIGN':
      return { message: sentence(error.message), exitCode: ExitCode.usage }
    case 'WTFLOW_DB_WRITE':
      return { message: `${sentence(error.message)} The run itself is as its summary says, and its artifacts are on disk.`, exitCode: ExitCode.usage }
    default:
      return null
  }
}

export function sentence(message: string): string {
  return /[.!?]$/.test(message) ? message : `${message}.`
}

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode
  return describeKnown(error)?.exitCode ?? ExitCode.usage
}

export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.WTFLOW_DEBUG?.toLowerCase()
  return value !== undefined && value !== '' && value !== '0' && value !== 'false'
}

/** The paragraph shown for an error; with `WTFLOW_DEBUG=1`, followed by stacks and causes. */
export function formatError(error: unknown, debug = debugEnabled()): string {
  let text: string
  if (error instanceof CliError) text = error.message
  else if (describeKnown(error) !== null) text = describeKnown(error)!.message
  else if (error instanceof Error) text = `unexpected error: ${error.message}`
  else text = `unexpected error: ${String(error)}`
  if (!debug) {
    if (!(error instanceof CliError) && describeKnown(error) === null) {
      text += ' Set WTFLOW_DEBUG=1 to see the stack trace; if it looks like a bug in wtflow, please report it.'
    }
    return text
  }
  const details: string[] = []
  for (let cause: unknown = error, depth = 0; cause !== undefined && cause !== null && depth < 5; depth++) {
    details.push(cause instanceof Error ? (cause.stack ?? `${cause.name}: ${cause.message}`) : String(cause))
    cause = cause instanceof Error ? cause.cause : undefined
  }
  return `${text}\n\n${details.join('\n\ncaused by: ')}`
}

/** Prints `wtflow: error: …` on stderr. */
export function printError(error: unknown): void {
  const out = outputFor(process.stderr)
  out.write(`${out.style.red(out.style.bold('wtflow: error:'))} ${formatError(error)}\n`)
}
