/** `wtflow serve` sides: API latency under a steady request rate, live-log delivery latency, the run page in Chromium. */
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '@wtflow/core'
import { openDatabase } from '@wtflow/db'
import { insertRuns, syntheticRun } from '@wtflow/db/internal'
import autocannon from 'autocannon'
import { chromium } from 'playwright-core'
import { timed } from '../measure.js'
import { num, str } from './params.js'
import type { Side } from './types.js'

const here = path.dirname(fileURLToPath(import.meta.url))

/** Starts src/server-child.js (this build's) and resolves to its origin. */
async function startServerProcess(
  options: { dbUrl: string; schema?: string; artifactsDir: string; workflows?: string[] },
  env: Record<string, string> = {},
): Promise<{ origin: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(here, '..', 'server-child.js'), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
  let out = ''
  const origin = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const match = /READY (\S+)/.exec(out)
      if (match !== null) resolve(match[1]!)
    })
    child.once('exit', code => reject(new Error(`the server process exited (${code}) before it was ready`)))
  })
  return {
    origin,
    child,
    stop: () =>
      new Promise(resolve => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

function dbUrlOf(params: Record<string, unknown>): { dbUrl: string; schema?: string } {
  const db = str(params, 'db')
  if (db === 'sqlite') return { dbUrl: `sqlite://${str(params, 'file')}` }
  return { dbUrl: db, ...(typeof params.schema === 'string' ? { schema: params.schema } : {}) }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!
}

/**
 * `GET /api/v1/runs?limit=50` at a fixed rate (`rate` requests/s for `seconds`) on a seeded
 * history; wall = p99 latency as autocannon measures it (a server in its own process).
 */
export const serverList: Side = async (params, tmpDir) => {
  const server = await startServerProcess({ ...dbUrlOf(params), artifactsDir: path.join(tmpDir, 'artifacts') })
  try {
    const url = `${server.origin}/api/v1/runs?limit=50`
    const check = (await (await fetch(url)).json()) as unknown[]
    if (check.length !== 50) throw new Error(`the seeded history lists ${check.length} runs, not 50`)
    await autocannon({ url, connections: 4, duration: 2, overallRate: num(params, 'rate') }) // warm-up
    const timing = await timed(async () => autocannon({ url, connections: 10, duration: num(params, 'seconds'), overallRate: num(params, 'rate') }))
    const result = timing.value
    if (result.errors > 0 || result.non2xx > 0) throw new Error(`${result.errors} errors, ${result.non2xx} non-2xx answers`)
    return {
      wallMs: result.latency.p99,
      cpuMs: timing.cpuMs,
      childCpuMs: 0,
      extra: { p50Ms: result.latency.p50, p90Ms: result.latency.p90, p99Ms: result.latency.p99, maxMs: result.latency.max, requests: result.requests.total, rps: result.requests.average },
    }
  } finally {
    await server.stop()
  }
}

/**
 * A command prints `rate` bytes/s with a timestamped marker line every 10 ms for `seconds`;
 * an SSE client of its log (started as soon as the node runs) measures when each marker
 * arrives. Wall = p99 of (arrival − write) over every marker.
 */
export const serverLog: Side = async (params, tmpDir) => {
  const seconds = num(params, 'seconds')
  const rate = num(params, 'rate')
  // The command inherits the server's environment: its rate and duration.
  const server = await startServerProcess(
    { dbUrl: `sqlite://${path.join(tmpDir, 'history.db')}`, artifactsDir: path.join(tmpDir, 'artifacts'), workflows: [path.join(here, '..', 'fixtures', 'server-wtfile.js')] },
    { RATE: String(rate), SECONDS: String(seconds) },
  )
  try {
    const auth = { authorization: 'Bearer bench', 'content-type': 'application/json' }
    const { id } = (await (await fetch(`${server.origin}/api/v1/runs`, { method: 'POST', headers: auth, body: '{"workflow":"printer"}' })).json()) as { id: string }
    const latencies: number[] = []
    let early = 0
    let bytes = 0
    const timing = await timed(async () => {
      // Follow from byte 0 as soon as the run exists (the node may not have started yet).
      for (;;) {
        const doc = (await (await fetch(`${server.origin}/api/v1/runs/${id}`)).json()) as { status: string; nodes: unknown[] }
        if (doc.nodes.length > 0) break
        await new Promise(resolve => setTimeout(resolve, 10))
      }
      const response = await fetch(`${server.origin}/api/v1/runs/${id}/nodes/print/logs`, { headers: { accept: 'text/event-stream' } })
      // Markers written before the client was connected measure its start-up, not delivery.
      const connectedAt = performance.timeOrigin + performance.now()
      const decoder = new TextDecoder()
      let buffer = ''
      let carry = ''
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        const now = performance.timeOrigin + performance.now()
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (data === undefined || /^event: /m.test(block)) continue
          // Only the markers matter: found with indexOf, not by splitting every line.
          const text = carry + (JSON.parse(data) as string)
          bytes += text.length - carry.length
          let at = 0
          for (;;) {
            const mark = text.indexOf('MARK ', at)
            if (mark === -1) break
            const eol = text.indexOf('\n', mark)
            if (eol === -1) break
            const written = Number(text.slice(mark + 5, eol))
            if (written >= connectedAt) latencies.push(now - written)
            else early++
            at = eol + 1
          }
          carry = text.slice(Math.max(at, text.lastIndexOf('\n') + 1))
        }
        if (buffer.includes('event: end\n')) break
      }
    })
    if (latencies.length + early < seconds * 95) throw new Error(`only ${latencies.length + early} markers arrived of ${seconds * 100}`)
    latencies.sort((a, b) => a - b)
    return {
      wallMs: percentile(latencies, 0.99),
      cpuMs: timing.cpuMs,
      childCpuMs: 0,
      extra: { markers: latencies.length, beforeConnect: early, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), maxMs: latencies.at(-1), mbPerSecond: bytes / 1e6 / (timing.wallMs / 1000) },
    }
  } finally {
    await server.stop()
  }
}

