/** PostgreSQL housekeeping for the orchestrator: reachability and dropping bench schemas. */
import pg from 'pg'

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test'

export function pgUrl(): string {
  return process.env.WTFLOW_BENCH_PG_URL || DEFAULT_PG_URL
}

/** Null when the server answers, else why not (password masked). */
export async function pgUnavailable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return null
  } catch (error) {
    return `PostgreSQL not reachable at ${url.replace(/:\/\/([^:/@]*):[^@/]*@/, '://$1:***@')} (${error instanceof Error ? error.message : String(error)}); set WTFLOW_BENCH_PG_URL`
  } finally {
    await client.end().catch(() => {})
  }
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`refusing to drop schema "${schema}"`)
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query(`drop schema if exists ${schema} cascade`)
  } finally {
    await client.end().catch(() => {})
  }
}
