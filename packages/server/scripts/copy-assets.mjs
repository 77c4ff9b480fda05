// Copies the hand-written assets (assets/) and the vendored browser libraries (from their npm
// packages, no CDN) into dist/assets, which the server serves at /assets/.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(path.join(root, 'package.json'))
const out = path.join(root, 'dist', 'assets')
fs.rmSync(out, { recursive: true, force: true })
fs.mkdirSync(path.join(out, 'vendor'), { recursive: true })
fs.cpSync(path.join(root, 'assets'), out, { recursive: true })

const packageDir = name => path.dirname(require.resolve(`${name}/package.json`))
const vendor = [
  ['htmx.org', 'dist/htmx.min.js', 'htmx.min.js'],
  ['htmx.org', 'LICENSE', 'htmx.LICENSE'],
  ['htmx-ext-sse', 'dist/sse.min.js', 'sse.js'],
  ['htmx-ext-sse', 'LICENSE', 'sse.LICENSE'],
  ['ansi_up', 'ansi_up.js', 'ansi_up.js'],
  ['ansi_up', 'LICENSE', 'ansi_up.LICENSE'],
]
for (const [name, file, as] of vendor) {
  const from = path.join(packageDir(name), file)
  if (!fs.existsSync(from)) throw new Error(`copy-assets: ${name} has no ${file}; was it upgraded? Update scripts/copy-assets.mjs`)
  fs.copyFileSync(from, path.join(out, 'vendor', as))
}
