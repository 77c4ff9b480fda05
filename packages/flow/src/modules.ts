/** Loading the modules that `func:` steps name. */
import { existsSync, statSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

export type ModuleNamespace = Record<string, unknown>

/** A `func.module` of a flow, as an absolute path: relative to the flow file, or absolute. */
export function modulePath(flowFile: string, module: string): string | null {
  if (module.startsWith('./') || module.startsWith('../') || module === '.' || module === '..') return path.resolve(path.dirname(flowFile), module)
  if (path.isAbsolute(module)) return module
  if (module.startsWith('file:')) return new URL(module).pathname
  return null
}

export function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile()
}

/** Imports modules once per load; TypeScript goes through tsx when the process has no loader for it. */
export class ModuleLoader {
  readonly #loading = new Map<string, Promise<ModuleNamespace>>()

  load(file: string): Promise<ModuleNamespace> {
    let loading = this.#loading.get(file)
    if (loading === undefined) {
      loading = importFile(file)
      this.#loading.set(file, loading)
    }
    return loading
  }
}

async function importFile(file: string): Promise<ModuleNamespace> {
  const url = pathToFileURL(file).href
  try {
    return (await import(url)) as ModuleNamespace
  } catch (error) {
    // A .ts module in a process without tsx's hooks: core's Func does the same when it looks
    // the function up, and finds it by name and source text in its own copy.
    if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error
    const { tsImport } = await import('tsx/esm/api')
    return (await tsImport(url, import.meta.url)) as ModuleNamespace
  }
}

/** The exported functions of a module, by name (for suggestions). */
export function functionExports(namespace: ModuleNamespace): string[] {
  return Object.keys(namespace).filter(name => typeof namespace[name] === 'function')
}
