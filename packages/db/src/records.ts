import type { ArtifactInfo, AttemptResult, NodeResult, PlanDocument, PreviousRun, RunStatus, SerializedError } from '@wtflow/core'

/** Filters of `listRuns`. Time bounds apply to the start time: `since` inclusive, `until` exclusive. */
export interface ListRunsOptions {
  workflow?: string
  status?: RunStatus | readonly RunStatus[]
  since?: Date
  until?: Date
  /** Default 50; null: every matching run. */
  limit?: number | null
  offset?: number
}

/** A run's metadata, beyond its document. */
export interface RunInfo {
  id: string
  workflow: string
  /** sha256 of the workflow's tree definition. */
  digest: string
  status: RunStatus
  exitCode: number | null
  startedAt: Date
  endedAt: Date | null
  /** Last sign of life of the recording process. */
  heartbeatAt: Date
  host: string
  pid: number
  /** `<boot id>:<start time>` of the recording process (Linux), or null: tells it from a later process with its pid. */
  processStart: string | null
  /** When `wtflow cancel` asked the run to stop, or null. */
  cancelRequestedAt: Date | null
  /** `<artifacts_dir>/<run id>` */
  runDir: string
  /** The effective configuration of the run, without secrets. */
  config: Record<string, string | number | boolean>
  nodeCount: number
}

/** A finished run as `wtflow resume` reads it (`getResumeSource`): a `PreviousRun` for `decideReuse`, and where it came from. */
export interface ResumeSource extends PreviousRun {
  workflow: string
  status: RunStatus
  /** Absolute path of the script or flow file; null for a run recorded before wtflow kept it. */
  script: string | null
  inputs: Record<string, unknown> | null
  /** The plan document (secrets masked), or null for a run recorded before wtflow kept it. */
  plan: PlanDocument | null
  /** A declarative flow's document as it was run, or null. */
  flow: { format: string; text: string } | null
}

/** An artifact as recorded, with the attempt that wrote it when known. */
export interface ArtifactRecord extends ArtifactInfo {
  attempt: number | null
}

/** One recorded attempt of a node: the engine's attempt result, less its artifacts (recorded per node). */
export type AttemptRecord = Omit<AttemptResult, 'artifacts'>

/** Everything recorded about one node of one run: the engine's node result, as history keeps it. */
export interface NodeRecord
  extends Pick<NodeResult, 'path' | 'name' | 'parentPath' | 'kind' | 'display' | 'status' | 'exitCode' | 'signal' | 'error' | 'skipReason' | 'startedAt' | 'endedAt'> {
  runId: string
  /** Attempts made so far (while running, the current one counts). */
  attemptCount: number
  /** Finished attempts, oldest first. */
  attempts: AttemptRecord[]
  artifacts: ArtifactRecord[]
  /**
   * The node's directory in the artifact store, where `stdout.log`/`stderr.log` appear while it
   * runs (before they are recorded as artifacts): what `wtflow logs --follow` tails.
   */
  dir: string
}

/** What `deleteRunsBefore` removed. */
export interface RetentionResult {
  deletedRuns: string[]
  removedDirs: string[]
  /** Artifact directories that could not be removed (the runs' rows are gone all the same). */
  failures: Array<{ path: string; error: string }>
}

/** A node of a recorded run, as `getRunNodes` lists it: what it ran, besides its document. */
export interface NodeSummary {
  ordinal: number
  path: string
  /** `command`, `func`, …, or `group`. */
  kind: string
  /** The command line or function name; null for a group. */
  display: string | null
}

export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'crashed']

export function iso(ms: number): string {
  return new Date(ms).toISOString()
}

export function toError(message: string | null, detail: string | null): SerializedError | null {
  if (message === null) return null
  const extra = detail === null ? {} : (JSON.parse(detail) as Partial<SerializedError>)
  const error: SerializedError = { name: extra.name ?? 'Error', message }
  if (extra.stack !== undefined) error.stack = extra.stack
  if (extra.code !== undefined) error.code = extra.code
  return error
}

/** Names cannot contain `/`: a node's parent path is its own path less the last segment. */
export function parentPathOf(nodePath: string): string | null {
  const slash = nodePath.lastIndexOf('/')
  return slash === -1 ? null : nodePath.slice(0, slash)
}
