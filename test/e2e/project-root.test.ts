/** The project root is found upward from the working directory, like git finds `.git`. */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { RunSummary } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { FIXTURES, makeWorkspace, parseJson, runCli, type Workspace } from '../helpers/cli.js'

describe('project root', () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  it('history does not depend on the subdirectory a command is typed in; WTFLOW_CONFIG still wins', async () => {
    ws = await makeWorkspace('sqlite')
    const { WTFLOW_DB_URL: _, ...env } = ws.env
    const sub = path.join(ws.dir, 'a', 'b')
    await mkdir(sub, { recursive: true })
    // The run in the root creates .wtflow/: from then on it is the project root.
    expect((await runCli(['run', path.join(FIXTURES, 'one.ts')], ws.dir, env)).code).toBe(0)
    const fromSub = await runCli(['runs', '--json'], sub, env)
    expect(parseJson<RunSummary[]>(fromSub.stdout)).toHaveLength(1)
    // A run typed in the subdirectory is recorded in the root's history, its artifacts there too.
    expect((await runCli(['run', path.join(FIXTURES, 'one.ts'), '--json'], sub, env)).stdout).toContain(path.join(ws.dir, '.wtflow', 'artifacts'))
    expect(parseJson<RunSummary[]>((await runCli(['runs', '--json'], ws.dir, env)).stdout)).toHaveLength(2)

    // A wtflow.ini marks a root too, nearer than .wtflow/: its settings apply in its subdirectories.
    await writeFile(path.join(ws.dir, 'a', 'wtflow.ini'), '[database]\nurl = sqlite:other.db\n')
    expect((await runCli(['runs'], sub, env)).stdout).toBe('no runs recorded yet; `wtflow run` records one\n')
    // With WTFLOW_CONFIG, paths resolve from the working directory, as before (nothing recorded in a/b).
    await writeFile(path.join(ws.dir, 'empty.ini'), '')
    expect(parseJson<RunSummary[]>((await runCli(['runs', '--json'], ws.dir, env)).stdout)).toHaveLength(2)
    expect(parseJson<RunSummary[]>((await runCli(['runs', '--json'], sub, { ...env, WTFLOW_CONFIG: path.join(ws.dir, 'empty.ini') })).stdout)).toEqual([])
  })
})
