/**
 * Http and Env nodes against a small API that this example starts itself on 127.0.0.1 (a random
 * port), so it runs anywhere; set API_URL to call a real service instead. It shows a health
 * check, an `Authorization` header that never shows (artifacts, history, display: `***`), a
 * retry on a 503, a redirect followed, and a POST whose body is an upstream node's result.
 *
 *   npx wtflow run examples/http.ts
 *   npx wtflow run examples/http.ts --log-format json 2>&1 >/dev/null | jq -c 'select(.event == "node:end") | {path, status}'
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Env, Http, Node, Workflow } from '@wtflow/core'

const token = process.env.DEMO_API_TOKEN ?? 'demo-token-7f3a9c'

/** The demo API. Unref'd: it never keeps a process alive (importing this script starts nothing else). */
async function startDemoApi(): Promise<string> {
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

const api = process.env.API_URL ?? (await startDemoApi())
const auth = { authorization: `Bearer ${token}` }

const health = new Node({ name: 'health', executable: new Http({ url: `${api}/health`, timeout: 5000 }) })
const settings = new Node({ name: 'settings', executable: new Env({ names: ['API_URL', 'TZ'] }) })
const daily = new Node({ name: 'daily', executable: new Http({ url: `${api}/reports/daily`, headers: auth }), retries: 2, retryDelay: 200 })
const weekly = new Node({ name: 'weekly', executable: new Http({ url: `${api}/reports/weekly-old`, headers: auth }) })
const publish = new Node({ name: 'publish', executable: new Http({ url: `${api}/publish`, headers: auth, body: daily.result, expect: [201] }) })

export default new Workflow({
  name: 'http',
  description: 'health check, reports fetched in parallel (a retry, a redirect), then published',
  root: new Node({
    name: 'api',
    children: [health, settings, new Node({ name: 'reports', parallel: true, children: [daily, weekly] }), publish],
  }),
})
