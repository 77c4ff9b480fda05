import { readdirSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Engine, loadConfig, ValidationError, type NodeResult, type RunResult, type Workflow } from '../src/index.js'
import explicit from './fixtures/func/explicit.js'
import * as hidden from './fixtures/func/not-exported.js'
import quickstart from './fixtures/func/quickstart.js'
import { workflows } from './fixtures/func/steps.js'

let artifactsDir: string
beforeEach(async () => {
  artifactsDir = await mkdtemp(path.join(tmpdir(), 'wtflow-func-'))
})
afterEach(async () => {
  await rm(artifactsDir, { recursive: true, force: true })
})

interface EngineSettings {
  maxParallel?: number
  workerMemoryMb?: number
  ignoreFailure?: boolean
}

function engine(overrides: EngineSettings = {}): Engine {
  const config = loadConfig({ cwd: artifactsDir, env: {}, overrides: { artifactsDir, ...overrides } })
  return new Engine({ config, handleSignals: false })
}

function run(workflow: Workflow, overrides: EngineSettings = {}, signal?: AbortSignal): Promise<RunResult> {
  return engine(overrides).run(workflow, signal === undefined ? {} : { signal })
}

function node(result: RunResult, nodePath: string): NodeResult {
  const found = result.nodes.find(n => n.path === nodePath)
  if (found === undefined) throw new Error(`no node ${nodePath} in ${result.nodes.map(n => n.path).join(', ')}`)
  return found
}

async function artifact(result: RunResult, nodePath: string, name: string): Promise<string> {
  const info = node(result, nodePath).artifacts.find(a => a.name === name)
  if (info === undefined) throw new Error(`no artifact ${name} on ${nodePath}`)
  return readFile(info.path, 'utf8')
}

function artifactNames(result: RunResult, nodePath: string): string[] {
  return node(result, nodePath).artifacts.map(a => a.name)
}

describe('Func through the engine', () => {
  it('runs the quickstart: output of one Func is the Artifact argument of the next', async () => {
    const result = await run(quickstart as Workflow)
    expect(result.status).toBe('succeeded')
    expect(node(result, 'Root Node/Node 1')).toMatchObject({ kind: 'func', display: 'emit', status: 'succeeded', exitCode: 0, error: null })
    expect(await artifact(result, 'Root Node/Node 1', 'stdout')).toBe('STDOUT\n')
    expect(await artifact(result, 'Root Node/Node 1', 'stderr')).toBe('STDERR\n')
    expect(await artifact(result, 'Root Node/Node 2', 'stdout')).toBe('processing stdout: STDOUT\n\n')
    expect(await artifact(result, 'Root Node/Node 3', 'stdout')).toBe('processing stderr: STDERR\n\n')
    expect(artifactNames(result, 'Root Node/Node 2')).toEqual(['stdout'])
  })

  it('passes results and artifacts as arguments and stores return values as result.json', async () => {
    const result = await run(workflows.results())
    expect(result.status).toBe('succeeded')
    expect(await artifact(result, 'root/sum', 'result')).toBe('5')
    expect(await artifact(result, 'root/double', 'result')).toBe('10')
    expect(JSON.parse(await artifact(result, 'root/all', 'result'))).toEqual({
      sum: 5,
      doubled: 10,
      log: { name: 'stdout', size: 0 },
      tag: 'literal',
    })
    expect(JSON.parse(await artifact(result, 'root/reads result file', 'result'))).toEqual({ name: 'result', value: { sum: 5, doubled: 10, log: { name: 'stdout', size: 0 }, tag: 'literal' } })
  })

  it('captures console.*, process.stdout.write and process.stderr.write', async () => {
    const result = await run(workflows.chatty())
    expect(result.status).toBe('succeeded')
    expect(await artifact(result, 'chatty', 'stdout')).toBe(
      'log line\ninfo line\ndebug formatted\nraw out without newline + buffer\nwith callback\nhex!\n',
    )
    expect(await artifact(result, 'chatty', 'stderr')).toBe('warn line\nerror line\nbytes\n')
    expect(await artifact(result, 'chatty', 'result')).toBe('{"ok":true}')
  })

  it('gives an Artifact argument name, path, size, text(), bytes(), lines() and json()', async () => {
    const result = await run(workflows.artifacts())
    expect(result.status).toBe('succeeded')
    const producerLog = await artifact(result, 'root/producer', 'stdout')
    const read = JSON.parse(await artifact(result, 'root/reader', 'result')) as Record<string, unknown>
    expect(read).toEqual({
      name: 'stdout',
      size: Buffer.byteLength(producerLog),
      text: producerLog,
      lines: producerLog.split('\n').slice(0, -1),
      byteLength: Buffer.byteLength(producerLog),
      isAbsolute: true,
    })
  })

  it('stores nothing for undefined, null for null, and plain JSON as is', async () => {
    const result = await run(workflows.goodResults())
    expect(result.status).toBe('succeeded')
    expect(artifactNames(result, 'root/nothing')).toEqual(['stdout'])
    expect(await artifact(result, 'root/null', 'result')).toBe('null')
    expect(JSON.parse(await artifact(result, 'root/rich', 'result'))).toEqual({
      text: 'héllo',
      list: [1, 2.5, -3, true, null, 'x'],
      nested: { deep: { value: [] } },
    })
  })

  it('applies the node env to process.env while the function runs', async () => {
    const result = await run(workflows.env())
    expect(result.status).toBe('succeeded')
    expect(await artifact(result, 'root/inner', 'result')).toBe('"inner"')
    expect(await artifact(result, 'root/outer', 'result')).toBe('"outer"')
    expect(await artifact(result, 'root/gone', 'result')).toBe('null')
  })

  it('finds functions in a module named explicitly, by value or by export name', async () => {
    const result = await run(explicit as Workflow)
    expect(result.status).toBe('succeeded')
    expect(node(result, 'root/renamed').display).toBe('internal')
    expect(node(result, 'root/default').display).toBe('defaultStep')
    expect(await artifact(result, 'root/greet', 'stdout')).toBe('hello world\n')
    expect(await artifact(result, 'root/greet', 'result')).toBe('"hello world"')
    expect(await artifact(result, 'root/renamed', 'result')).toBe('42')
    expect(await artifact(result, 'root/default', 'result')).toBe('"default export"')
    expect(await artifact(result, 'root/named', 'result')).toBe('"hello again"')
  })

  it('keeps the output of 50 parallel Funcs apart', async () => {
    const count = 50
    const times = 200
    const result = await run(workflows.parallelShouts(count, times), { maxParallel: 50 })
    expect(result.status).toBe('succeeded')
    for (let id = 0; id < count; id++) {
      const expectedOut = Array.from({ length: times }, (_, i) => `worker-${id} line ${i}\n`).join('')
      const expectedErr = Array.from({ length: times / 10 }, (_, i) => `worker-${id} err ${i * 10}\n`).join('')
      expect(await artifact(result, `root/shout ${id}`, 'stdout')).toBe(expectedOut)
      expect(await artifact(result, `root/shout ${id}`, 'stderr')).toBe(expectedErr)
      expect(await artifact(result, `root/shout ${id}`, 'result')).toBe(String(id))
    }
  })

  it('runs 1,000 parallel Funcs, every one to success with its own result', async () => {
    const count = 1000
    const result = await run(workflows.parallelAdds(count), { maxParallel: 10 })
    expect(result.status).toBe('succeeded')
    expect(result.nodes.filter(n => n.status === 'succeeded')).toHaveLength(count + 1)
    const results = await Promise.all(Array.from({ length: count }, (_, i) => artifact(result, `root/add ${i}`, 'result')))
    expect(results).toEqual(Array.from({ length: count }, (_, i) => String(i + 1)))
  })

  it('keeps the output of parallel Funcs apart when they interleave on await', async () => {
    const count = 20
    const times = 100
    const result = await run(workflows.parallelShouts(count, times, true), { maxParallel: 20 })
    expect(result.status).toBe('succeeded')
    for (let id = 0; id < count; id++) {
      const expected = Array.from({ length: times }, (_, i) => `worker-${id} line ${i}\n`).join('')
      expect(await artifact(result, `root/shout ${id}`, 'stdout')).toBe(expected)
    }
  })
})

