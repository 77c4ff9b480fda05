/** `wtflow resume`: only the nodes that must run again do (marker files prove it), on both databases. */
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import type { RunDocument } from '@wtflow/core'
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_DATABASES, REPO_ROOT, parseJson, unavailable, waitFor, makeWorkspace, type Workspace } from '../helpers/cli.js'

const CORE = path.join(REPO_ROOT, 'packages/core/dist/index.js')

interface ScriptParts {
  /** The command of node a. */
  a?: string
  /** The body of the Func of node b. */
  b?: string
  /** Extra nodes appended to the root's children. */
  extra?: string
  name?: string
}

/**
 * root (sequential): a (command) → b (Func taking a's stdout) → c (command; fails, or hangs with
 * `hang`, unless the file `ok` exists) → d (after c). Each appends its name to marks.log.
 */
function script(dir: string, parts: ScriptParts = {}): string {
  const marks = JSON.stringify(path.join(dir, 'marks.log'))
  return `import { appendFileSync } from 'node:fs'
import { Command, Func, Node, Workflow, type Artifact } from ${JSON.stringify(CORE)}

export async function b(a: Artifact) {
  appendFileSync(${marks}, 'b\\n')
  ${parts.b ?? "return (await a.text()).trim() + '!'"}
}

const a = new Node({ name: 'a', executable: new Command(${JSON.stringify(parts.a ?? 'echo a >> marks.log; echo A')}) })
const bNode = new Node({ name: 'b', executable: new Func(b, { args: [a.stdout] }) })
const c = new Node({ name: 'c', executable: new Command('echo c >> marks.log; if [ -f ok ]; then echo C; elif [ -f hang ]; then touch hanging; sleep 60; else exit 3; fi') })
const d = new Node({ name: 'd', executable: new Command('echo d >> marks.log'), after: [c] })

export default new Workflow({ name: ${JSON.stringify(parts.name ?? 'chain')}, root: new Node({ name: 'root', children: [a, bNode, c, d${parts.extra ?? ''}] }) })
`
}

