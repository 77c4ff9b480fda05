// Writes the key table (generated from the schema) between the markers of packages/flow/README.md
// and, when it has them, of the repository's README.md. Run after `npm run build -w @wtflow/flow`.
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import process from 'node:process'
import { URL } from 'node:url'
import { KEY_TABLE_END, KEY_TABLE_START, keyTable } from '../dist/key-table.js'

for (const readme of [new URL('../README.md', import.meta.url), new URL('../../../README.md', import.meta.url)]) {
  if (!existsSync(readme)) continue
  const text = readFileSync(readme, 'utf8')
  const start = text.indexOf(KEY_TABLE_START)
  const end = text.indexOf(KEY_TABLE_END)
  if (start < 0 || end < start) continue
  writeFileSync(readme, `${text.slice(0, start + KEY_TABLE_START.length)}\n\n${keyTable()}\n\n${text.slice(end)}`)
  process.stdout.write(`key table written to ${readme.pathname}\n`)
}