describe('Func failures', () => {
  it('fails the node with the thrown error: name, message, code and stack kept, stack in stderr', async () => {
    const result = await run(workflows.fail())
    expect(result.status).toBe('failed')
    const failed = node(result, 'fail')
    expect(failed.status).toBe('failed')
    expect(failed.exitCode).toBe(1)
    expect(failed.error).toMatchObject({ name: 'RangeError', message: 'bad input', code: 'E_FIXTURE' })
    expect(failed.error?.stack).toContain('fixtures/func/steps.ts')
    expect(failed.error?.stack).not.toMatch(/runFuncTask|tinypool|node:async_hooks/)
    expect(await artifact(result, 'fail', 'stdout')).toBe('about to fail\n')
    const stderr = await artifact(result, 'fail', 'stderr')
    expect(stderr).toMatch(/^RangeError: bad input\n\s+at fail \(.*fixtures\/func\/steps\.ts:\d+:\d+\)/)
  })

  it('fails the node when the function throws something that is not an Error', async () => {
    const result = await run(workflows.throwString())
    expect(node(result, 'throwString').error).toEqual({ name: 'Error', message: 'a plain string' })
    expect(await artifact(result, 'throwString', 'stderr')).toBe('Error: a plain string\n')
  })

  it('fails a node whose function calls process.exit(), and replaces its worker', async () => {
    const result = await run(workflows.thenRecover('exit'), { maxParallel: 1 })
    const exited = node(result, 'root/exit')
    expect(exited.status).toBe('failed')
    expect(exited.exitCode).toBe(3)
    expect(exited.error).toMatchObject({
      name: 'NodeFailure',
      code: 'WTFLOW_FUNC_EXIT',
      message: 'the function called process.exit(3); a Func must return (or throw) instead of exiting. Its worker thread was stopped and replaced.',
    })
    expect(await artifact(result, 'root/exit', 'stdout')).toBe('before exit\n')
    expect(await artifact(result, 'root/exit', 'stderr')).toContain('process.exit(3)')
    expect(node(result, 'root/after').status).toBe('succeeded')
    expect(await artifact(result, 'root/after', 'result')).toBe('42')
  })

  it('times out an infinite loop by terminating its worker, keeps its output, and goes on', async () => {
    const result = await run(workflows.thenRecover('spin', { timeout: 1000 }), { maxParallel: 1 })
    const spun = node(result, 'root/spin')
    expect(spun.status).toBe('timed_out')
    expect(spun.error).toMatchObject({ code: 'WTFLOW_TIMEOUT' })
    expect(await artifact(result, 'root/spin', 'stdout')).toBe('spinning\n')
    expect(node(result, 'root/after').status).toBe('succeeded')
    expect(await artifact(result, 'root/after', 'result')).toBe('42')
  })

  it('fails a function that exhausts the worker heap limit, and replaces its worker', async () => {
    const result = await run(workflows.thenRecover('hog'), { maxParallel: 1, workerMemoryMb: 64 })
    const hog = node(result, 'root/hog')
    expect(hog.status).toBe('failed')
    expect(hog.error).toMatchObject({
      name: 'NodeFailure',
      code: 'WTFLOW_FUNC_OUT_OF_MEMORY',
      message:
        'the function ran out of memory: its worker thread reached the heap limit of 64 MB. Raise [run] worker_memory_mb (WTFLOW_WORKER_MEMORY_MB) or make the function use less memory.',
    })
    expect(node(result, 'root/after').status).toBe('succeeded')
  })

  it.runIf(process.platform === 'linux')('leaves no thread behind once the run has ended', async () => {
    const threads = (): number => readdirSync('/proc/self/task').length
    await run(workflows.chatty()) // starts the process's own lazy threads (libuv pool…)
    const before = threads()
    const result = await run(workflows.thenRecover('spin', { timeout: 1000 }), { maxParallel: 2 })
    expect(node(result, 'root/spin').status).toBe('timed_out')
    expect(threads()).toBe(before)
  })

  it('cancels a running Func when the run is aborted', async () => {
    const controller = new AbortController()
    const e = engine()
    e.on('node:output', ({ chunk }) => {
      if (Buffer.from(chunk).toString().includes('spinning')) controller.abort()
    })
    const result = await e.run(workflows.spin(), { signal: controller.signal })
    expect(result.status).toBe('cancelled')
    expect(node(result, 'spin').status).toBe('cancelled')
  })

  it.each([
    ['bigint', 'result is a BigInt; return it as a string (value.toString())'],
    ['map', 'result.nested[1] is a Map, not a plain object; return Object.fromEntries(map)'],
    ['cycle', 'result.self refers back to one of its own parents (a cycle)'],
    ['function', 'result.fn is a function'],
  ] as const)('fails a node whose return value cannot be stored as JSON (%s)', async (kind, problem) => {
    const result = await run(workflows.badResult(kind))
    const failed = node(result, kind)
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatchObject({
      name: 'ResultNotSerializableError',
      code: 'WTFLOW_FUNC_RESULT',
      message: `${problem}. A Func's return value is stored as JSON: return plain objects, arrays, strings, finite numbers, booleans or null (or nothing).`,
    })
    expect(artifactNames(result, kind)).toEqual(['stderr'])
    expect(await artifact(result, kind, 'stderr')).toContain(problem)
  })
})

