import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Workflow } from '@wtflow/core'
import { CliError } from './errors.js'

/** The script `wtflow run` and `wtflow list` read when no FILE is given. */
export const DEFAULT_SCRIPT = 'wtfile.ts'

const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx'])
const JAVASCRIPT_EXTENSIONS = new Set(['.js', '.mjs', '.cjs'])
const FLOW_EXTENSIONS = new Set(['.yaml', '.yml', '.json'])

export interface ScriptWorkflow {
  /** The export that holds it (`default` for the default export). */
  exportName: string
  workflow: Workflow
}

export interface LoadedScript {
  /** Absolute path. */
  file: string
  /** The path as the user should read it (relative to the working directory when inside it). */
  shown: string
  /** In export order: `default` first, then named exports alphabetically; each object once. */
  workflows: ScriptWorkflow[]
  /** For a declarative flow (.yaml, .yml, .json): its document, to store with the run. */
  document?: { format: 'yaml' | 'json'; text: string }
  /** Values to mask besides the configured secrets (a flow's secrets from the environment). */
  secrets?: string[]
}

export interface LoadScriptOptions {
  /** Values of a flow's inputs (`--input NAME=VALUE`); a script's workflows get theirs when they run. */
  inputs?: Readonly<Record<string, string>>
  /** The configured secrets (a flow reads the ones it declares). */
  secrets?: Readonly<Record<string, string>>
  /** Check a flow's structure only: its inputs and secrets need no values (`wtflow list`). */
  structureOnly?: boolean
}

/**
 * Imports a workflow script and collects the Workflows it exports. TypeScript goes through
 * tsx's loader hooks; the module is imported by its plain file URL, so that Func workers that
 * import the same file find the same functions.
 *
 * `@wtflow/core` must already be imported when this runs: imports made after the tsx hooks are
 * registered take a detour through the hooks thread, which is several times slower.
 */
export async function loadScript(fileArg: string | undefined, cwd = process.cwd(), options: LoadScriptOptions = {}): Promise<LoadedScript> {
  const file = path.resolve(cwd, fileArg ?? DEFAULT_SCRIPT)
  const shown = showPath(file, cwd)
  checkScriptFile(file, shown, fileArg === undefined)
  if (FLOW_EXTENSIONS.has(path.extname(file).toLowerCase())) {
    const { loadFlowScript } = await import('./flow.js')
    return loadFlowScript(file, shown, options)
  }
  const extension = path.extname(file).toLowerCase()
  if (TYPESCRIPT_EXTENSIONS.has(extension)) await registerTypeScript(file, extension)

  const { isWorkflow } = await import('@wtflow/core')
  let namespace: Record<string, unknown>
  try {
    namespace = await importScript(file, shown)
  } catch (error) {
    if (error instanceof CliError) throw error
    throw new CliError(describeImportFailure(error, file, shown), { cause: error, code: 'WTFLOW_SCRIPT' })
  }

  // A CommonJS script (a .ts outside a "type": "module" package, compiled by tsx) is imported as
  // { default: module.exports }: its exports are the properties of that object.
  const cjs = namespace.default
  if (cjs !== null && typeof cjs === 'object' && !isWorkflow(cjs)) namespace = { ...namespace, ...(cjs as Record<string, unknown>), default: (cjs as Record<string, unknown>).default }

  const seen = new Set<unknown>()
  const workflows: ScriptWorkflow[] = []
  const names = Object.keys(namespace).sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)))
  for (const exportName of names) {
    const value = namespace[exportName]
    if (isWorkflow(value) && !seen.has(value)) {
      seen.add(value)
      workflows.push({ exportName, workflow: value })
    }
  }
  if (workflows.length === 0) {
    throw new CliError(
      `${shown} exports no Workflow. Export one, e.g. \`export default new Workflow({ name: 'build', root })\` with Workflow from '@wtflow/core'.`,
    )
  }
  return { file, shown, workflows }
}

/**
 * Imports the script. A top-level `await` that never settles would leave the import pending
 * until the event loop runs dry and Node exits (code 13, nothing said): once nothing else is left
 * to run, that is an error that says so.
 */
