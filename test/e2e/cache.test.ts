/** `cache` through the CLI: hits, `--no-cache`, `cache explain`, `cache clear`, history off. */
import { existsSync } from 'node:fs'
import { readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { RunDocument } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_DATABASES, REPO_ROOT, makeWorkspace, parseJson, unavailable, type Workspace } from '../helpers/cli.js'

const CORE = path.join(REPO_ROOT, 'packages/core/dist/index.js')
const SCRIPT = `import { Command, Node, Workflow } from ${JSON.stringify(CORE)}
export default new Workflow({ name: 'build', root: new Node({ name: 'root', children: [
  new Node({ name: 'compile', executable: new Command('echo compile >> marks; cat src.txt > out.txt'), artifacts: ['out.txt'], cache: { files: ['src.txt'], env: ['MODE'] } }),
  new Node({ name: 'other', executable: new Command('echo other >> marks'), cache: { files: ['nothing-*.txt'] } }),
] }) })
`

for (const kind of ALL_DATABASES) describe.skipIf(unavailable(kind))(`cache on ${kind}`, () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })
  const marks = async () => (existsSync(path.join(ws.dir, 'marks')) ? (await readFile(path.join(ws.dir, 'marks'), 'utf8')).trim().split('\n') : [])
  const run = async (args: string[] = [], env: Record<string, string> = {}) => {
    await rm(path.join(ws.dir, 'marks'), { force: true })
    const result = await ws.run(['run', 'wf.mts', '--json', ...args], { env })
    expect(result.code, result.stderr).toBe(0)
    return { doc: parseJson<RunDocument>(result.stdout), stderr: result.stderr }
  }

  it('hits, --no-cache, WTFLOW_NO_CACHE, explain and clear', async () => {
    ws = await makeWorkspace(kind)
    await writeFile(path.join(ws.dir, 'wf.mts'), SCRIPT)
    await writeFile(path.join(ws.dir, 'src.txt'), 'v1')
    const first = await run()
    expect(first.stderr).toContain('warning: "root/other": cache.files glob "nothing-*.txt" matches no file in')
    expect(await marks()).toEqual(['compile', 'other'])
    await rm(path.join(ws.dir, 'out.txt'))
    const hit = await run()
    expect(await marks()).toEqual([])
    expect(hit.doc.nodes.map(n => n.status)).toEqual(['succeeded', 'cached', 'cached'])
    expect(await readFile(path.join(ws.dir, 'out.txt'), 'utf8')).toBe('v1')
    await run(['--no-cache'])
    expect(await marks()).toEqual(['compile', 'other'])
    await run([], { WTFLOW_NO_CACHE: '1' })
    expect(await marks()).toEqual(['compile', 'other'])

    await writeFile(path.join(ws.dir, 'src.txt'), 'v2')
    const changed = await run([], { MODE: 'release' })
    expect(await marks()).toEqual(['compile'])
    const explain = await ws.run(['cache', 'explain', changed.doc.id, 'root/compile'])
    expect(explain.code, explain.stderr).toBe(0)
    expect(explain.stdout).toContain('miss')
    expect(explain.stdout).toContain('differs: files:src.txt, env:MODE')
    expect(explain.stdout).not.toContain('release')
    const json = parseJson<{ differ: string[] }>((await ws.run(['cache', 'explain', changed.doc.id, 'root/compile', '--json'])).stdout)
    expect(json.differ).toEqual(['files:src.txt', 'env:MODE'])

    const cleared = await ws.run(['cache', 'clear'])
    expect(cleared.stdout).toMatch(/^cleared \d+ cache entries\n$/)
    await run([], { MODE: 'release' })
    expect(await marks()).toEqual(['compile', 'other'])
  })

  it('with history off caching is off, with one warning line', async () => {
    ws = await makeWorkspace(kind)
    await writeFile(path.join(ws.dir, 'wf.mts'), SCRIPT)
    await writeFile(path.join(ws.dir, 'src.txt'), 'v1')
    const off = await ws.run(['run', 'wf.mts'], { env: { WTFLOW_DB_URL: 'none' } })
    expect(off.code, off.stderr).toBe(0)
    expect(off.stderr.match(/caching needs run history/g)).toHaveLength(1)
  })
})
