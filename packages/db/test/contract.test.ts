import { describe, expect, it } from 'vitest'
import * as db from '../src/index.js'
import * as internal from '../src/internal.js'

describe('the public contract of @wtflow/db', () => {
  it('exports exactly these values (types aside); anything else belongs under @wtflow/db/internal', () => {
    expect(Object.keys(db).sort()).toMatchInlineSnapshot(`
      [
        "AmbiguousRunIdError",
        "DEFAULT_HEARTBEAT_MS",
        "DEFAULT_STALE_AFTER_MS",
        "HistoryCacheStore",
        "HistoryDatabase",
        "HistoryMismatchError",
        "LATEST_MIGRATION",
        "MIGRATIONS",
        "MigrationError",
        "NodeNotFoundError",
        "Recorder",
        "RecordingError",
        "RunNotFinishedError",
        "RunNotFoundError",
        "attachRecorder",
        "isPidAlive",
        "migrationProvider",
        "openDatabase",
        "preloadDatabaseDriver",
      ]
    `)
    expect(Object.keys(internal).sort()).toMatchInlineSnapshot(`
      [
        "insertRuns",
        "pathKey",
        "processStart",
        "syntheticPlan",
        "syntheticRun",
      ]
    `)
  })
})
