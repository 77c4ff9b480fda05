import { WtflowError } from '@wtflow/core'

/** No run id starts with the given prefix. Code `WTFLOW_RUN_NOT_FOUND`. */
export class RunNotFoundError extends WtflowError {
  readonly runId: string

  constructor(runId: string) {
    super('WTFLOW_RUN_NOT_FOUND', `no run with id "${runId}"; \`wtflow runs\` lists the recorded runs`)
    this.runId = runId
  }
}

/** Several run ids start with the given prefix. Code `WTFLOW_RUN_AMBIGUOUS`. */
export class AmbiguousRunIdError extends WtflowError {
  readonly prefix: string
  /** Some of the matching ids (at most 5). */
  readonly candidates: readonly string[]

  constructor(prefix: string, candidates: readonly string[]) {
    const shown = candidates.slice(0, 5)
    super(
      'WTFLOW_RUN_AMBIGUOUS',
      `run id prefix "${prefix}" matches several runs (${shown.join(', ')}${candidates.length > shown.length ? ', …' : ''}); give more characters`,
    )
    this.prefix = prefix
    this.candidates = shown
  }
}

/** The run has no node at that path. Code `WTFLOW_NODE_NOT_FOUND`. */
export class NodeNotFoundError extends WtflowError {
  readonly runId: string
  readonly nodePath: string

  constructor(runId: string, nodePath: string, known: readonly string[]) {
    const hint = known.length === 0 ? '' : `; its nodes are ${known.slice(0, 10).map(p => `"${p}"`).join(', ')}${known.length > 10 ? ', …' : ''}`
    super('WTFLOW_NODE_NOT_FOUND', `run ${runId} has no node "${nodePath}"${hint}`)
    this.runId = runId
    this.nodePath = nodePath
  }
}

/** The schema could not be brought up to date. Code `WTFLOW_DB_MIGRATION`. */
export class MigrationError extends WtflowError {
  readonly migration: string | null

  constructor(migration: string | null, database: string, options: { cause?: unknown }) {
    const what = migration === null ? 'migrating' : `migration ${migration}`
    super('WTFLOW_DB_MIGRATION', `${what} failed on ${database}: ${messageOf(options.cause)}`, options)
    this.migration = migration
  }
}

/**
 * Some history writes failed even after retries; the run itself is unaffected but its record
 * is incomplete. Code `WTFLOW_DB_WRITE`. `cause` is the first failure.
 */
export class RecordingError extends WtflowError {
  /** Statements that could not be written. */
  readonly lostWrites: number

  constructor(lostWrites: number, database: string, options: { cause?: unknown }) {
    super(
      'WTFLOW_DB_WRITE',
      `${lostWrites} history write(s) to ${database} failed: ${messageOf(options.cause)}; the run's record is incomplete`,
      options,
    )
    this.lostWrites = lostWrites
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * The database was written by a newer wtflow (it has migrations this version does not know), or
 * holds tables that are not a wtflow history. Nothing was changed. Code `WTFLOW_DB_NEWER` or
 * `WTFLOW_DB_FOREIGN`.
 */
export class HistoryMismatchError extends WtflowError {
  constructor(code: 'WTFLOW_DB_NEWER' | 'WTFLOW_DB_FOREIGN', message: string) {
    super(code, message)
  }
}

/** A run that is still running (or queued) cannot be resumed. Code `WTFLOW_RUN_NOT_FINISHED`. */
export class RunNotFinishedError extends WtflowError {
  readonly runId: string

  constructor(runId: string, status: string) {
    super('WTFLOW_RUN_NOT_FINISHED', `run ${runId} is still ${status}; only a finished run can be resumed (wait for it, or \`wtflow cancel ${runId}\`)`)
    this.runId = runId
  }
}
