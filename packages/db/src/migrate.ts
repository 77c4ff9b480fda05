import { setTimeout as sleep } from 'node:timers/promises'
import { Migrator, sql, type Kysely } from 'kysely'
import type { HistoryDialect } from './dialect/history-dialect.js'
import { MigrationError } from './errors.js'
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
  if (applied?.includes(LATEST_MIGRATION)) return []
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

/** The names of the applied migrations; null for a database without the migration table (a new one). */
async function appliedMigrations(db: Kysely<HistorySchema>): Promise<string[] | null> {
  try {
    return (await sql<{ name: string }>`select name from kysely_migration`.execute(db)).rows.map(row => row.name)
  } catch {
    return null
  }
}
