import { setTimeout as sleep } from 'node:timers/promises'
import { Migrator, sql, type Kysely } from 'kysely'
import type { HistoryDialect } from './dialect/history-dialect.js'
import { HistoryMismatchError, MigrationError } from './errors.js'
import { LATEST_MIGRATION, MIGRATIONS, migrationProvider } from './migrations.js'
import type { HistorySchema } from './schema.js'

/**
 * Applies the migrations a database lacks; resolves to their names. Concurrent openers (two
 * runs starting on a new file) are safe: a lost race is retried.
 */
export async function migrateToLatest(db: Kysely<HistorySchema>, dialect: HistoryDialect, onUpgrade?: (pending: string[]) => void): Promise<string[]> {
  // The common case, an up-to-date database, costs one small query (kysely's Migrator
  // introspects every schema of the database first).
  const applied = await appliedMigrations(db)
  if (applied !== null && applied.length > 0 && !applied.some(name => name in MIGRATIONS)) {
    // Another kysely application's migrations, not a newer wtflow's.
    throw foreign(dialect, ['kysely_migration'])
  }
  const unknown = applied?.filter(name => !(name in MIGRATIONS)) ?? []
  if (unknown.length > 0) {
    throw new HistoryMismatchError(
      'WTFLOW_DB_NEWER',
      `the run history ${dialect.description} was written by a newer version of wtflow (it has migration ${unknown.join(', ')}, which this version does not know); upgrade wtflow (npm i -D @wtflow/cli@latest), or point WTFLOW_DB_URL at another database. Nothing was changed`,
    )
  }
  if (applied?.includes(LATEST_MIGRATION)) return []
  if (applied === null) {
    // No wtflow history here yet: never add tables beside another application's.
    // Kysely's own tables may be another wtflow process migrating this new database right now.
    const tables = (await dialect.listTables(db)).filter(table => !MIGRATOR_TABLES.has(table))
    if (tables.length > 0) throw foreign(dialect, tables)
  }
  if (applied !== null && applied.length > 0) onUpgrade?.(Object.keys(MIGRATIONS).sort().filter(name => !applied.includes(name)))
  for (let attempt = 1; ; attempt++) {
    const migrator = new Migrator({
      db,
      provider: migrationProvider,
      // Kysely looks for its tables in every schema unless told which one is ours.
      ...(dialect.schema === undefined ? {} : { migrationTableSchema: dialect.schema }),
    })
    const { error, results } = await migrator.migrateToLatest()
    if (error === undefined) {
      return (results ?? []).filter(r => r.status === 'Success').map(r => r.migrationName)
    }
    if ((await appliedMigrations(db))?.includes(LATEST_MIGRATION)) return []
    // A lost race with another process migrating (or a schema dropped while kysely scanned the
    // catalog) is worth another try; each migration runs in one transaction, so a failed one
    // left nothing behind.
    if (attempt < 5) {
      await sleep(50 * attempt)
      continue
    }
    const failed = results?.find(r => r.status === 'Error')?.migrationName ?? null
    throw new MigrationError(failed, dialect.description, { cause: error })
  }
}

const MIGRATOR_TABLES = new Set(['kysely_migration', 'kysely_migration_lock'])

function foreign(dialect: HistoryDialect, tables: string[]): HistoryMismatchError {
  return new HistoryMismatchError(
    'WTFLOW_DB_FOREIGN',
    `${dialect.description} is not a wtflow run history: it already holds other tables (${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', …' : ''}); point WTFLOW_DB_URL at a new file or an empty database (or PostgreSQL schema). Nothing was changed`,
  )
}

/** The names of the applied migrations; null for a database without the migration table (a new one). */
async function appliedMigrations(db: Kysely<HistorySchema>): Promise<string[] | null> {
  try {
    return (await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows.map(row => row.name)
  } catch {
    return null
  }
}
