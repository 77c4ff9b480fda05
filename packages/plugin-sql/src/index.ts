/**
 * @wtflow/plugin-sql: a wtflow plugin that runs a SQL query against SQLite or PostgreSQL; the
 * rows are the node's result. Use the `Sql` class in a TypeScript script, or the plugin (the
 * default export) by name: `uses: '@wtflow/plugin-sql'` in a flow, `usePlugin('@wtflow/plugin-sql', …)`.
 */
import { definePlugin } from '@wtflow/core'
import { z } from 'zod'
import { Sql } from './sql.js'

export { Sql, type SqlOptions, type SqlRow } from './sql.js'

/** The options, as the plugin checks them. */
export const sqlOptionsSchema = z.strictObject({
  url: z.string().regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'must start with sqlite: or postgres://'),
  query: z.string().trim().min(1, 'must not be empty'),
  params: z.array(z.unknown()).optional(),
})

const plugin = definePlugin({
  name: 'sql',
  schema: sqlOptionsSchema,
  create: options => new Sql(options),
})

export default plugin