/**
 * The page of a finished run of `nodes` nodes, loaded cold in headless Chromium: bytes
 * transferred (compressed bodies + headers, the timeline fetched after the page included) and
 * time to interactive (DOMContentLoaded end: every script ran and htmx has processed the
 * page). Wall = time to interactive.
 */
export const serverPage: Side = async (params, tmpDir) => {
  const nodes = num(params, 'nodes')
  const dbUrl = `sqlite://${path.join(tmpDir, 'history.db')}`
  const db = (await openDatabase(loadConfig({ env: {}, overrides: { dbUrl } }).database))!
  const run = syntheticRun({ nodes, workflow: 'big', startedAt: new Date(Date.UTC(2026, 0, 1)) })
  await insertRuns(db, [run])
  await db.close()
  const server = await startServerProcess({ dbUrl, artifactsDir: path.join(tmpDir, 'artifacts') })
  const browser = await chromium.launch({
    executablePath: process.env.WTFLOW_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  try {
    // A warm-up load in a context of its own (the server's first render, Chromium's first page).
    const warm = await browser.newContext()
    await (await warm.newPage()).goto(`${server.origin}/runs/${run.id}`, { waitUntil: 'load' })
    await warm.close()
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } })
    const page = await context.newPage()
    const responses: Array<Promise<number>> = []
    page.on('requestfinished', request => {
      responses.push(request.sizes().then(s => s.responseBodySize + s.responseHeadersSize))
    })
    const timing = await timed(async () => {
      await page.goto(`${server.origin}/runs/${run.id}`, { waitUntil: 'load' })
    })
    const nav = await page.evaluate(() => {
      // Runs in the page (DOM types are not in this package's lib).
      type Timing = Record<'requestStart' | 'responseStart' | 'responseEnd' | 'domInteractive' | 'domContentLoadedEventStart' | 'domContentLoadedEventEnd' | 'loadEventEnd', number>
      const entry = (performance as unknown as { getEntriesByType(type: string): Timing[] }).getEntriesByType('navigation')[0]!
      return {
        interactiveMs: entry.domContentLoadedEventEnd,
        loadMs: entry.loadEventEnd,
        phases: { requestStart: entry.requestStart, responseStart: entry.responseStart, responseEnd: entry.responseEnd, domInteractive: entry.domInteractive, dclStart: entry.domContentLoadedEventStart },
      }
    })
    const rows = await page.locator('.node').count()
    if (rows !== nodes) throw new Error(`the page shows ${rows} nodes, not ${nodes}`)
    // A big run's timeline arrives right after the page: it counts in what is transferred.
    await page.locator('#gantt .g-row').nth(nodes - 1).waitFor({ state: 'attached' })
    const timelineMs = await page.evaluate(() => performance.now())
    const transferred = (await Promise.all(responses)).reduce((a, b) => a + b, 0)
    await context.close()
    return { wallMs: nav.interactiveMs, cpuMs: timing.cpuMs, childCpuMs: 0, extra: { transferredBytes: transferred, requests: responses.length, loadMs: nav.loadMs, timelineMs, ...nav.phases } }
  } finally {
    await browser.close()
    await server.stop()
  }
}

