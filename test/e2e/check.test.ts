/** `wtflow check`: TypeScript's own checker with the project's tsconfig, and tree validation, running nothing. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EXAMPLES, FIXTURES, makeWorkspace, REPO_ROOT, runCli, type Workspace } from '../helpers/cli.js'

describe('wtflow check', () => {
  let ws: Workspace
  let dir: string | undefined
  afterEach(async () => {
    await ws?.cleanup()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  it('a script that type-checks and whose trees are valid: exit 0, nothing run', async () => {
    ws = await makeWorkspace('sqlite')
    const result = await ws.run(['check', path.join(EXAMPLES, 'quickstart.ts')])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^✓ types: .*quickstart\.ts type-checks \(TypeScript 5\.\d+\.\d+, with .*tsconfig\.json\)\n✓ workflow "example": 4 nodes, valid\n$/)
    expect((await ws.run(['runs', '--json'])).stdout).toBe('[]\n')
  })

  it('a type error is reported with file:line before anything runs (exit 2); an invalid tree too', async () => {
    ws = await makeWorkspace('sqlite')
    // Inside the repository, so that @wtflow/core and the repository's tsconfig are found.
    dir = await mkdtemp(path.join(REPO_ROOT, 'test', '.check-'))
    await writeFile(
      path.join(dir, 'typo.ts'),
      `import { Command, Node, Workflow } from '@wtflow/core'\n\nconst retries: number = 'three'\nexport default new Workflow({ name: 'typo', root: new Node({ name: 'a', executable: new Command('touch ran'), retries }) })\n`,
    )
    const typo = await runCli(['check', 'typo.ts'], dir, ws.env)
    expect(typo.code).toBe(2)
    expect(typo.stdout).toContain("typo.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.")
    expect(typo.stdout).toMatch(/✗ types: 1 error in typo\.ts/)

    const invalid = await ws.run(['check', path.join(FIXTURES, 'invalid.ts')])
    expect(invalid.code).toBe(2)
    expect(invalid.stdout).toContain('✗ workflow "invalid" is invalid: root/twin: duplicate name: "root" already has a child named "twin".')
  })
})
