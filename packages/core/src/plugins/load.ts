import { existsSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { resolve as resolveModule } from 'import-meta-resolve'
import { BUILTIN_PLUGINS } from '../executables/builtins.js'
import { PluginError, describeValue, isPlugin, type Plugin } from './plugin.js'

export interface LoadPluginOptions {
  /**
   * Where the specifier is resolved from: a directory, a file in it, or a file URL (a script's
   * `import.meta.url`); a flow file's directory, say. Default: the working directory.
   */
  from?: string | URL
  /** The node that uses it, for messages. */
  nodePath?: string | null
}

/** Loaded plugins by resolved URL: a module is imported once. */
const loaded = new Map<string, Promise<unknown>>()

/**
 * Loads a plugin: a built-in name (`command`, `func`, `http`, `env`), an npm package name
 * (resolved from `from`, like an import in a file there) or a local module path (`./notify.ts`,
 * TypeScript or JavaScript), whose default export is a `definePlugin(…)`. Rejects with a
 * `PluginError` (a `ValidationError`) naming the plugin and the node, when it cannot be found,
 * fails to load, or exports no plugin.
 *
 * @example
 * const sql = await loadPlugin('@wtflow/plugin-sql', { from: import.meta.url })
 * const executable = await createExecutable(sql, { url: 'sqlite:app.db', query: 'select count(*) as n from users' })
 */
export async function loadPlugin(specifier: string, options: LoadPluginOptions = {}): Promise<Plugin> {
  const nodePath = options.nodePath ?? null
  if (typeof specifier !== 'string' || specifier.trim() === '') {
    throw new PluginError(nodePath, String(specifier), 'not-found', `a plugin is named by a package name or a module path, got ${describeValue(specifier)}`)
  }
  const builtin = BUILTIN_PLUGINS.find(plugin => plugin.name === specifier)
  if (builtin !== undefined) return builtin
  const parent = parentUrl(options.from)
  let url: string
  try {
    url = resolveModule(specifier, parent)
    // Relative paths resolve whether or not the file is there.
    if (url.startsWith('file:') && !existsSync(fileURLToPath(url))) throw new Error(`no file at ${fileURLToPath(url)}`)
  } catch (error) {
    const where = path.dirname(fileURLToPath(parent))
    const local = /^(\.{1,2}\/|\/|file:)/.test(specifier)
    const hint = local ? 'check the path (relative to that directory, with its file extension)' : `install it (npm install ${specifier}) or check its name`
    throw new PluginError(nodePath, specifier, 'not-found', `plugin "${specifier}" cannot be found from ${where}: ${hint}`, { cause: error })
  }
  let namespace: unknown
  try {
    let loading = loaded.get(url)
    if (loading === undefined) loaded.set(url, (loading = importModule(url)))
    namespace = await loading
  } catch (error) {
    loaded.delete(url)
    throw new PluginError(nodePath, specifier, 'import-failed', `plugin "${specifier}" failed to load (${url}): ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  const exported = (namespace as { default?: unknown }).default
  // A CommonJS module's exports arrive as `default`; its own `default` is one level down.
  const plugin = isPlugin(exported) ? exported : (exported as { default?: unknown } | undefined)?.default
  if (!isPlugin(plugin)) {
    throw new PluginError(
      nodePath,
      specifier,
      'not-a-plugin',
      `plugin "${specifier}" exports no plugin: its default export is ${exported === undefined ? 'missing' : describeValue(exported)}; write \`export default definePlugin({ name, create })\` (definePlugin from @wtflow/core)`,
    )
  }
  return plugin
}

/** The URL specifiers are resolved from: a file in `from` (a directory) or `from` itself (a file). */
function parentUrl(from: string | URL | undefined): string {
  if (from === undefined) return pathToFileURL(path.join(process.cwd(), 'plugin-user.js')).href
  const text = String(from)
  const file = text.startsWith('file:') ? fileURLToPath(text) : path.resolve(text)
  let isDirectory = false
  try {
    isDirectory = statSync(file).isDirectory()
  } catch {
    // Not there: taken as a file (a script's URL under a loader, say).
  }
  return pathToFileURL(isDirectory ? path.join(file, 'plugin-user.js') : file).href
}

/** Imports a module; TypeScript through tsx when this process does not run under it. */
async function importModule(url: string): Promise<unknown> {
  try {
    return await import(url)
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error
    const { tsImport } = await import('tsx/esm/api')
    return await tsImport(url, import.meta.url)
  }
}
