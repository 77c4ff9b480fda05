/**
 * Run as a child process (`node [--import tsx] locate-throw.js SCRIPT_URL`) only when importing a
 * script threw something that is not an Error (`throw 42`): such a value has no stack, so the
 * script is imported once more with the inspector pausing on exceptions (from a worker thread,
 * since a thread cannot pause itself), and the first frame in the script is printed as JSON
 * `{ "line": N, "column": N }` (source-mapped for TypeScript), or `null`.
 */
import { once } from 'node:events'
import { Worker } from 'node:worker_threads'

const target = process.argv[2]!

// The worker's code is a string: it must run without this package's module resolution.
const WATCHER = `
const { parentPort, workerData } = require('node:worker_threads')
const inspector = require('node:inspector')
const { SourceMap } = require('node:module')
const session = new inspector.Session()
session.connectToMainThread()
// Inspector callbacks do not keep a worker alive.
const keepAlive = setInterval(() => {}, 1 << 30)
const scripts = new Map()
session.on('Debugger.scriptParsed', ({ params }) => scripts.set(params.scriptId, params))
function located(script, line, column) {
  const url = script.sourceMapURL || ''
  if (url.startsWith('data:')) {
    try {
      const json = Buffer.from(url.slice(url.indexOf(',') + 1), url.includes(';base64,') ? 'base64' : 'utf8').toString('utf8')
      const entry = new SourceMap(JSON.parse(json)).findEntry(line, column)
      if (entry && typeof entry.originalLine === 'number') return { line: entry.originalLine + 1, column: entry.originalColumn + 1 }
    } catch {}
  }
  return { line: line + 1, column: column + 1 }
}
session.on('Debugger.paused', ({ params }) => {
  if (params.reason === 'exception') {
    for (const frame of params.callFrames) {
      const script = scripts.get(frame.location.scriptId)
      if (script && script.url === workerData) {
        parentPort.postMessage({ found: located(script, frame.location.lineNumber, frame.location.columnNumber ?? 0) })
        break
      }
    }
  }
  session.post('Debugger.resume')
})
parentPort.on('message', () => parentPort.postMessage({ end: true }))
session.post('Debugger.enable', () => session.post('Debugger.setPauseOnExceptions', { state: 'all' }, () => parentPort.postMessage('ready')))
`

const worker = new Worker(WATCHER, { eval: true, workerData: target })
await once(worker, 'message')
let found: unknown = null
const ended = new Promise<void>(resolve =>
  worker.on('message', (message: { found?: unknown; end?: boolean }) => {
    if (message.end === true) resolve()
    else found ??= message.found ?? null
  }),
)
try {
  await import(target)
} catch {
  // Expected: the point is where it threw.
}
// The worker told where it paused before this thread resumed: its answer to this comes after.
worker.postMessage('end')
await ended
process.stdout.write(`${JSON.stringify(found)}\n`)
process.exit(0)
