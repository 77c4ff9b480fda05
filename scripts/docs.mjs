/* global URL, console */
// Regenerates what the README and config.example.ini derive from code (tests keep them equal):
// the error code table and the example configuration. Run `npm run docs` after changing either.
import { readFileSync, writeFileSync } from 'node:fs'
import { renderErrorCodeTable, renderExampleIni } from '@wtflow/core/internal'

const root = new URL('..', import.meta.url)
const readme = new URL('README.md', root)
const text = readFileSync(readme, 'utf8')
const updated = text.replace(/(<!-- error-codes:start -->\n)[\s\S]*?(\n<!-- error-codes:end -->)/, `$1${renderErrorCodeTable()}$2`)
writeFileSync(readme, updated)
writeFileSync(new URL('config.example.ini', root), renderExampleIni())
console.log('README.md (error codes) and config.example.ini regenerated')
