import { CompiledQuery } from 'kysely'

/**
 * Several statements as one text, each `$n` replaced by its value as a quoted literal, so that
 * a batch travels in one round trip (the simple query protocol runs the statements of one
 * message in one implicit transaction). Values are quoted like untyped parameters ('42'), so
 * the server resolves their types from context exactly as it does for `$n`.
 */
export function inlineBatch(statements: readonly CompiledQuery[]): CompiledQuery {
  return CompiledQuery.raw(statements.map(inlineStatement).join(';\n'), [])
}

function inlineStatement(statement: CompiledQuery): string {
  const { sql, parameters } = statement
  return sql.replace(/\$(\d+)/g, (_, index: string) => literal(parameters[Number(index) - 1]))
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'string') return quote(value)
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`cannot store the number ${value}`)
    return `'${value}'`
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  throw new TypeError(`cannot inline a ${typeof value} in a batch`)
}

/**
 * A string literal, as `pg.escapeLiteral` writes it (`E'…'` with doubled backslashes when there
 * is a backslash), but without its character-by-character concatenation: node paths in deep
 * trees are kilobytes long, and that loop was most of the memory a tracked run allocated.
 */
function quote(value: string): string {
  const body = value.replaceAll("'", "''")
  return value.includes('\\') ? ` E'${body.replaceAll('\\', '\\\\')}'` : `'${body}'`
}
