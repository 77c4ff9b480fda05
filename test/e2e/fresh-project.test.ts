/**
 * The packages as users get them: `npm pack` tarballs installed offline (`npm ci --offline` from a
 * lockfile derived from this repository's, the npm cache supplying third-party packages) into a
 * fresh ES-module npm project, and the same node_modules in a fresh CommonJS project (`npm init`'s
 * default); a TypeScript script with a Command and a Func runs in each.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO_ROOT, runCli } from '../helpers/cli.js'

const PACKAGES = ['core', 'spawn', 'db', 'flow', 'server', 'cli']
const SCRIPT = `import { Command, Func, Node, Workflow } from '@wtflow/core'

export function greet(name: string) {
  console.log(\`hello \${name} from a Func\`)
}

export default new Workflow({
  name: 'fresh',
  root: new Node({
    name: 'root',
    executable: new Command('echo hello from a Command'),
    children: [new Node({ name: 'func', executable: new Func(greet, { args: ['world'] }) })],
  }),
})
`

describe('a fresh npm project', () => {
  let dir: string
  let esm: string

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wtflow-fresh-'))
    const packs = path.join(dir, 'packs')
    await mkdir(packs)
    for (const name of PACKAGES) execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', packs], { cwd: path.join(REPO_ROOT, 'packages', name), stdio: 'ignore' })
    esm = path.join(dir, 'esm')
    await mkdir(esm)
    await writeOfflineLock(packs, esm)
    execFileSync('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: esm, stdio: 'ignore' })
  }, 600_000)

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const env = () => Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('WTFLOW_') && !key.startsWith('npm_'))) as Record<string, string>
  const wtflow = (cwd: string, args: string[]) => runCli(args, cwd, env(), path.join(cwd, 'node_modules', '.bin', 'wtflow'))

  it('ES modules ("type": "module"): the bin runs a TypeScript script and records it', async () => {
    const manifest = JSON.parse(await readFile(path.join(esm, 'package.json'), 'utf8')) as Record<string, unknown>
    await writeFile(path.join(esm, 'package.json'), JSON.stringify({ ...manifest, type: 'module' }, null, 2))
    await writeFile(path.join(esm, 'wtfile.ts'), SCRIPT)
    const run = await wtflow(esm, ['run'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('root | hello from a Command')
    expect(run.stdout).toContain('root/func | hello world from a Func')
    expect((await wtflow(esm, ['runs'])).stdout).toMatch(/fresh +succeeded/)
  })

  it('CommonJS (npm init\'s default): a .ts script works, Funcs included', async () => {
    const cjs = path.join(dir, 'cjs')
    await mkdir(cjs)
    execFileSync('npm', ['init', '-y'], { cwd: cjs, stdio: 'ignore' })
    await cp(path.join(esm, 'node_modules'), path.join(cjs, 'node_modules'), { recursive: true, verbatimSymlinks: true })
    await writeFile(path.join(cjs, 'wtfile.ts'), SCRIPT)
    const run = await wtflow(cjs, ['run'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('root/func | hello world from a Func')
  })
})

/**
 * package.json and package-lock.json of a project that depends on the tarballs: third-party
 * entries come from this repository's lockfile (resolved URLs and integrity hashes, which the
 * npm cache answers offline), those of the packages point at the tarballs.
 */
async function writeOfflineLock(packs: string, project: string): Promise<void> {
  const lock = JSON.parse(await readFile(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> }
  const dependencies: Record<string, string> = {}
  const packages: Record<string, unknown> = {}
  for (const name of PACKAGES) dependencies[`@wtflow/${name}`] = `file:../packs/wtflow-${name}-0.1.0.tgz`
  packages[''] = { name: 'fresh', version: '1.0.0', dependencies }
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === '' || entry.link === true || entry.dev === true || entry.devOptional === true) continue
    const own = /^packages\/([^/]+)$/.exec(key)
    if (own !== null) {
      if (!PACKAGES.includes(own[1]!)) continue
      const tarball = path.join(packs, `wtflow-${own[1]}-0.1.0.tgz`)
      const { name: _, devDependencies: __, ...rest } = entry
      packages[`node_modules/@wtflow/${own[1]}`] = {
        ...rest,
        resolved: `file:../packs/wtflow-${own[1]}-0.1.0.tgz`,
        integrity: `sha512-${createHash('sha512').update(await readFile(tarball)).digest('base64')}`,
      }
      continue
    }
    const nested = /^packages\/([^/]+)\/(node_modules\/.*)$/.exec(key)
    if (nested !== null && PACKAGES.includes(nested[1]!)) packages[`node_modules/@wtflow/${nested[1]}/${nested[2]}`] = entry
    else if (key.startsWith('node_modules/') && !key.startsWith('node_modules/@wtflow/')) packages[key] = entry
  }
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'fresh', version: '1.0.0', dependencies }, null, 2))
  await writeFile(path.join(project, 'package-lock.json'), JSON.stringify({ name: 'fresh', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2))
}
