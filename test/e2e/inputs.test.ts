/** Workflow inputs: --input, --inputs-file, defaults, required, ctx.inputs, inputRef, recorded on run:start. */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { RunDocument } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { FIXTURES, makeWorkspace, parseJson, STARTED_RUN, type Workspace } from '../helpers/cli.js'

const fixture = path.join(FIXTURES, 'inputs.ts')

describe('workflow inputs', () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('--input and --inputs-file set inputs; nodes read them by inputRef and ctx.inputs; defaults fill the rest', async () => {
    ws = await makeWorkspace('sqlite')
    const south = await ws.run(['run', fixture, '--input', 'region=south', '--log-format', 'json'])
    expect(south.code).toBe(0)
    const start = south.stderr.split('\n').map(line => (line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : null)).find(event => event?.event === 'run:start')
    expect(start?.inputs).toEqual({ region: 'south', tier: 'small' })
    const runId = STARTED_RUN.exec(`started run ${start!.runId as string}`)![1]!
    expect((await ws.run(['logs', runId, 'deploy/argv'])).stdout).toBe('region south\n')
    expect((await ws.run(['logs', runId, 'deploy/func'])).stdout).toBe('tier is small\n')
    expect((await ws.run(['logs', runId, 'deploy/south-only'])).stdout).toBe('south\n')

    await writeFile(path.join(ws.dir, 'prod.json'), JSON.stringify({ region: 'north', tier: 'large' }))
    const north = await ws.run(['run', fixture, '--inputs-file', 'prod.json', '--input', 'region=east', '--json'])
    expect(north.code).toBe(0)
    const doc = parseJson<RunDocument>(north.stdout)
    expect(doc.nodes.find(node => node.path === 'deploy/south-only')?.status).toBe('skipped')
    expect((await ws.run(['logs', doc.id, 'deploy/argv'])).stdout).toBe('region east\n')
    expect((await ws.run(['logs', doc.id, 'deploy/func'])).stdout).toBe('tier is large\n')

    const list = await ws.run(['list', fixture])
    expect(list.stdout).toContain('--input region=… (required)  where to deploy')
    expect(list.stdout).toContain('--input tier=… (default "small")')
  })

  it('a missing required input, or one the workflow does not declare, is exit 2 before anything runs', async () => {
    ws = await makeWorkspace('sqlite')
    const missing = await ws.run(['run', fixture])
    expect(missing).toMatchObject({ code: 2, stdout: '', stderr: 'wtflow: error: workflow "deploy" needs input "region" (where to deploy); give --input region=VALUE.\n' })
    const unknown = await ws.run(['run', fixture, '--input', 'region=south', '--input', 'regoin=x'])
    expect(unknown).toMatchObject({ code: 2, stderr: 'wtflow: error: workflow "deploy" has no input "regoin"; it declares "region", "tier".\n' })
    expect(parseJson<unknown[]>((await ws.run(['runs', '--json'])).stdout)).toEqual([])
  })
})
