/** The Http executable against a real HTTP server on 127.0.0.1. */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine, Http, Node, ValidationError, Workflow, type EngineEventMap, type NodeOptions, type NodeResult, type RunResult } from '../src/index.js'
import { tempDir, testConfig } from './helpers.js'

const here = path.dirname(fileURLToPath(import.meta.url))

let server: Server
let base: string
/** Requests seen, by path (without the query). */
const seen = new Map<string, IncomingMessage[]>()
/** Responses held open by /slow, ended when the server closes. */
const held: ServerResponse[] = []
const flaky = new Map<string, number>()

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x')
  const list = seen.get(url.pathname) ?? []
  list.push(req)
  seen.set(url.pathname, list)
  const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    res.end(JSON.stringify(value))
  }
  switch (url.pathname) {
    case '/json':
      return json(200, { hello: 'world', n: 1 })
    case '/text':
      res.writeHead(200, { 'content-type': 'text/plain' })
      return void res.end('plain text\n')
    case '/status': {
      const code = Number(url.searchParams.get('code'))
      res.writeHead(code, { 'content-type': 'text/plain' })
      return void res.end(`status ${code}`)
    }
    case '/flaky': {
      // Fails the first `fail` requests of each key, then answers.
      const key = url.searchParams.get('key')!
      const count = (flaky.get(key) ?? 0) + 1
      flaky.set(key, count)
      return count <= Number(url.searchParams.get('fail')) ? json(503, { error: 'busy' }) : json(200, { ok: true, count })
    }
    case '/redirect':
      res.writeHead(302, { location: '/json' })
      return void res.end()
    case '/slow':
      held.push(res)
      return
    case '/reset':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000000' })
      res.write('partial body…', () => req.socket.destroy())
      return
    case '/echo': {
      let body = ''
      req.setEncoding('utf8')
      req.on('data', chunk => (body += chunk))
      req.on('end', () => json(200, { method: req.method, headers: req.headers, body }, { 'set-cookie': 'session=abcdef123456; HttpOnly' }))
      return
    }
    case '/big': {
      // `mb` MiB of 'x' in 64 KiB writes, respecting backpressure.
      const total = Number(url.searchParams.get('mb')) * 1024 * 1024
      const chunk = Buffer.alloc(64 * 1024, 'x')
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) })
      let sent = 0
      const pump = () => {
        while (sent < total) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        res.end()
      }
      return pump()
    }
    default:
      res.writeHead(404)
      res.end('no such path')
  }
}

beforeAll(async () => {
  server = createServer(handle)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  for (const res of held) res.destroy()
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})

function engineWith(secrets: Record<string, string> = {}): Engine {
  return new Engine({ config: testConfig({ secrets }), handleSignals: false })
}

async function runOne(http: Http, options: Partial<NodeOptions<unknown>> = {}, engine = engineWith()): Promise<{ result: RunResult; node: NodeResult }> {
  const result = await engine.run(new Workflow({ name: 'http', root: new Node({ name: 'call', executable: http, ...options }) }))
  return { result, node: result.nodes[0]! }
}

function artifact(node: NodeResult, name: string): string {
  const found = node.artifacts.find(a => a.name === name)
  if (found === undefined) throw new Error(`${node.path} has no ${name} artifact (has ${node.artifacts.map(a => a.name).join(', ')})`)
  return readFileSync(found.path, 'utf8')
}