function importScript(file: string, shown: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const stuck = () =>
      reject(
        new CliError(`${shown} never finished loading: a top-level await in it (or in a module it imports) never settled. Workflow scripts must be import-safe: build objects at import, start nothing.`, {
          code: 'WTFLOW_SCRIPT',
        }),
      )
    process.once('beforeExit', stuck)
    import(pathToFileURL(file).href).then(
      namespace => resolve(namespace as Record<string, unknown>),
      reject,
    ).finally(() => process.off('beforeExit', stuck))
  })
}

/**
 * Picks the workflows named (or exported as) `names`, in the order given (`-w a -w b` runs a,
 * then b); all of them when no name is given.
 */
export function selectWorkflows(script: LoadedScript, names: string | readonly string[] | undefined): ScriptWorkflow[] {
  if (names === undefined || names.length === 0) return script.workflows
  if (typeof names !== 'string') {
    const picked: ScriptWorkflow[] = []
    for (const name of names) for (const entry of selectWorkflows(script, name)) if (!picked.includes(entry)) picked.push(entry)
    return picked
  }
  const name = names
  const byName = script.workflows.filter(entry => entry.workflow.name === name)
  if (byName.length > 1) {
    throw new CliError(
      `${script.shown} has ${byName.length} workflows named "${name}" (exports ${byName.map(e => e.exportName).join(', ')}); give them distinct names.`,
    )
  }
  const found = byName[0] ?? script.workflows.find(entry => entry.exportName === name)
  if (found === undefined) {
    const known = script.workflows.map(entry => `"${entry.workflow.name}"`).join(', ')
    throw new CliError(`${script.shown} has no workflow named "${name}"; it has ${known}. \`wtflow list ${script.shown}\` shows them.`)
  }
  return [found]
}

function showPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file)
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file
}

function checkScriptFile(file: string, shown: string, isDefault: boolean): void {
  let stat
  try {
    stat = statSync(file)
  } catch {
    if (isDefault) {
      throw new CliError(
        `no ${DEFAULT_SCRIPT} in ${path.dirname(file)}. Pass a workflow script (\`wtflow run path/to/flow.ts\`) or create ${DEFAULT_SCRIPT}; examples/quickstart.ts is a good start.`,
      )
    }
    throw new CliError(`workflow script ${shown} not found. Check the path (it is resolved from ${process.cwd()}).`)
  }
  if (stat.isDirectory()) {
    const inside = path.join(file, DEFAULT_SCRIPT)
    throw new CliError(
      `${shown} is a directory; pass a workflow script${existsSync(inside) ? ` such as ${path.join(shown, DEFAULT_SCRIPT)}` : ' (.ts, .mts, .js or .mjs) or a flow file (.yaml, .json)'}.`,
    )
  }
  const extension = path.extname(file).toLowerCase()
  if (!TYPESCRIPT_EXTENSIONS.has(extension) && !JAVASCRIPT_EXTENSIONS.has(extension) && !FLOW_EXTENSIONS.has(extension)) {
    throw new CliError(`${shown} is not a workflow script: wtflow loads scripts (.ts, .mts, .cts, .js, .mjs, .cjs) and flow files (.yaml, .yml, .json).`)
  }
}

let registered: { esm: boolean; cjs: boolean } = { esm: false, cjs: false }

/**
 * Registers tsx's hooks: the ESM ones always, the CommonJS ones only for a script that Node
 * treats as CommonJS (`.cts`, or `.ts` outside a `"type": "module"` package), since they cost
 * another few tens of milliseconds.
 */
async function registerTypeScript(file: string, extension: string): Promise<void> {
  if (!registered.esm) {
    const { register } = await import('tsx/esm/api')
    register()
    registered = { ...registered, esm: true }
  }
  const commonJs = extension === '.cts' || ((extension === '.ts' || extension === '.tsx') && !inModulePackage(file))
  if (commonJs && !registered.cjs) {
    const { register } = await import('tsx/cjs/api')
    register()
    registered = { ...registered, cjs: true }
  }
}

/** True if the nearest package.json above `file` says `"type": "module"`. */
function inModulePackage(file: string): boolean {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json')
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type === 'module'
      } catch {
        return false
      }
    }
    if (path.dirname(dir) === dir) return false
  }
}

