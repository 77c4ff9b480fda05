/**
 * Where a Func's function lives, so that a worker thread can import it: a module URL and an
 * export name.
 *
 * The module defaults to the one that called `new Func(...)`, read from the call stack at
 * construction (V8 call sites give the module's own URL, `file:///…/wtfile.ts` under tsx or
 * vitest, whatever source maps say about lines). The export is found by importing that module
 * in the main thread (it is already loaded: it built the workflow) and looking for the export
 * whose value *is* the function, then for an export of the same name and the same source text
 * (a second instance of the module, loaded by another loader).
 */
import path from 'node:path'
import { pathToFileURL } from 'node:url'

/** The URL of the module whose code called the function `below` (a constructor), or null. */
export function callerModuleUrl(below: abstract new (...args: never[]) => unknown): string | null {
  const holder: { stack?: NodeJS.CallSite[] | string } = {}
  const { prepareStackTrace, stackTraceLimit } = Error
  let file: string | null | undefined
  try {
    Error.prepareStackTrace = (_error, callSites) => callSites
    Error.stackTraceLimit = 1
    Error.captureStackTrace(holder, below)
    const stack = holder.stack
    file = Array.isArray(stack) ? stack[0]?.getFileName() : undefined
  } finally {
    Error.prepareStackTrace = prepareStackTrace
    Error.stackTraceLimit = stackTraceLimit
  }
  return file ? toModuleUrl(file) : null
}

/** Module URLs by what they were given as: a workflow of 100,000 Funcs holds a handful of strings. */
const moduleUrls = new Map<string, string | null>()

/** A module given as a URL or an absolute path, as a URL string; null when it is neither. */
export function toModuleUrl(module: string | URL): string | null {
  const key = module instanceof URL ? module.href : module
  if (typeof key !== 'string') return null
  let url = moduleUrls.get(key)
  if (url === undefined) {
    url = /^[a-z][a-z\d+.-]*:\/\//i.test(key) ? (key.startsWith('file:') ? stripQuery(key) : key) : path.isAbsolute(key) ? pathToFileURL(key).href : null
    moduleUrls.set(key, url)
  }
  return url
}

/** Loaders add their own query strings (vitest `?v=…`, tsx namespaces); the worker wants the file. */
function stripQuery(url: string): string {
  const parsed = new URL(url)
  parsed.search = ''
  parsed.hash = ''
  return parsed.href
}

export function displayModule(moduleUrl: string): string {
  try {
    return moduleUrl.startsWith('file:') ? decodeURIComponent(new URL(moduleUrl).pathname) : moduleUrl
  } catch {
    return moduleUrl
  }
}

type Namespace = Record<string, unknown>

const namespaces = new Map<string, Promise<Namespace>>()
/** Per module namespace: each exported function and its first export name. */
const exportNames = new WeakMap<Namespace, Map<unknown, string>>()

/** Imports a module in the main thread (once). */
export function importModule(moduleUrl: string): Promise<Namespace> {
  let loading = namespaces.get(moduleUrl)
  if (loading === undefined) {
    loading = importForLookup(moduleUrl)
    namespaces.set(moduleUrl, loading)
  }
  return loading
}

async function importForLookup(moduleUrl: string): Promise<Namespace> {
  try {
    return (await import(moduleUrl)) as Namespace
  } catch (error) {
    // A TypeScript module in a process that does not run under tsx: load a private copy (found
    // by name and source text below).
    if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error
    const { tsImport } = await import('tsx/esm/api')
    return (await tsImport(moduleUrl, import.meta.url)) as Namespace
  }
}

/**
 * The name under which `namespace` exports `fn`, or null. `preferred` (an explicit export name)
 * is checked first and is the only name accepted when given.
 */
export function findExport(namespace: Namespace, fn: (...args: never[]) => unknown, preferred: string | null): string | null {
  if (preferred !== null) {
    const candidate = namespace[preferred]
    return candidate === fn || sameSource(candidate, fn) ? preferred : null
  }
  let names = exportNames.get(namespace)
  if (names === undefined) {
    names = new Map()
    for (const [name, value] of Object.entries(namespace)) {
      if (typeof value === 'function' && !names.has(value)) names.set(value, name)
    }
    exportNames.set(namespace, names)
  }
  const identical = names.get(fn)
  if (identical !== undefined) return identical
  if (fn.name !== '' && sameSource(namespace[fn.name], fn)) return fn.name
  if (sameSource(namespace.default, fn)) return 'default'
  return null
}

function sameSource(candidate: unknown, fn: (...args: never[]) => unknown): boolean {
  return typeof candidate === 'function' && candidate.name === fn.name && candidate.toString() === fn.toString()
}
