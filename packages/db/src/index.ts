/**
 * @wtflow/db: the record of what ran, when, how it ended and what it printed.
 *
 * - `openDatabase(target)`: SQLite (better-sqlite3) or PostgreSQL (pg) through one kysely
 *   schema and one migration list; `none` → `null` (tracking off).
 * - `attachRecorder(engine, db)`: writes runs as they progress, from the engine's events.
 * - `HistoryDatabase`: `listRuns`, `getRun` (the `wtflow show --json` document), `getNode`,
 *   `getRunNodes`, `getNodeArtifacts`, `deleteRunsBefore` (retention), crash detection.
 */
export { openDatabase, preloadDatabaseDriver, type OpenDatabaseOptions } from './open.js'
export { HistoryDatabase } from './history.js'
export type { CrashReport } from './crash.js'
export type { ListRunsOptions, RunInfo, NodeRecord, NodeSummary, AttemptRecord, ArtifactRecord, RetentionResult, ResumeSource } from './records.js'
export type { GcOptions, GcResult } from './gc.js'
export { attachRecorder, Recorder, type RecorderOptions, type EngineEvents } from './recorder.js'
export { AmbiguousRunIdError, HistoryMismatchError, MigrationError, NodeNotFoundError, RecordingError, RunNotFinishedError, RunNotFoundError } from './errors.js'
export { DEFAULT_HEARTBEAT_MS, DEFAULT_STALE_AFTER_MS, isPidAlive, type LivenessOptions } from './liveness.js'
export { MIGRATIONS, LATEST_MIGRATION, migrationProvider } from './migrations.js'
export type { DialectName, HistoryDialect } from './dialect/history-dialect.js'
export type {
  HistorySchema,
  WorkflowsTable,
  RunsTable,
  NodesTable,
  AttemptsTable,
  ArtifactsTable,
  RunRequestsTable,
} from './schema.js'