/** One paragraph: where the script broke and what to do. */
function describeImportFailure(error: unknown, file: string, shown: string): string {
  if (!(error instanceof Error)) {
    // `throw 42`: a value without a stack; where it was thrown takes another import to find.
    const where = locateThrow(file, shown)
    return `importing ${shown} threw ${describeValue(error)}${where === null ? '' : ` (at ${where})`}. Workflow scripts must be import-safe: build objects at import, start nothing.`
  }
  const err: Error & { code?: unknown } = error
  if (err.name === 'TransformError') {
    // esbuild: "Transform failed with 1 error:\n/abs/file.ts:1:18: ERROR: Unexpected "=""
    const details = err.message.split('\n').slice(1).map(line => line.replace(/ERROR: /, '').replace(file, shown))
    return `${shown} has a syntax error: ${details.join('; ')}. Fix it and run again.`
  }
  // A SyntaxError thrown by code that ran (JSON.parse at import) has a frame in the user's code.
  if (err instanceof SyntaxError && userFrame(err) === null) {
    const where = syntaxErrorLocation(err, file, shown)
    return `${shown} has a syntax error${where === null ? '' : ` at ${where}`}: ${err.message}. Fix it and run again.`
  }
  if (err.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' || err.code === 'ERR_REQUIRE_ESM' || /No "exports" main defined/.test(err.message)) {
    // A CommonJS script that requires an ES-module-only package: not an import-safety problem.
    return `${shown} is loaded as CommonJS (its package.json has no "type": "module") and could not require an ES module: ${err.message.split('\n')[0]}. Rename it to .mts, or add "type": "module" to package.json.`
  }
  if (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND') {
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(err.message)?.[1]
    const firstLine = err.message.split('\n')[0] ?? err.message
    if (missing !== undefined && !missing.startsWith('.') && !path.isAbsolute(missing)) {
      const pkg = missing.startsWith('@') ? missing.split('/').slice(0, 2).join('/') : (missing.split('/')[0] ?? missing)
      return `${shown} could not be loaded: ${firstLine}. Install it where the script can find it (\`npm install ${pkg}\`).`
    }
    return `${shown} could not be loaded: ${firstLine}. Check the import paths in the script.`
  }
  const where = userFrame(err)
  return `importing ${shown} threw ${err.name}: ${err.message}${where === null ? '' : ` (at ${where})`}. Workflow scripts must be import-safe: build objects at import, start nothing.`
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (value === null || typeof value !== 'object') return String(value)
  try {
    return `a non-Error value ${JSON.stringify(value)}`
  } catch {
    return 'a non-Error value'
  }
}

/** `file:line:column` of the first frame in the script when it is imported again under the inspector (see locate-throw.ts). */
function locateThrow(file: string, shown: string): string | null {
  const extension = path.extname(file).toLowerCase()
  const hooks = TYPESCRIPT_EXTENSIONS.has(extension) ? ['--import', import.meta.resolve('tsx')] : []
  const locator = fileURLToPath(new URL('./locate-throw.js', import.meta.url))
  const child = spawnSync(process.execPath, [...hooks, locator, pathToFileURL(file).href], { encoding: 'utf8', timeout: 10_000, cwd: process.cwd() })
  try {
    const found = JSON.parse(child.stdout.trim().split('\n').pop() ?? 'null') as { line: number; column: number } | null
    return found === null ? null : `${shown}:${found.line}:${found.column}`
  } catch {
    return null
  }
}

/** Node gives no location for ESM syntax errors; `node --check` does. Only used on this error path. */
function syntaxErrorLocation(error: SyntaxError, file: string, shown: string): string | null {
  const fromStack = /^(?:file:\/\/)?(\/[^\n]*?):(\d+)\n/.exec(error.stack ?? '')
  if (fromStack?.[1] !== undefined) return `${showPath(fromStack[1], process.cwd())}:${fromStack[2]}`
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 5000 })
  const line = new RegExp(`^${escapeRegExp(file)}:(\\d+)`, 'm').exec(check.stderr ?? '')
  return line === null ? null : `${shown}:${line[1]}`
}

/** The first stack frame outside Node and node_modules: where the user's code threw. */
function userFrame(error: Error): string | null {
  for (const line of (error.stack ?? '').split('\n').slice(1)) {
    const match = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(line.trim())
    if (match === null) continue
    const location = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!
    if (location.includes(`${path.sep}node_modules${path.sep}`)) continue
    return `${showPath(location, process.cwd())}:${match[2]}:${match[3]}`
  }
  return null
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
