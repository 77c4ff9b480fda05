/** Declared artifacts by glob or directory. */
import path from 'node:path'
import type { RunDocument } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { FIXTURES, makeWorkspace, parseJson, type Workspace } from '../helpers/cli.js'

describe('declared artifacts by glob or directory', () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('a glob collects every match by its relative path; a directory every file under it; a later node reads one by name', async () => {
    ws = await makeWorkspace('sqlite')
    const run = await ws.run(['run', path.join(FIXTURES, 'artifact-globs.ts'), '--json'])
    expect(run.code).toBe(0)
    const doc = parseJson<RunDocument>(run.stdout)
    const tests = doc.nodes.find(node => node.path === 'ci/tests')!
    expect(tests.artifacts.map(a => a.name).filter(name => name !== 'stdout' && name !== 'stderr')).toEqual(['reports/a.xml', 'reports/b.xml', 'coverage/index.html', 'coverage/lib/x.html'])
    expect(tests.artifacts.find(a => a.name === 'coverage/lib/x.html')!.path).toMatch(/ci\/tests\/coverage\/lib\/x\.html$/)
    expect((await ws.run(['logs', doc.id, 'ci/tests', '--artifact', 'reports/a.xml'])).stdout).toBe('A\n')
    expect((await ws.run(['logs', doc.id, 'ci/read'])).stdout).toBe('reports/b.xml: B\n')
  })
})
