/**
 * Http and Env nodes against a small API that this example starts itself on 127.0.0.1 (a random
 * port), so it runs anywhere; set API_URL to call a real service instead. It shows a health
 * check, an `Authorization` header that never shows (artifacts, history, display: `***`), a
 * retry on a 503, a redirect followed, and a POST whose body is an upstream node's result.
 *
 *   npx wtflow run examples/http.ts
 *   npx wtflow run examples/http.ts --log-format json 2>&1 >/dev/null | jq -c 'select(.event == "node:end") | {path, status}'
 */
import { Env, Http, Node, Workflow } from '@wtflow/core'
import { DEMO_TOKEN, startDemoApi } from './demo-api.js'

const token = process.env.DEMO_API_TOKEN ?? DEMO_TOKEN

const api = process.env.API_URL ?? (await startDemoApi(token))
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
