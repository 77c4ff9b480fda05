import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { Context } from 'hono'

interface Asset {
  body: Buffer
  gzip: Buffer | null
  type: string
  hash: string
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
}

/**
 * The UI's static files, read once from `dist/assets` (hand-written ones and the vendored
 * htmx, its SSE extension and ansi_up, copied there by the build) and kept in memory with their
 * gzip. URLs carry a content hash, so the files are cached for good.
 */
export class Assets {
  readonly #files = new Map<string, Asset>()

  constructor(dir = defaultAssetsDir()) {
    for (const file of walk(dir)) {
      const name = path.relative(dir, file).split(path.sep).join('/')
      const body = fs.readFileSync(file)
      const type = TYPES[path.extname(file)] ?? 'application/octet-stream'
      const gzip = /^(text|image\/svg)/.test(type) && body.length > 512 ? gzipSync(body, { level: 9 }) : null
      this.#files.set(name, { body, gzip, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 10) })
    }
    if (!this.#files.has('vendor/htmx.min.js')) {
      throw new Error(`the web UI's assets are missing from ${dir}; build the package (npm run build -w @wtflow/server)`)
    }
  }

  /** The URL of an asset, with its content hash. */
  url(name: string): string {
    const asset = this.#files.get(name)
    if (asset === undefined) throw new Error(`no asset ${name}`)
    return `/assets/${name}?v=${asset.hash}`
  }

  respond(c: Context, name: string): Response {
    const asset = this.#files.get(name)
    if (asset === undefined) return c.json({ error: { code: 'WTFLOW_SERVER_NOT_FOUND', message: `no asset ${name}` } }, 404)
    c.header('Content-Type', asset.type)
    c.header('Cache-Control', c.req.query('v') === asset.hash ? 'public, max-age=31536000, immutable' : 'no-cache')
    c.header('ETag', `"${asset.hash}"`)
    c.header('Vary', 'Accept-Encoding')
    if (c.req.header('if-none-match') === `"${asset.hash}"`) return c.body(null, 304)
    if (asset.gzip !== null && /\bgzip\b/.test(c.req.header('accept-encoding') ?? '')) {
      c.header('Content-Encoding', 'gzip')
      return c.body(new Uint8Array(asset.gzip))
    }
    return c.body(new Uint8Array(asset.body))
  }
}

function defaultAssetsDir(): string {
  // src/ui/assets.ts and dist/ui/assets.js are both two levels below the package root.
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'assets')
}

function* walk(dir: string): Generator<string> {
  if (!fs.existsSync(dir)) return
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) yield* walk(full)
    else yield full
  }
}
