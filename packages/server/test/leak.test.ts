import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createHistory, eventually, FIXTURES, json, type TestHistory } from './helpers.js'

interface Stats {
  resources: Record<string, number>
  heapUsed: number
  openStreams: number
  hubListeners: number
}

let history: TestHistory
let child: ChildProcess
let origin: string

beforeAll(async () => {
  history = await createHistory('sqlite')
  // The server in a process of its own, so that its handles and heap are only its own.
  child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(FIXTURES, 'serve-child.ts'), history.dir, JSON.stringify(history.target), ''], {
    cwd: FIXTURES,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  })
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', chunk => (out += chunk))
  origin = await eventually(() => /READY (\S+)/.exec(out)?.[1], 'the server process')
})
afterAll(async () => {
  if (child !== undefined && child.exitCode === null) {
    child.kill('SIGTERM')
    await new Promise(resolve => child.once('exit', resolve))
  }
  await history?.dispose()
})

function stats(): Promise<Stats> {
  return new Promise(resolve => {
    child.once('message', message => resolve(message as Stats))
    child.send('stats')
  })
}

/** Opens an SSE stream on a connection of its own, reads its first bytes, and goes away (as a closed browser tab does). */
function connectAndLeave(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers: { accept: 'text/event-stream' } }, response => {
      response.once('data', () => {
        request.destroy()
        resolve()
      })
    })
    request.on('error', error => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(error)))
  })
}

it('leaks nothing after 1,000 SSE clients connect and go away mid-stream (log, events and page streams)', async () => {
  const auth = { authorization: 'Bearer child-token', 'content-type': 'application/json' }
  // A run whose node is still printing: its log stream stays open until the client leaves.
  const { id } = await json<{ id: string }>(await fetch(`${origin}/api/v1/runs`, { method: 'POST', headers: auth, body: '{"workflow":"printer"}' }))
  await eventually(async () => ((await json<{ status: string }>(await fetch(`${origin}/api/v1/runs/${id}`))).status === 'running' ? true : undefined), 'the run to start')
  const urls = [`${origin}/api/v1/runs/${id}/nodes/print/logs`, `${origin}/api/v1/events`, `${origin}/ui/stream/runs/${id}`, `${origin}/ui/stream/runs`]
  // Warm up (compiled code, first-use allocations), then measure.
  for (let i = 0; i < 40; i++) await connectAndLeave(urls[i % urls.length]!)
  const before = await eventually(async () => {
    const now = await stats()
    // Also the keep-alive connections of the requests above (closed by the server when idle).
    return now.openStreams === 0 && now.hubListeners === 0 && now.resources.TCPSocketWrap === undefined ? now : undefined
  }, 'the warm-up streams and idle connections to close')

  for (let i = 0; i < 1000; i += 20) {
    await Promise.all(Array.from({ length: 20 }, (_, j) => connectAndLeave(urls[(i + j) % urls.length]!)))
  }
  // Sockets of aborted requests close asynchronously: wait until the counts settle.
  let last: Stats | null = null
  const after = await eventually(async () => {
    const now = await stats()
    last = now
    return now.openStreams === 0 && now.hubListeners === 0 && JSON.stringify(now.resources) === JSON.stringify(before.resources) ? now : undefined
  }, `handles back to ${JSON.stringify(before.resources)}`).catch(error => {
    throw new Error(`${(error as Error).message}; last seen ${JSON.stringify(last)}`)
  })
  expect(after.resources).toEqual(before.resources)
  // Retained memory, not noise: 1,000 leaked streams (each with its watcher, buffers and listeners) would hold far more.
  expect(after.heapUsed - before.heapUsed).toBeLessThan(3 * 1024 * 1024)
  const cancel = await fetch(`${origin}/api/v1/runs/${id}/cancel`, { method: 'POST', headers: auth })
  expect(cancel.status).toBe(202)
  await eventually(async () => ((await json<{ status: string }>(await fetch(`${origin}/api/v1/runs/${id}`))).status === 'cancelled' ? true : undefined), 'the run to be cancelled')
})
