import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely'

/**
 * The one schema both dialects share. Times are epoch milliseconds in `bigint` columns
 * (INTEGER affinity in SQLite): they compare, sort and filter the same way everywhere.
 * Errors keep their message in one column (what documents show) and the rest
 * (`name`, `stack`, `code`) as JSON in another.
 */
export interface HistorySchema {
  workflows: WorkflowsTable
  runs: RunsTable
  nodes: NodesTable
  attempts: AttemptsTable
  artifacts: ArtifactsTable
  run_requests: RunRequestsTable
  maintenance: MaintenanceTable
  cache_entries: CacheEntriesTable
}

/** One cache entry per key: the node that succeeded with it (migration 0003). */
export interface CacheEntriesTable {
  key: string
  workflow: string
  node_path: string
  run_id: string
  created_at: number
  /** JSON: the key's parts, name → sha256. */
  parts: string
  exit_code: number | null
  /** JSON: the node's artifacts (`ArtifactInfo[]`) in that run's directory. */
  artifacts: string
}

/** When a periodic task (retention) last ran (migration 0003). */
export interface MaintenanceTable {
  task: string
  last_at: number
}

/** Epoch milliseconds. */
type Millis = number

export interface WorkflowsTable {
  name: string
  /** sha256 of the tree definition, from `run:start`. */
  digest: string
  first_run_at: Millis
}

export interface RunsTable {
  id: string
  workflow: string
  digest: string
  /** `queued | running | succeeded | failed | cancelled | crashed` (`queued`: waiting for a `wtflow serve` slot) */
  status: string
  exit_code: number | null
  started_at: Millis
  ended_at: Millis | null
  /** Written every few seconds by the recorder while the run is `running`. */
  heartbeat_at: Millis
  host: string
  pid: number
  /** `<boot id>:<start time>` of the recording process (Linux), or null: a reused pid is not the writer. */
  process_start: string | null
  /** When `wtflow cancel` asked for the run to stop; the recording process polls it with its heartbeat. */
  cancel_requested_at: ColumnType<Millis | null, Millis | null | undefined, Millis | null>
  /** `<artifacts_dir>/<run id>`; retention removes it. */
  run_dir: string
  /** JSON of the effective configuration without secrets (`run:start.config`). */
  config: string
  node_count: number
  /** Absolute path of the script or flow file the workflow came from, when known (migration 0003). */
  script: ColumnType<string | null, string | null | undefined, string | null>
  /** JSON of the workflow's inputs, or null. */
  inputs: ColumnType<string | null, string | null | undefined, string | null>
  /** JSON of the plan document (`RunPlan.toJSON()`, secrets masked): each node's digest. */
  plan: ColumnType<string | null, string | null | undefined, string | null>
  /** The id of the run this one resumed. */
  resumed_from: ColumnType<string | null, string | null | undefined, string | null>
  /** A declarative flow's document: JSON `{ format, text }` (secrets masked). */
  flow: ColumnType<string | null, string | null | undefined, string | null>
}

export interface NodesTable {
  run_id: string
  /** Position in tree order (parents before children, definition order): the node's key in its run. */
  ordinal: number
  /** Names from the root joined by `/`; unique in the run. */
  path: string
  /** `pathKey(path)`: what the path index holds (a path can be longer than an index entry may be). */
  path_key: string
  name: string
  /** The parent's ordinal; null for the root. */
  parent_ordinal: number | null
  /** `command | func | group` */
  kind: string
  display: string | null
  status: string
  exit_code: number | null
  signal: string | null
  error_message: string | null
  /** JSON `{ name, stack, code }` of the error, or null. */
  error_detail: string | null
  skip_reason: string | null
  /** 1: a failure `continueOnFailure` tolerated. */
  tolerated: ColumnType<number, number | undefined, number>
  attempts: ColumnType<number, number | undefined, number>
  started_at: Millis | null
  ended_at: Millis | null
  /** A `cached` node: the run and path whose outcome it reused (migration 0003). */
  reused_from_run: ColumnType<string | null, string | null | undefined, string | null>
  reused_from_path: ColumnType<string | null, string | null | undefined, string | null>
  /** A node with `cache`: its key, and JSON `{ parts, hit, comparedWith }` (hashes only). */
  cache_key: ColumnType<string | null, string | null | undefined, string | null>
  cache_info: ColumnType<string | null, string | null | undefined, string | null>
}

export interface AttemptsTable {
  run_id: string
  /** `nodes.ordinal` of the node. */
  node_ordinal: number
  attempt: number
  status: string
  exit_code: number | null
  signal: string | null
  error_message: string | null
  error_detail: string | null
  started_at: Millis
  ended_at: Millis
}

export interface ArtifactsTable {
  run_id: string
  /** `nodes.ordinal` of the node. */
  node_ordinal: number
  /** Position in the node's artifact list. */
  ordinal: number
  name: string
  /** The attempt that wrote the file, when known. */
  attempt: number | null
  path: string
  size: number
  sha256: string
}

/** What `wtflow serve` was asked to run (migration 0003): one row per run it accepted. */
export interface RunRequestsTable {
  run_id: string
  /** `workflow` (registered from a script) or `flow` (a posted flow document). */
  kind: string
  workflow: string
  /** Absolute path of the script that defines the workflow (kind `workflow`). */
  script: string | null
  /** JSON: `{ inputs, flow? }`. */
  request: string
  queued_at: Millis
  /** `host:pid` of the server that started it, or `cancelled`; null while it waits. */
  claimed_by: string | null
  claimed_at: Millis | null
  /** Why it could not be started, if it could not. */
  error: string | null
}

export type RunRow = Selectable<RunsTable>
export type NewRunRow = Insertable<RunsTable>
export type NodeRow = Selectable<NodesTable>
export type NewNodeRow = Insertable<NodesTable>
export type NodeUpdate = Updateable<NodesTable>
export type NewAttemptRow = Insertable<AttemptsTable>
export type AttemptRow = Selectable<AttemptsTable>
export type NewArtifactRow = Insertable<ArtifactsTable>
export type ArtifactRow = Selectable<ArtifactsTable>