/**
 * The node page of a command printing `rate` bytes/s, followed live in headless Chromium for
 * `seconds`: the gaps between animation frames while the log streams in (a page that keeps
 * up renders a frame every ~16 ms; a stall shows as a long gap). Wall = the longest gap.
 */
export const serverLogView: Side = async (params, tmpDir) => {
  const seconds = num(params, 'seconds')
  const rate = num(params, 'rate')
  const server = await startServerProcess(
    { dbUrl: `sqlite://${path.join(tmpDir, 'history.db')}`, artifactsDir: path.join(tmpDir, 'artifacts'), workflows: [path.join(here, '..', 'fixtures', 'server-wtfile.js')] },
    { RATE: String(rate), SECONDS: String(seconds + 3) },
  )
  const browser = await chromium.launch({
    executablePath: process.env.WTFLOW_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  try {
    const auth = { authorization: 'Bearer bench', 'content-type': 'application/json' }
    const { id } = (await (await fetch(`${server.origin}/api/v1/runs`, { method: 'POST', headers: auth, body: '{"workflow":"printer"}' })).json()) as { id: string }
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    await page.goto(`${server.origin}/runs/${id}/nodes/print`)
    // Wait until text streams in, then watch the frames.
    await page.locator('wtflow-log .log-view .l').first().waitFor()
    const timing = await timed(async () =>
      page.evaluate(
        ms =>
          new Promise<number[]>(resolve => {
            // Runs in the page (DOM types are not in this package's lib).
            const page = globalThis as unknown as { requestAnimationFrame(callback: (now: number) => void): number }
            const gaps: number[] = []
            let last = performance.now()
            const end = last + ms
            const frame = (now: number) => {
              gaps.push(now - last)
              last = now
              if (now < end) page.requestAnimationFrame(frame)
              else resolve(gaps)
            }
            page.requestAnimationFrame(frame)
          }),
        seconds * 1000,
      ),
    )
    const gaps = [...timing.value].sort((a, b) => a - b)
    const lines = await page.locator('wtflow-log .log-view .l').count()
    return {
      wallMs: gaps.at(-1)!,
      cpuMs: timing.cpuMs,
      childCpuMs: 0,
      extra: { frames: gaps.length, p50Ms: percentile(gaps, 0.5), p99Ms: percentile(gaps, 0.99), maxMs: gaps.at(-1), linesShown: lines },
    }
  } finally {
    await browser.close()
    await server.stop()
  }
}