describe('Http', () => {
  it('GETs JSON: the body streams to stdout.log, the result holds status, headers and the parsed body', async () => {
    const { node } = await runOne(new Http({ url: `${base}/json` }))
    expect(node).toMatchObject({ status: 'succeeded', kind: 'http', display: `GET ${base}/json`, exitCode: 0, error: null })
    expect(artifact(node, 'stdout')).toBe('{"hello":"world","n":1}')
    const result = JSON.parse(artifact(node, 'result'))
    expect(result).toMatchObject({ status: 200, statusText: 'OK', body: { hello: 'world', n: 1 }, url: `${base}/json` })
    expect(result.headers['content-type']).toBe('application/json; charset=utf-8')
  })

  it('keeps a body that is not JSON as text', async () => {
    const { node } = await runOne(new Http({ url: `${base}/text` }))
    expect(JSON.parse(artifact(node, 'result')).body).toBe('plain text\n')
  })

  it('fails the attempt on a status outside expect, and retries', async () => {
    const { node } = await runOne(new Http({ url: `${base}/flaky?key=retry&fail=1` }), { retries: 2, retryDelay: 0 })
    expect(node.status).toBe('succeeded')
    expect(node.attempts.map(a => [a.status, a.error?.code ?? null])).toEqual([
      ['failed', 'WTFLOW_HTTP_STATUS'],
      ['succeeded', null],
    ])
    expect(node.attempts[0]!.error!.message).toBe(`GET ${base}/flaky?key=retry&fail=1 answered 503 Service Unavailable, expected 200–299; the body is in the stdout artifact`)
    expect(JSON.parse(artifact(node, 'result')).body).toEqual({ ok: true, count: 2 })
  })

  it('takes the statuses expect lists, and only those', async () => {
    const notFound = await runOne(new Http({ url: `${base}/status?code=404`, expect: [404] }))
    expect(notFound.node.status).toBe('succeeded')
    expect(JSON.parse(artifact(notFound.node, 'result'))).toMatchObject({ status: 404, body: 'status 404' })
    const ok = await runOne(new Http({ url: `${base}/status?code=200`, expect: [201] }))
    expect(ok.node).toMatchObject({ status: 'failed', error: { code: 'WTFLOW_HTTP_STATUS', message: `GET ${base}/status?code=200 answered 200 OK, expected 201; the body is in the stdout artifact` } })
  })

  it('follows redirects; the result names the URL that answered', async () => {
    const { node } = await runOne(new Http({ url: `${base}/redirect` }))
    expect(node.status).toBe('succeeded')
    expect(JSON.parse(artifact(node, 'result'))).toMatchObject({ status: 200, url: `${base}/json`, body: { hello: 'world', n: 1 } })
  })

  it('sends a JSON body and headers; credentials in the URL become Basic auth and never show', async () => {
    const url = `http://user:pa55w0rd-x@127.0.0.1:${(server.address() as AddressInfo).port}/echo`
    const engine = engineWith()
    const shown: string[] = []
    engine.on('run:start', event => shown.push(event.mask(JSON.stringify(event.plan.toJSON()))))
    const { node } = await runOne(new Http({ url, method: 'put', body: { a: [1, 2] }, headers: { 'x-trace': 'abc' } }), {}, engine)
    expect(node.status).toBe('succeeded')
    const echoed = JSON.parse(artifact(node, 'result')).body
    expect(echoed).toMatchObject({ method: 'PUT', body: '{"a":[1,2]}', headers: { 'x-trace': 'abc', 'content-type': 'application/json', authorization: '***' } })
    expect(node.display).toBe(`PUT ${base}/echo`)
    expect(shown[0]).not.toContain('pa55w0rd-x')
    expect(shown[0]).toContain('***')
    // What the server got: the real credentials.
    const got = seen.get('/echo')!.at(-1)!
    expect(got.headers.authorization).toBe(`Basic ${Buffer.from('user:pa55w0rd-x').toString('base64')}`)
  })

  it('masks authorization, cookies and headers holding a configured secret in artifacts, results, plan and errors', async () => {
    const engine = engineWith({ API: 'configured-secret-42' })
    let planText = ''
    engine.on('run:start', event => (planText = event.mask(JSON.stringify(event.plan.toJSON()))))
    const ended: Array<EngineEventMap['node:end']> = []
    engine.on('node:end', event => ended.push(event))
    const http = new Http({
      url: `${base}/echo`,
      headers: { authorization: 'Bearer tok-1234567890', cookie: 'sid=cookie-value-99', 'x-custom': 'configured-secret-42' },
    })
    const { node } = await runOne(http, {}, engine)
    expect(node.status).toBe('succeeded')
    const stdout = artifact(node, 'stdout')
    const result = artifact(node, 'result')
    for (const text of [stdout, result, planText, JSON.stringify(ended)]) {
      expect(text).not.toContain('tok-1234567890')
      expect(text).not.toContain('cookie-value-99')
      expect(text).not.toContain('configured-secret-42')
    }
    const parsed = JSON.parse(result)
    expect(parsed.body.headers).toMatchObject({ authorization: '***', cookie: '***', 'x-custom': '***' })
    expect(parsed.headers['set-cookie']).toBe('***')
    // The server got them in clear.
    expect(seen.get('/echo')!.at(-1)!.headers).toMatchObject({ authorization: 'Bearer tok-1234567890', cookie: 'sid=cookie-value-99' })
  })

  it('a server that does not answer: each attempt times out, the node fails naming the URL without credentials', async () => {
    const port = (server.address() as AddressInfo).port
    const before = seen.get('/slow')?.length ?? 0
    const { node } = await runOne(new Http({ url: `http://me:hunter22@127.0.0.1:${port}/slow?x=1`, timeout: 200 }), { retries: 1, retryDelay: 0 })
    expect(node.status).toBe('failed')
    expect(node.attempts.map(a => a.status)).toEqual(['failed', 'failed'])
    expect(seen.get('/slow')!.length - before).toBe(2)
    expect(node.error).toMatchObject({ code: 'WTFLOW_TIMEOUT', message: `GET ${base}/slow?x=1: no complete response within 200 ms` })
    expect(JSON.stringify(node)).not.toContain('hunter22')
  })

  it('the node timeout stops a request that hangs (timed_out)', async () => {
    const { node } = await runOne(new Http({ url: `${base}/slow` }), { timeout: 200 })
    expect(node).toMatchObject({ status: 'timed_out', error: { code: 'WTFLOW_TIMEOUT' } })
  })

  it('a connection reset mid-body fails the attempt with the URL and what was received', async () => {
    const { node } = await runOne(new Http({ url: `${base}/reset` }))
    expect(node.status).toBe('failed')
    expect(node.error!.code).toBe('WTFLOW_HTTP_REQUEST')
    expect(node.error!.message).toMatch(new RegExp(`^GET ${base}/reset failed after 200 and \\d+ bytes of the body: `))
    expect(artifact(node, 'stdout')).toBe('partial body…')
  })

  it('a refused connection fails with the URL and the reason', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer()
    probe.listen(0, '127.0.0.1')
    await once(probe, 'listening')
    const port = (probe.address() as AddressInfo).port
    await new Promise(resolve => probe.close(resolve))
    const { node } = await runOne(new Http({ url: `http://127.0.0.1:${port}/` }))
    expect(node.error).toMatchObject({ code: 'WTFLOW_HTTP_REQUEST', message: expect.stringMatching(new RegExp(`^GET http://127.0.0.1:${port}/ failed: fetch failed: .*ECONNREFUSED`)) })
  })

  it('a result or artifact of an upstream node is a body (and a dependency)', async () => {
    const source = new Node({ name: 'source', executable: new Http({ url: `${base}/json` }) })
    const post = new Node({ name: 'post', executable: new Http({ url: `${base}/echo`, body: source.result }) })
    const file = new Node({ name: 'file', executable: new Http({ url: `${base}/echo`, body: source.stdout }) })
    const result = await engineWith().run(new Workflow({ name: 'chain', root: new Node({ name: 'root', parallel: true, children: [source, post, file] }) }))
    expect(result.nodes.map(n => n.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded'])
    const posted = JSON.parse(JSON.parse(artifact(result.nodes[2]!, 'result')).body.body)
    expect(posted).toMatchObject({ status: 200, body: { hello: 'world', n: 1 } })
    expect(JSON.parse(artifact(result.nodes[3]!, 'result')).body.body).toBe('{"hello":"world","n":1}')
  })

  it.each([
    [{ url: 'not a url' }, 'root/call: Http: "not a url" is not a valid URL; write it in full, e.g. http://127.0.0.1:8080/path'],
    [{ url: 'ftp://u:secretpw@host/x' }, 'root/call: Http: "ftp://host/x" is not an http:// or https:// URL'],
    [{ url: 'http://127.0.0.1/', method: 'GET POST' }, 'root/call: Http: method "GET POST" is not an HTTP method; use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS'],
    [{ url: 'http://127.0.0.1/', method: 'CONNECT' }, 'root/call: Http: method CONNECT cannot be sent by fetch; use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS'],
    [{ url: 'http://127.0.0.1/', method: 'GET', body: 'x' }, 'root/call: Http: a GET request cannot have a body; use POST (or leave the method out)'],
    [{ url: 'http://127.0.0.1/', expect: [] }, 'root/call: Http: expect must be a non-empty array of HTTP status codes (100–599), got []'],
    [{ url: 'http://127.0.0.1/', timeout: 0 }, 'root/call: Http: timeout must be a positive number of milliseconds, got 0'],
  ])('rejects bad options before anything runs: %j', async (options, message) => {
    const before = [...seen.values()].reduce((sum, list) => sum + list.length, 0)
    const sibling = new Node({ name: 'first', executable: new Http({ url: `${base}/json` }) })
    const workflow = new Workflow({ name: 'bad', root: new Node({ name: 'root', children: [sibling, new Node({ name: 'call', executable: new Http(options as never) })] }) })
    const error = await engineWith().run(workflow).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).message).toBe(message)
    expect((error as ValidationError).nodePath).toBe('root/call')
    expect([...seen.values()].reduce((sum, list) => sum + list.length, 0)).toBe(before)
  })

  it('rejects cwd on an Http node', async () => {
    const error = await engineWith().validate(new Workflow({ name: 'w', root: new Node({ name: 'n', cwd: '/tmp', executable: new Http({ url: `${base}/json` }) }) })).catch((e: unknown) => e)
    expect((error as Error).message).toBe('n: cwd cannot apply to a http executable: it does not run in a working directory')
  })

  it('streams a 100 MB body with flat memory (peak RSS of a child process, 1 MB vs 100 MB)', async () => {
    const measure = async (mb: number) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures/http/big-body.ts'), `${base}/big?mb=${mb}`, tempDir()], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.setEncoding('utf8').on('data', chunk => (out += chunk))
      const [code] = (await once(child, 'exit')) as [number]
      expect(code, out).toBe(0)
      return JSON.parse(out) as { status: string; hwmKb: number; artifacts: Array<{ name: string; size: number }> }
    }
    const small = await measure(1)
    const large = await measure(100)
    expect(small.status).toBe('succeeded')
    expect(large.status).toBe('succeeded')
    expect(large.artifacts.find(a => a.name === 'stdout')!.size).toBe(100 * 1024 * 1024)
    // Holding the body would add at least 100 MB; streaming adds garbage the GC takes in its time
    // (a plateau of some tens of MB, the same for 300 MB).
    expect((large.hwmKb - small.hwmKb) / 1024).toBeLessThan(64)
  }, 120_000)

  it('toSpec rebuilds it (planFromDocument) with the same digest', async () => {
    const { planFromDocument } = await import('../src/index.js')
    const workflow = new Workflow({ name: 'w', root: new Node({ name: 'n', executable: new Http({ url: `${base}/json`, method: 'POST', body: { a: 1 }, headers: { 'x-a': 'b' }, expect: [200, 201], timeout: 1000 }) }) })
    const plan = await engineWith().validate(workflow)
    const copy = await planFromDocument(JSON.parse(JSON.stringify(plan.toJSON())))
    expect(copy.nodeDigest(copy.root)).toBe(plan.nodeDigest(plan.root))
    expect(copy.root.executable).toBeInstanceOf(Http)
    expect(copy.root.display).toBe(`POST ${base}/json`)
  })
})

describe('Http header names', () => {
  it('treats credentials-like names as sensitive, and only those', async () => {
    const { isSensitiveHeader } = await import('../src/executables/http-parts.js')
    const sensitive = ['Authorization', 'proxy-authorization', 'Cookie', 'set-cookie', 'x-api-key', 'X-Auth-Token', 'x-auth', 'private-token', 'x-client-secret', 'x-password']
    const plain = ['content-type', 'x-author', 'accept', 'x-trace', 'user-agent', 'x-authority-hint']
    expect(sensitive.filter(name => !isSensitiveHeader(name))).toEqual([])
    expect(plain.filter(name => isSensitiveHeader(name))).toEqual([])
  })
})
