import type { Side } from './types.js'

/** Sides by name, imported lazily so that a baseline process never loads @wtflow/core. */
const registry: Record<string, () => Promise<object>> = {
  'engine-chain': () => import('./engine.js'),
  'engine-parallel': () => import('./engine.js'),
  'engine-output': () => import('./engine.js'),
  'engine-funcs': () => import('./func.js'),
  'engine-func-tree': () => import('./func.js'),
  'engine-chain-tracked': () => import('./db.js'),
  'db-seed': () => import('./db.js'),
  'db-query': () => import('./db.js'),
  'resume-chain': () => import('./retention.js'),
  'cache-tree': () => import('./cache.js'),
  'cache-key-files': () => import('./cache.js'),
  'sha256sum-files': () => import('./cache.js'),
  'gc-history': () => import('./retention.js'),
  'engine-diamond': () => import('./dependencies.js'),
  'engine-http': () => import('./http.js'),
  'fetch-pool': () => import('./http.js'),
  'flow-load': () => import('./flow.js'),
  'script-load': () => import('./flow.js'),
  'flow-chain': () => import('./flow.js'),
  'script-chain': () => import('./flow.js'),
  'server-list': () => import('./server.js'),
  'server-log': () => import('./server.js'),
  'server-page': () => import('./server.js'),
  'server-log-view': () => import('./server.js'),
  'execa-seq': () => import('./baseline.js'),
  'execa-pool': () => import('./baseline.js'),
  'shell-redirect': () => import('./baseline.js'),
  'tinypool-loop': () => import('./baseline.js'),
}

export async function loadSide(name: string): Promise<Side> {
  const load = registry[name]
  if (load === undefined) throw new Error(`unknown bench side "${name}"`)
  const side = ((await load()) as Record<string, unknown>)[camel(name)]
  if (typeof side !== 'function') throw new Error(`bench side "${name}" has no export ${camel(name)}`)
  return side as Side
}

function camel(name: string): string {
  return name.replace(/-(\w)/g, (_, ch: string) => ch.toUpperCase())
}
