import type { ArtifactInfo, CacheEntry, CacheStore } from '@wtflow/core'
import type { Kysely, Selectable } from 'kysely'
import type { CacheEntriesTable, HistorySchema } from './schema.js'

/** The cache of `cache` nodes, kept in run history (`HistoryDatabase.cacheStore()`). */
export class HistoryCacheStore implements CacheStore {
  readonly #db: Kysely<HistorySchema>

  constructor(db: Kysely<HistorySchema>) {
    this.#db = db
  }

  async lookup(key: string, ttlMs: number | null): Promise<CacheEntry | null> {
    let query = this.#db.selectFrom('cache_entries').selectAll().where('key', '=', key)
    if (ttlMs !== null) query = query.where('created_at', '>=', Date.now() - ttlMs)
    const row = await query.executeTakeFirst()
    return row === undefined ? null : toEntry(row)
  }

  async latest(workflow: string, path: string): Promise<CacheEntry | null> {
    const row = await this.#db
      .selectFrom('cache_entries')
      .selectAll()
      .where('workflow', '=', workflow)
      .where('node_path', '=', path)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst()
    return row === undefined ? null : toEntry(row)
  }

  async store(entry: CacheEntry, options: { replace: boolean }): Promise<void> {
    const row = {
      key: entry.key,
      workflow: entry.workflow,
      node_path: entry.path,
      run_id: entry.runId,
      created_at: entry.createdAt.getTime(),
      parts: JSON.stringify(entry.parts),
      exit_code: entry.exitCode,
      artifacts: JSON.stringify(entry.artifacts),
    }
    // One entry per key: two runs computing the same key at once store it once.
    await this.#db
      .insertInto('cache_entries')
      .values(row)
      .onConflict(oc =>
        options.replace
          ? oc.column('key').doUpdateSet({ run_id: row.run_id, created_at: row.created_at, parts: row.parts, exit_code: row.exit_code, artifacts: row.artifacts, workflow: row.workflow, node_path: row.node_path })
          : oc.column('key').doNothing(),
      )
      .execute()
  }

  /** Deletes entries (of one workflow, or one node path of it); resolves to how many. */
  async clear(filter: { workflow?: string; path?: string } = {}): Promise<number> {
    let query = this.#db.deleteFrom('cache_entries')
    if (filter.workflow !== undefined) query = query.where('workflow', '=', filter.workflow)
    if (filter.path !== undefined) query = query.where('node_path', '=', filter.path)
    const result = await query.executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}

function toEntry(row: Selectable<CacheEntriesTable>): CacheEntry {
  return {
    key: row.key,
    workflow: row.workflow,
    path: row.node_path,
    runId: row.run_id,
    createdAt: new Date(Number(row.created_at)),
    parts: JSON.parse(row.parts) as Record<string, string>,
    exitCode: row.exit_code,
    artifacts: (JSON.parse(row.artifacts) as ArtifactInfo[]).map(a => ({ ...a, size: Number(a.size) })),
  }
}