describe('Func validation', () => {
  async function validationError(workflow: Workflow): Promise<ValidationError> {
    const error = await run(workflow).then(
      () => null,
      (thrown: unknown) => thrown,
    )
    expect(error).toBeInstanceOf(ValidationError)
    expect(await readdir(artifactsDir)).toEqual([])
    return error as ValidationError
  }

  it('rejects a function its module does not export, before anything runs', async () => {
    const error = await validationError(hidden.notExported())
    expect(error.nodePath).toBe('root/step')
    expect(error.message).toMatch(
      /^root\/step: the function hidden given to new Func\(\) is not exported by \/.*\/fixtures\/func\/not-exported\.ts, so a worker thread cannot load it: export it \(`export function hidden` or `export \{ hidden \}`\), or pass \{ module, exportName \} to new Func\(\) to name the module that exports it$/,
    )
  })

  it('rejects an inline anonymous function', async () => {
    const error = await validationError(hidden.anonymous())
    expect(error.message).toMatch(/^step: the anonymous function given to new Func\(\) is not exported by /)
    expect(error.message).toContain('give it a name and export it')
  })

  it('rejects an exportName that is not the function', async () => {
    const error = await validationError(hidden.wrongExportName())
    expect(error.message).toMatch(/^step: \/.*\/not-exported\.ts has no export "hidden" that is the function exported given to new Func\(\); export it under that name or fix exportName$/)
  })

  it('rejects arguments that cannot be sent to a worker thread', async () => {
    const error = await validationError(hidden.badArgs())
    expect(error.message).toMatch(/^step: args\[0\] cannot be sent to a worker thread \(.*could not be cloned.*\); pass plain data or a node reference$/)
  })
})
