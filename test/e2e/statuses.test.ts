/** What a run's statuses say: groups from their subtree, executables counted, tolerated failures apart. */
import path from 'node:path'
import type { RunDocument } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_DATABASES, FIXTURES, makeWorkspace, parseJson, STARTED_RUN, unavailable, type Workspace } from '../helpers/cli.js'

const fixture = path.join(FIXTURES, 'statuses.ts')

for (const kind of ALL_DATABASES) describe.skipIf(unavailable(kind))(`statuses on ${kind}`, () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('a group is failed when a node under it failed; a tolerated failure is marked and counted apart; the summary counts executables', async () => {
    ws = await makeWorkspace(kind)
    const plain = await ws.run(['run', fixture])
    expect(plain.code).toBe(1)
    expect(plain.stdout).toMatch(/ FAILED ci\/lint: exit code 4 \(\d+ms\), failed \(tolerated\): the run goes on$/m)
    expect(plain.stdout).toMatch(/ FAILED ci\/checks: a node under it failed/m)
    expect(plain.stdout).toMatch(/^✗ statuses failed in \S+: 1 succeeded, 1 failed \(tolerated\), 1 failed$/m)
    expect(plain.stdout).toMatch(/^✗ ci\/lint: exit code 4 \(failed \(tolerated\)\)$/m)
    const runId = STARTED_RUN.exec(plain.stdout)![1]!

    const json = await ws.run(['run', fixture, '--json'])
    const doc = parseJson<RunDocument>(json.stdout)
    const statuses = (d: RunDocument) => d.nodes.map(n => [n.path, n.status, n.tolerated ?? false])
    const expected = [
      ['ci', 'failed', false],
      ['ci/lint', 'failed', true],
      ['ci/checks', 'failed', false],
      ['ci/checks/types', 'succeeded', false],
      ['ci/checks/unit', 'failed', false],
    ]
    expect(statuses(doc)).toEqual(expected)
    expect(Object.keys(doc.nodes[0]!)).not.toContain('tolerated')

    const shown = await ws.run(['show', runId, '--json'])
    expect(statuses(parseJson<RunDocument>(shown.stdout))).toEqual(expected)
    const tree = await ws.run(['show', runId])
    expect(tree.stdout).toMatch(/lint\s+failed \(tolerated\)\s+exit 4/)
    expect(tree.stdout).toMatch(/checks\s+failed/)
  })
})
