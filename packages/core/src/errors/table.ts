import { ERROR_CODES } from './codes.js'

/** The README's "Error codes" table, made from `ERROR_CODES` (a test keeps the README equal to it). */
export function renderErrorCodeTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, meaning]) => `| \`${code}\` | ${meaning} |`)
  return ['| code | meaning |', '|---|---|', ...rows].join('\n')
}
