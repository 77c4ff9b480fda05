import { PostgresAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely'

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
  '0002_ordinal_keys': {
    // Nodes are keyed by their ordinal, not their path: a 1,000-deep tree has 2 KB paths, and
    // every attempt and artifact row, every index entry and every update repeated them (SQLite
    // spilled them to overflow pages; PostgreSQL cannot index a value over ~2.7 KB at all, so a
    // deep enough tree could not be recorded). The path stays a column, indexed through
    // `path_key` (a hash, see writes.ts `pathKey`); the parent becomes `parent_ordinal`, and
    // attempts and artifacts point at `node_ordinal`. Existing rows are copied over.
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('nodes_v2')
        .addColumn('run_id', 'text', c => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('ordinal', 'integer', c => c.notNull())
        .addColumn('path', 'text', c => c.notNull())
        .addColumn('path_key', 'text', c => c.notNull())
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('parent_ordinal', 'integer')
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
        .addPrimaryKeyConstraint('nodes_v2_pk', ['run_id', 'ordinal'])
        .execute()
      await db.schema
        .createTable('attempts_v2')
        .addColumn('run_id', 'text', c => c.notNull())
        .addColumn('node_ordinal', 'integer', c => c.notNull())
        .addColumn('attempt', 'integer', c => c.notNull())
        .addColumn('status', 'text', c => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('signal', 'text')
        .addColumn('error_message', 'text')
        .addColumn('error_detail', 'text')
        .addColumn('started_at', 'bigint', c => c.notNull())
        .addColumn('ended_at', 'bigint', c => c.notNull())
        .addPrimaryKeyConstraint('attempts_v2_pk', ['run_id', 'node_ordinal', 'attempt'])
        .addForeignKeyConstraint('attempts_v2_node_fk', ['run_id', 'node_ordinal'], 'nodes_v2', ['run_id', 'ordinal'], c => c.onDelete('cascade'))
        .execute()
      await db.schema
        .createTable('artifacts_v2')
        .addColumn('run_id', 'text', c => c.notNull())
        .addColumn('node_ordinal', 'integer', c => c.notNull())
        .addColumn('ordinal', 'integer', c => c.notNull())
        .addColumn('name', 'text', c => c.notNull())
        .addColumn('attempt', 'integer')
        .addColumn('path', 'text', c => c.notNull())
        .addColumn('size', 'bigint', c => c.notNull())
        .addColumn('sha256', 'text', c => c.notNull())
        .addPrimaryKeyConstraint('artifacts_v2_pk', ['run_id', 'node_ordinal', 'ordinal'])
        .addForeignKeyConstraint('artifacts_v2_node_fk', ['run_id', 'node_ordinal'], 'nodes_v2', ['run_id', 'ordinal'], c => c.onDelete('cascade'))
        .execute()

      // SQLite connections get wtflow_path_key() from the dialect (sqlite-history-dialect.ts).
      const key = db.getExecutor().adapter instanceof PostgresAdapter ? sql`left(encode(sha256(convert_to(n.path, 'UTF8')), 'hex'), 32)` : sql`wtflow_path_key(n.path)`
      await sql`
        insert into nodes_v2 (run_id, ordinal, path, path_key, name, parent_ordinal, kind, display, status, exit_code, signal,
                              error_message, error_detail, skip_reason, attempts, started_at, ended_at)
        select n.run_id, n.ordinal, n.path, ${key}, n.name, p.ordinal, n.kind, n.display, n.status, n.exit_code, n.signal,
               n.error_message, n.error_detail, n.skip_reason, n.attempts, n.started_at, n.ended_at
        from nodes n left join nodes p on p.run_id = n.run_id and p.path = n.parent_path`.execute(db)
      await sql`
        insert into attempts_v2 (run_id, node_ordinal, attempt, status, exit_code, signal, error_message, error_detail, started_at, ended_at)
        select a.run_id, n.ordinal, a.attempt, a.status, a.exit_code, a.signal, a.error_message, a.error_detail, a.started_at, a.ended_at
        from attempts a join nodes n on n.run_id = a.run_id and n.path = a.node_path`.execute(db)
      await sql`
        insert into artifacts_v2 (run_id, node_ordinal, ordinal, name, attempt, path, size, sha256)
        select a.run_id, n.ordinal, a.ordinal, a.name, a.attempt, a.path, a.size, a.sha256
        from artifacts a join nodes n on n.run_id = a.run_id and n.path = a.node_path`.execute(db)

      for (const table of ['artifacts', 'attempts', 'nodes']) await db.schema.dropTable(table).execute()
      // SQLite rewrites the foreign keys of attempts_v2/artifacts_v2 to follow the rename.
      for (const table of ['nodes', 'attempts', 'artifacts']) await db.schema.alterTable(`${table}_v2`).renameTo(table).execute()
      await db.schema.createIndex('nodes_path_key_idx').unique().on('nodes').columns(['run_id', 'path_key']).execute()
    },
    async down(): Promise<void> {
      throw new Error('0002_ordinal_keys cannot be undone: restore a backup taken before the upgrade')
    },
  },
  '0003_milestone_2': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Which process records a run, beyond its pid: `<boot id>:<start time>` tells a live writer
      // from a later process that got its pid, whatever the clocks say.
      await db.schema.alterTable('runs').addColumn('process_start', 'text').execute()
      // `wtflow serve` records what it was asked to run before the run starts: a run waiting for a
      // slot is a `runs` row with status `queued` (digest '' until it starts) plus its request
      // here, so that it still starts after a server restart. `claimed_by` (`host:pid` of the
      // server that took it) keeps two servers on one history from starting it twice.
      await db.schema
        .createTable('run_requests')
        .addColumn('run_id', 'text', c => c.primaryKey().references('runs.id').onDelete('cascade'))
        .addColumn('kind', 'text', c => c.notNull())
        .addColumn('workflow', 'text', c => c.notNull())
        .addColumn('script', 'text')
        .addColumn('request', 'text', c => c.notNull())
        .addColumn('queued_at', 'bigint', c => c.notNull())
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_at', 'bigint')
        .addColumn('error', 'text')
        .execute()
      // Resume (issue 15): what a run was made of, so that `wtflow resume` can load it again and
      // tell which nodes are unchanged: the script's absolute path, the inputs (JSON), the plan
      // document (JSON, secrets masked; each node's digest), and the run it resumed. A node that
      // reused an earlier outcome (`cached`) names where it came from.
      await db.schema.alterTable('runs').addColumn('script', 'text').execute()
      await db.schema.alterTable('runs').addColumn('inputs', 'text').execute()
      await db.schema.alterTable('runs').addColumn('plan', 'text').execute()
      await db.schema.alterTable('runs').addColumn('resumed_from', 'text').execute()
      await db.schema.alterTable('runs').addColumn('flow', 'text').execute()
      await db.schema.alterTable('nodes').addColumn('reused_from_run', 'text').execute()
      await db.schema.alterTable('nodes').addColumn('reused_from_path', 'text').execute()
      // Retention finds ended runs by end time; `maintenance` remembers when it last ran (`[retention]`
      // settings apply it after a run at most once an hour, whichever process gets there first).
      await db.schema.createIndex('runs_ended_at_idx').on('runs').columns(['ended_at', 'id']).execute()
      await db.schema
        .createTable('maintenance')
        .addColumn('task', 'text', c => c.primaryKey())
        .addColumn('last_at', 'bigint', c => c.notNull())
        .execute()
      // A failure `continueOnFailure` tolerated (shown `failed (tolerated)`, `"tolerated": true`).
      await db.schema.alterTable('nodes').addColumn('tolerated', 'integer', c => c.notNull().defaultTo(0)).execute()
      // Caching (`cache` on a node): one entry per key, the node that succeeded with it; a node
      // records its key and the key's parts (hashes only) for `wtflow cache explain`.
      await db.schema
        .createTable('cache_entries')
        .addColumn('key', 'text', c => c.primaryKey())
        .addColumn('workflow', 'text', c => c.notNull())
        .addColumn('node_path', 'text', c => c.notNull())
        .addColumn('run_id', 'text', c => c.notNull())
        .addColumn('created_at', 'bigint', c => c.notNull())
        .addColumn('parts', 'text', c => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('artifacts', 'text', c => c.notNull())
        .execute()
      await db.schema.createIndex('cache_entries_node_idx').on('cache_entries').columns(['workflow', 'node_path', 'created_at']).execute()
      await db.schema.alterTable('nodes').addColumn('cache_key', 'text').execute()
      await db.schema.alterTable('nodes').addColumn('cache_info', 'text').execute()
      // `wtflow cancel` from another host (or for a process it cannot signal) leaves its request
      // here; the recorder of the run reads it with each heartbeat and cancels the run.
      await db.schema.alterTable('runs').addColumn('cancel_requested_at', 'bigint').execute()
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
