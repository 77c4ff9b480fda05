#!/usr/bin/env node
/* global process, console */
// Builds the native spawn addon (build/Release/wtflow_spawn.node) with node-gyp, against the
// headers npm is configured for. Runs as this package's install script and in its build.
// Without a compiler it prints one line and exits 0: @wtflow/spawn then falls back to
// child_process.spawn. `--force` rebuilds even when up to date and fails loudly.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const force = process.argv.includes('--force')
const output = path.join(root, 'build/Release/wtflow_spawn.node')
const sources = ['native/spawn.c', 'binding.gyp', 'scripts/build-native.js'].map(file => path.join(root, file))

if (process.platform !== 'linux') {
  if (force) console.error(`@wtflow/spawn: the native addon is Linux-only (this is ${process.platform})`)
  process.exit(force ? 1 : 0)
}

if (!force && existsSync(output)) {
  const built = statSync(output).mtimeMs
  if (sources.every(file => statSync(file).mtimeMs <= built)) process.exit(0)
}

const args = [findNodeGyp(), 'rebuild', '--release', '--loglevel=warn']
// Outside npm (which passes its nodedir), build against this node's own headers when it has
// them, rather than let node-gyp try to download them.
const prefix = path.resolve(path.dirname(process.execPath), '..')
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`)
const result = spawnSync(process.execPath, args, {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
})
if (result.status === 0 && existsSync(output)) {
  if (force) console.error(`@wtflow/spawn: built ${path.relative(process.cwd(), output)}`)
  process.exit(0)
}

const log = path.join(root, 'build/build-native.log')
mkdirSync(path.dirname(log), { recursive: true })
writeFileSync(log, `${result.error ? `${result.error.message}\n` : ''}${result.stdout ?? ''}${result.stderr ?? ''}`)
const reason = result.error?.message ?? lastErrorLine(`${result.stderr ?? ''}`) ?? `node-gyp exited with ${result.status}`
console.error(
  `@wtflow/spawn: could not build the native spawn addon (${reason}; log: ${log}); commands will use child_process.spawn. Needs python3, make and a C compiler.`,
)
process.exit(force ? 1 : 0)

/** npm passes its node-gyp to scripts; outside npm, the one bundled with npm next to this node. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ]
  const found = candidates.find(file => file !== undefined && file !== '' && existsSync(file))
  if (found === undefined) {
    console.error('@wtflow/spawn: node-gyp not found (it comes with npm); commands will use child_process.spawn.')
    process.exit(force ? 1 : 0)
  }
  return found
}

/** The line that says what went wrong: the compiler's or make's, else node-gyp's. */
function lastErrorLine(text) {
  const lines = text.split('\n').map(line => line.trim())
  const compiler = lines.find(line => /(error:|not found|No such file)/i.test(line) && !line.startsWith('gyp'))
  const gyp = lines.find(line => line.startsWith('gyp ERR! stack Error:')) ?? lines.find(line => /^gyp ERR! (?!stack|System|command|cwd|node -v|node-gyp -v|not ok)/.test(line))
  return (compiler ?? gyp)?.replace(/^gyp ERR! (stack )?/, '')
}
