// Writes schema.json (what `wtflow schema` prints) from the built package; run by `npm run build`.
import { writeFileSync } from 'node:fs'
import { URL } from 'node:url'
import { flowJsonSchema } from '../dist/index.js'

writeFileSync(new URL('../schema.json', import.meta.url), `${JSON.stringify(flowJsonSchema(), null, 2)}\n`)