for (const kind of ALL_DATABASES) describe.skipIf(unavailable(kind))(`wtflow resume on ${kind}`, () => {
  let ws: Workspace
  afterEach(async () => {
    await ws?.cleanup()
  })

  const marks = async () => (existsSync(path.join(ws.dir, 'marks.log')) ? (await readFile(path.join(ws.dir, 'marks.log'), 'utf8')).trim().split('\n') : [])
  const clearMarks = () => rm(path.join(ws.dir, 'marks.log'), { force: true })
  const write = (parts: ScriptParts = {}) => writeFile(path.join(ws.dir, 'wf.mts'), script(ws.dir, parts))
  const statuses = (doc: RunDocument) => Object.fromEntries(doc.nodes.map(node => [node.path, node.status]))
  const firstRun = async (expectCode: number) => {
    const run = await ws.run(['run', 'wf.mts', '--json'])
    expect(run.code, run.stderr).toBe(expectCode)
    return parseJson<RunDocument>(run.stdout)
  }
  const resume = async (args: string[], expectCode = 0) => {
    await clearMarks()
    const run = await ws.run(['resume', ...args, '--json'])
    expect(run.code, run.stderr + run.stdout).toBe(expectCode)
    return { doc: expectCode === 2 ? null : parseJson<RunDocument>(run.stdout), stderr: run.stderr }
  }

  it('after a failure: reuses what succeeded, runs the failed node and what depends on it; artifacts are hard-linked', async () => {
    ws = await makeWorkspace(kind)
    await write()
    const failed = await firstRun(1)
    expect(await marks()).toEqual(['a', 'b', 'c'])
    await writeFile(path.join(ws.dir, 'ok'), '')
    const { doc } = await resume([failed.id.slice(0, 8)])
    expect(await marks()).toEqual(['c', 'd'])
    expect(statuses(doc!)).toEqual({ root: 'succeeded', 'root/a': 'cached', 'root/b': 'cached', 'root/c': 'succeeded', 'root/d': 'succeeded' })
    expect(doc!.resumedFrom).toBe(failed.id)
    expect(doc!.nodes.find(n => n.path === 'root/b')!.reusedFrom).toEqual({ runId: failed.id, path: 'root/b' })
    // The reused files are the same files (hard links), inside the new run's directory.
    const before = failed.nodes.find(n => n.path === 'root/a')!.artifacts.find(a => a.name === 'stdout')!
    const after = doc!.nodes.find(n => n.path === 'root/a')!.artifacts.find(a => a.name === 'stdout')!
    expect(after.path).toContain(doc!.id)
    expect(after.sha256).toBe(before.sha256)
    expect((await stat(after.path)).ino).toBe((await stat(before.path)).ino)
    // History says the same, and `runs` shows where it came from.
    const shown = parseJson<RunDocument>((await ws.run(['show', doc!.id, '--json'])).stdout)
    expect(shown).toEqual(doc)
    const runs = parseJson<Array<{ id: string; resumedFrom?: string }>>((await ws.run(['runs', '--json'])).stdout)
    expect(runs[0]).toMatchObject({ id: doc!.id, resumedFrom: failed.id })
    const text = await ws.run(['show', doc!.id])
    expect(text.stdout).toContain(`reused from run ${failed.id}`)
    // Resuming the resumed run reuses everything; deleting the first run breaks nothing.
    await rm(path.join(path.dirname(before.path), '..', '..'), { recursive: true, force: true })
    const again = await resume([doc!.id])
    expect(await marks()).toEqual([])
    expect(Object.values(statuses(again.doc!))).toEqual(['succeeded', 'cached', 'cached', 'cached', 'cached'])
  })

  it('a changed command re-runs that node and its dependents; a changed Func body only that node; --rerun forces a subtree', async () => {
    ws = await makeWorkspace(kind)
    await write()
    await writeFile(path.join(ws.dir, 'ok'), '')
    const first = await firstRun(0)
    await write({ a: 'echo a >> marks.log; echo AA' })
    const changedCommand = await resume([first.id])
    expect(await marks()).toEqual(['a', 'b'])
    expect(statuses(changedCommand.doc!)).toMatchObject({ 'root/a': 'succeeded', 'root/b': 'succeeded', 'root/c': 'cached', 'root/d': 'cached' })
    expect(changedCommand.stderr).toContain('root/a: its definition changed')
    await write({ a: 'echo a >> marks.log; echo AA', b: "return 'other'" })
    const changedFunc = await resume([changedCommand.doc!.id])
    expect(await marks()).toEqual(['b'])
    expect(statuses(changedFunc.doc!)).toMatchObject({ 'root/a': 'cached', 'root/b': 'succeeded', 'root/c': 'cached', 'root/d': 'cached' })
    const forced = await resume([changedFunc.doc!.id, '--rerun', 'root/c'])
    expect(await marks()).toEqual(['c', 'd'])
    expect(statuses(forced.doc!)).toMatchObject({ 'root/a': 'cached', 'root/b': 'cached', 'root/c': 'succeeded', 'root/d': 'succeeded' })
  })

  it('after a Ctrl-C cancel and after a SIGKILL crash of wtflow: the interrupted node and the rest run, nothing else', async () => {
    ws = await makeWorkspace(kind)
    await write()
    await writeFile(path.join(ws.dir, 'hang'), '')
    for (const signal of ['SIGINT', 'SIGKILL'] as const) {
      await clearMarks()
      await rm(path.join(ws.dir, 'hanging'), { force: true })
      const cli = ws.start(['run', 'wf.mts'])
      await waitFor(() => existsSync(path.join(ws.dir, 'hanging')), { what: 'c to start' })
      // History lags the run by up to 100 ms (batched writes): a kill before b's end is written
      // would rightly make b run again.
      await waitFor(async () => {
        const listed = parseJson<Array<{ id: string }>>((await ws.run(['runs', '--json'])).stdout)
        const shown = await ws.run(['show', listed[0]!.id, '--json'])
        return parseJson<RunDocument>(shown.stdout).nodes.find(n => n.path === 'root/b')?.status === 'succeeded'
      }, { what: "b's end in history" })
      process.kill(cli.pid, signal)
      const ended = await cli.exited
      expect(signal === 'SIGINT' ? ended.code : ended.signal).toBe(signal === 'SIGINT' ? 130 : 'SIGKILL')
      const runs = parseJson<Array<{ id: string; status: string }>>((await ws.run(['runs', '--json'])).stdout)
      expect(runs[0]!.status).toBe(signal === 'SIGINT' ? 'cancelled' : 'crashed')
      expect(await marks()).toEqual(['a', 'b', 'c'])
      await rm(path.join(ws.dir, 'hang'))
      await writeFile(path.join(ws.dir, 'ok'), '')
      const { doc } = await resume([runs[0]!.id])
      expect(await marks()).toEqual(['c', 'd'])
      expect(statuses(doc!)).toMatchObject({ 'root/a': 'cached', 'root/b': 'cached', 'root/c': 'succeeded', 'root/d': 'succeeded' })
      await rm(path.join(ws.dir, 'ok'))
      await writeFile(path.join(ws.dir, 'hang'), '')
    }
  })

  it('bad input is exit 2 with a clear message and nothing run; deleted artifacts re-run their nodes and say why', async () => {
    ws = await makeWorkspace(kind)
    await write()
    const failed = await firstRun(1)
    const unknown = await resume(['ffffffff'], 2)
    expect(unknown.stderr).toContain('no run with id "ffffffff"')

    await rename(path.join(ws.dir, 'wf.mts'), path.join(ws.dir, 'moved.mts'))
    const moved = await resume([failed.id], 2)
    expect(moved.stderr).toContain(`is not there any more (moved or deleted); say where it is now: wtflow resume ${failed.id.slice(0, 8)} --script FILE`)
    expect(await marks()).toEqual([])

    await writeFile(path.join(ws.dir, 'moved.mts'), script(ws.dir, { name: 'renamed' }))
    const gone = await resume([failed.id, '--script', 'moved.mts'], 2)
    expect(gone.stderr).toContain('no longer exports the workflow "chain"')

    await writeFile(path.join(ws.dir, 'moved.mts'), script(ws.dir, { extra: ", new Node({ name: 'e', executable: new Command('true') })" }))
    const changedTree = await resume([failed.id, '--script', 'moved.mts'], 2)
    expect(changedTree.stderr).toContain('the tree of workflow "chain" changed since run')
    expect(changedTree.stderr).toContain('new node "root/e"')
    const badRerun = await resume([failed.id, '--script', 'moved.mts', '--rerun', 'root/nope'], 2)
    expect(badRerun.stderr).toMatch(/--rerun "root\/nope"|changed since run/)
    expect(await marks()).toEqual([])

    // a's stdout was deleted: a runs again, and so does b, which takes it.
    await writeFile(path.join(ws.dir, 'moved.mts'), script(ws.dir))
    await writeFile(path.join(ws.dir, 'ok'), '')
    await rm(failed.nodes.find(n => n.path === 'root/a')!.artifacts.find(a => a.name === 'stdout')!.path)
    const deleted = await resume([failed.id, '--script', 'moved.mts'])
    expect(deleted.stderr).toContain('runs again: root/a: its artifact stdout')
    expect(deleted.stderr).toContain('was deleted')
    expect(await marks()).toEqual(['a', 'b', 'c', 'd'])

    // A running run cannot be resumed.
    await rm(path.join(ws.dir, 'ok'))
    await writeFile(path.join(ws.dir, 'hang'), '')
    const cli = ws.start(['run', 'moved.mts'])
    await waitFor(() => existsSync(path.join(ws.dir, 'hanging')), { what: 'c to start' })
    const runs = parseJson<Array<{ id: string; status: string }>>((await ws.run(['runs', '--json'])).stdout)
    const running = await resume([runs[0]!.id], 2)
    expect(running.stderr).toContain('is still running; only a finished run can be resumed')
    process.kill(cli.pid, 'SIGINT')
    await cli.exited
  })
})
