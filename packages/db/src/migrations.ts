import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely'

/**
 * The migration list, oldest first. Names sort in order; never edit a released migration:
 * add a new one. Each uses only the schema builder, so the same code serves SQLite and
 * PostgreSQL (`bigint` gets INTEGER affinity in SQLite).
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': {
    // Kysely<unknown>: a migration must keep compiling when HistorySchema changes later.
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('workflows')
        .ifNotExists()
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('digest', 'text', c => c.notNull())
        .addColumn('first_run_at', 'bigint', c => c.notNull())
        .addPrimaryKeyConstraint('workflows_pk', ['name', 'digest'])
        .execute()

      await db.schema
        .createTable('runs')
        .ifNotExists()
        .addColumn('id', 'text', c => c.primaryKey())
        .addColumn('workflow', 'text', c => c.notNull())
        .addColumn('digest', 'text', c => c.notNull())
        .addColumn('status', 'text', c => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('started_at', 'bigint', c => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('heartbeat_at', 'bigint', c => c.notNull())
        .addColumn('host', 'text', c => c.notNull())
        .addColumn('pid', 'integer', c => c.notNull())
        .addColumn('run_dir', 'text', c => c.notNull())
        .addColumn('config', 'text', c => c.notNull().defaultTo('{}'))
        .addColumn('node_count', 'integer', c => c.notNull().defaultTo(0))
        .addForeignKeyConstraint('runs_workflow_fk', ['workflow', 'digest'], 'workflows', ['name', 'digest'])
        .execute()
      // Newest-first listing, optionally by workflow or status; `id` breaks ties.
      await db.schema.createIndex('runs_started_at_idx').ifNotExists().on('runs').columns(['started_at', 'id']).execute()
      await db.schema
        .createIndex('runs_workflow_started_at_idx')
        .ifNotExists()
        .on('runs')
        .columns(['workflow', 'started_at', 'id'])
        .execute()
      await db.schema
        .createIndex('runs_status_started_at_idx')
        .ifNotExists()
        .on('runs')
        .columns(['status', 'started_at', 'id'])
        .execute()

      await db.schema
        .createTable('nodes')
        .ifNotExists()
        .addColumn('run_id', 'text', c => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('path', 'text', c => c.notNull())
        .addColumn('ordinal', 'integer', c => c.notNull())
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('parent_path', 'text')
        .addColumn('kind', 'text', c => c.notNull())
        .addColumn('display', 'text')
        .addColumn('status', 'text', c => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('signal', 'text')
        .addColumn('error_message', 'text')
        .addColumn('error_detail', 'text')
        .addColumn('skip_reason', 'text')
        .addColumn('attempts', 'integer', c => c.notNull().defaultTo(0))
        .addColumn('started_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .addPrimaryKeyConstraint('nodes_pk', ['run_id', 'path'])
        .execute()

      await db.schema
        .createTable('attempts')
        .ifNotExists()
        .addColumn('run_id', 'text', c => c.notNull())
        .addColumn('node_path', 'text', c => c.notNull())
        .addColumn('attempt', 'integer', c => c.notNull())
        .addColumn('status', 'text', c => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('signal', 'text')
        .addColumn('error_message', 'text')
        .addColumn('error_detail', 'text')
        .addColumn('started_at', 'bigint', c => c.notNull())
        .addColumn('ended_at', 'bigint', c => c.notNull())
        .addPrimaryKeyConstraint('attempts_pk', ['run_id', 'node_path', 'attempt'])
        .addForeignKeyConstraint('attempts_node_fk', ['run_id', 'node_path'], 'nodes', ['run_id', 'path'], c =>
          c.onDelete('cascade'),
        )
        .execute()

      await db.schema
        .createTable('artifacts')
        .ifNotExists()
        .addColumn('run_id', 'text', c => c.notNull())
        .addColumn('node_path', 'text', c => c.notNull())
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('ordinal', 'integer', c => c.notNull())
        .addColumn('attempt', 'integer')
        .addColumn('path', 'text', c => c.notNull())
        .addColumn('size', 'bigint', c => c.notNull())
        .addColumn('sha256', 'text', c => c.notNull())
        .addPrimaryKeyConstraint('artifacts_pk', ['run_id', 'node_path', 'ordinal'])
        .addForeignKeyConstraint('artifacts_node_fk', ['run_id', 'node_path'], 'nodes', ['run_id', 'path'], c =>
          c.onDelete('cascade'),
        )
        .execute()
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of ['artifacts', 'attempts', 'nodes', 'runs', 'workflows']) {
        await sql`drop table if exists ${sql.table(table)}`.execute(db)
      }
    },
  },
}

/** The in-code provider the `Migrator` reads `MIGRATIONS` from (no migration files on disk). */
export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return { ...MIGRATIONS }
  },
}

/** The name of the newest migration: a database at this version is up to date. */
export const LATEST_MIGRATION: string = Object.keys(MIGRATIONS).sort().at(-1)!
