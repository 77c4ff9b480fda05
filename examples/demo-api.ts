/**
 * The small API of the http examples (examples/http.ts starts it itself; examples/http.yaml
 * is given its URL). Run it alone to try the flow:
 *
 *   npx tsx examples/demo-api.ts        # prints its URL; Ctrl-C stops it
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'

/** The bearer token it accepts unless given another. */
export const DEMO_TOKEN = 'demo-token-7f3a9c'

/** The demo API. Unref'd: it never keeps a process alive (importing this script starts nothing else). */
export async function startDemoApi(token: string = process.env.DEMO_API_TOKEN ?? DEMO_TOKEN): Promise<string> {
  let dailyRequests = 0
  const server = createServer((req, res) => {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(value))
    }
    if (req.url === '/health') return json(200, { ok: true })
    if (req.headers.authorization !== `Bearer ${token}`) return json(401, { error: 'unauthorized' })
    if (req.url === '/reports/daily') {
      // Busy on the first call: the node's retries take care of it.
      return ++dailyRequests === 1 ? json(503, { error: 'busy, try again' }) : json(200, { day: 'yesterday', orders: 42, revenue: 1234.5 })
    }
    if (req.url === '/reports/weekly-old') {
      res.writeHead(301, { location: '/reports/weekly' })
      return res.end()
    }
    if (req.url === '/reports/weekly') return json(200, { week: 'last', orders: 301 })
    if (req.url === '/publish' && req.method === 'POST') {
      let body = ''
      req.on('data', chunk => (body += chunk))
      req.on('end', () => {
        const report = JSON.parse(body) as { body: { orders: number } }
        json(201, { published: true, orders: report.body.orders })
      })
      return
    }
    json(404, { error: 'no such path' })
  })
  server.unref()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}


if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const url = await startDemoApi()
  console.log(url)
  // Unref'd server: keep this process alive until Ctrl-C.
  setInterval(() => {}, 1 << 30)
}
