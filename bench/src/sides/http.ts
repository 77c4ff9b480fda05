/** Http sides: GETs to a local server (in its own process), through the engine and by hand. */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { Http, Node, Workflow } from '@wtflow/core'
import { pool, timed } from '../measure.js'
import type { Side } from './types.js'
import { runMeasured } from './engine.js'
import { num } from './params.js'

/** Starts the fixture server; resolves to its base URL and what stops it. */
async function startServer(): Promise<{ base: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(new URL('../fixtures/http-server.js', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] })
  let out = ''
  child.stdout!.setEncoding('utf8')
  await new Promise<void>((resolve, reject) => {
    child.once('exit', code => reject(new Error(`the HTTP fixture server exited (${code})`)))
    child.stdout!.on('data', chunk => {
      out += chunk
      if (out.includes('\n')) resolve()
    })
  })
  return {
    base: `http://127.0.0.1:${out.trim()}`,
    stop: async () => {
      child.stdin!.end()
      if (child.exitCode === null) await once(child, 'exit')
    },
  }
}

/** `count` Http GETs in a parallel group, maxParallel = concurrency. */
export const engineHttp: Side = async (params, tmpDir) => {
  const count = num(params, 'count')
  const server = await startServer()
  try {
    const { value: _, ...timing } = await runMeasured(tmpDir, num(params, 'concurrency'), count + 1, () => {
      const children = Array.from({ length: count }, (_, i) => new Node({ name: `get${i}`, executable: new Http({ url: `${server.base}/item/${i}` }) }))
      return new Workflow({ name: 'http', root: new Node({ name: 'root', children, parallel: true }) })
    })
    return timing
  } finally {
    await server.stop()
  }
}

/** `count` fetch GETs, `concurrency` in flight, each body read whole and parsed (what the result holds). */
export const fetchPool: Side = async params => {
  const count = num(params, 'count')
  const server = await startServer()
  try {
    return await timed(() =>
      pool(count, num(params, 'concurrency'), async i => {
        const response = await fetch(`${server.base}/item/${i}`)
        if (response.status !== 200) throw new Error(`GET answered ${response.status}`)
        JSON.parse(await response.text())
      }),
    )
  } finally {
    await server.stop()
  }
}
