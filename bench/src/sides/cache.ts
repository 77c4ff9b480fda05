/** Caching sides: a fully cached tree against the same tree of no-ops, and a cache key of many files against sha256sum. */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Command, Node, Workflow, loadConfig } from '@wtflow/core'
import { hashFiles } from '@wtflow/core/internal'
import { attachRecorder, openDatabase } from '@wtflow/db'
import { timed } from '../measure.js'
import { assertSucceeded, makeEngine } from './engine.js'
import { num, str } from './params.js'
import type { Side } from './types.js'

/** A root group with `count` argv `true` children in parallel, each with `cache: true` when `cached`. */
function tree(count: number, cached: boolean): Workflow {
  const children = Array.from({ length: count }, (_, i) => new Node({ name: `n${i}`, executable: new Command(['true']), ...(cached ? { cache: true as const } : {}) }))
  return new Workflow({ name: 'tree', root: new Node({ name: 'root', parallel: true, children }) })
}

/**
 * `mode: cached`: the tree with `cache: true` run once to fill the cache (not measured), then
 * measured: the same run again, every node a hit. `mode: plain`: the tree without `cache`,
 * measured. Both recorded in SQLite, maxParallel 10.
 */
export const cacheTree: Side = async (params, tmpDir) => {
  const count = num(params, 'count')
  const cached = str(params, 'mode') === 'cached'
  const db = await openDatabase(loadConfig({ cwd: tmpDir, env: {}, overrides: { dbUrl: `sqlite://${path.join(tmpDir, 'history.db')}` } }).database)
  if (db === null) throw new Error('no database')
  try {
    const once = async () => {
      const engine = makeEngine(tmpDir, 10)
      const recorder = attachRecorder(engine, db)
      const result = await engine.run(tree(count, cached), cached ? { cache: { store: db.cacheStore() } } : {})
      await recorder.close()
      return result
    }
    if (cached) assertSucceeded(await once(), count + 1)
    const { value, ...timing } = await timed(once)
    const hits = value.nodes.filter(node => node.status === 'cached').length
    if (value.status !== 'succeeded' || hits !== (cached ? count : 0)) throw new Error(`run ${value.status} with ${hits} cached nodes`)
    return { ...timing, extra: { hits } }
  } finally {
    await db.close()
  }
}

/** `files` files of `bytes` in total under tmpDir/files (100 directories), written before the clock starts. */
async function makeFiles(tmpDir: string, files: number, bytes: number): Promise<string> {
  const root = path.join(tmpDir, 'files')
  const size = Math.floor(bytes / files)
  const block = Buffer.alloc(size)
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `d${i % 100}`)
    if (i < 100) await fs.mkdir(dir, { recursive: true })
    block.writeUInt32LE(i, 0)
    await fs.writeFile(path.join(dir, `f${i}.bin`), block)
  }
  return root
}

/** The `files` part of a cache key over every file (`**`), as the engine computes it. */
export const cacheKeyFiles: Side = async (params, tmpDir) => {
  const root = await makeFiles(tmpDir, num(params, 'files'), num(params, 'bytes'))
  const { value, ...timing } = await timed(() => hashFiles(['**'], root, message => { throw new Error(message) }))
  if (Object.keys(value).length !== 1) throw new Error('no hash')
  return timing
}

/** `find -print0 | sort -z | xargs -0 sha256sum` over the same files. */
export const sha256sumFiles: Side = async (params, tmpDir) => {
  const root = await makeFiles(tmpDir, num(params, 'files'), num(params, 'bytes'))
  const timing = await timed(async () => {
    const done = spawnSync('sh', ['-c', 'find . -type f -print0 | sort -z | xargs -0 sha256sum > /dev/null'], { cwd: root })
    if (done.status !== 0) throw new Error(`sha256sum failed: ${String(done.stderr)}`)
  })
  return { wallMs: timing.wallMs, cpuMs: timing.cpuMs, childCpuMs: timing.childCpuMs, memory: timing.memory }
}
