/** Plugins: defined, loaded from a local module and from a package in node_modules, checked, rebuilt. */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  Command,
  Engine,
  Env,
  Func,
  Http,
  Node,
  PluginError,
  ValidationError,
  Workflow,
  createExecutable,
  definePlugin,
  isPlugin,
  loadPlugin,
  planFromDocument,
  usePlugin,
} from '../src/index.js'
import { BUILTIN_PLUGINS } from '../src/internal.js'
import { tempDir, testConfig } from './helpers.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const fixtures = path.join(here, 'fixtures/plugins')
const coreDir = path.resolve(here, '..')

function engine(): Engine {
  return new Engine({ config: testConfig(), handleSignals: false })
}

/** A project directory with a plugin package installed in its node_modules (core linked, as npm would). */
function projectWithPackage(): string {
  const dir = tempDir('wtflow-plugin-project-')
  const pkg = path.join(dir, 'node_modules/wtflow-plugin-greet')
  mkdirSync(pkg, { recursive: true })
  mkdirSync(path.join(dir, 'node_modules/@wtflow'), { recursive: true })
  symlinkSync(coreDir, path.join(dir, 'node_modules/@wtflow/core'))
  writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'wtflow-plugin-greet', version: '1.0.0', type: 'module', exports: { '.': { import: './index.js' } } }))
  writeFileSync(
    path.join(pkg, 'index.js'),
    `import { definePlugin, Command } from '@wtflow/core'
export default definePlugin({
  name: 'greet',
  schema: {
    '~standard': {
      version: 1,
      vendor: 'fixture',
      validate: value => typeof value?.who === 'string' ? { value } : { issues: [{ message: 'must be a string', path: ['who'] }] },
    },
  },
  create: options => new Command(['echo', 'hello', options.who]),
})
`,
  )
  return dir
}

function stdoutOf(result: { nodes: Array<{ path: string; artifacts: Array<{ name: string; path: string }> }> }, nodePath: string): string {
  const file = result.nodes.find(n => n.path === nodePath)!.artifacts.find(a => a.name === 'stdout')!.path
  return readFileSync(file, 'utf8')
}

describe('definePlugin', () => {
  it('makes a branded, frozen plugin; a malformed definition is a ValidationError', () => {
    const plugin = definePlugin({ name: 'x', create: () => new Command('true') })
    expect(isPlugin(plugin)).toBe(true)
    expect(Object.isFrozen(plugin)).toBe(true)
    expect(isPlugin({ name: 'x', create: () => null })).toBe(false)
    expect(() => definePlugin({ name: '', create: () => new Command('true') })).toThrow('definePlugin needs a non-empty `name`')
    expect(() => definePlugin({ name: 'y' } as never)).toThrow('definePlugin (plugin "y") needs a `create(options, ctx)` function that returns an executable')
    expect(() => definePlugin({ name: 'z', schema: {} as never, create: () => new Command('true') })).toThrow('schema must be a Standard Schema')
  })

  it('registers the built-in executables as plugins', async () => {
    expect(BUILTIN_PLUGINS.map(plugin => plugin.name)).toEqual(['command', 'func', 'http', 'env'])
    expect(await createExecutable(BUILTIN_PLUGINS[0]!, { command: 'echo hi' })).toBeInstanceOf(Command)
    expect(await createExecutable(BUILTIN_PLUGINS[2]!, { url: 'http://127.0.0.1/' })).toBeInstanceOf(Http)
    expect(await createExecutable(BUILTIN_PLUGINS[3]!, { names: ['HOME'] })).toBeInstanceOf(Env)
    // A flow's func module is relative to the flow file.
    const func = await createExecutable(BUILTIN_PLUGINS[1]!, { module: './tasks.ts', export: 'run' }, { baseDir: '/srv/flows' })
    expect(func).toBeInstanceOf(Func)
    expect(func.toSpec().with).toMatchObject({ module: pathToFileURL('/srv/flows/tasks.ts').href, export: 'run' })
    expect(await loadPlugin('http')).toBe(BUILTIN_PLUGINS[2])
  })
})

describe('loadPlugin', () => {
  it('loads a local module by a path relative to `from`, checks options with its zod schema, and runs', async () => {
    const plugin = await loadPlugin('./shout.ts', { from: fixtures })
    expect(plugin.name).toBe('shout')
    const executable = await createExecutable(plugin, { text: 'hi there', loud: true }, { nodePath: 'w/shout' })
    const result = await engine().run(new Workflow({ name: 'w', root: new Node({ name: 'shout', executable }) }))
    expect(result.status).toBe('succeeded')
    expect(stdoutOf(result, 'shout')).toBe('HI THERE\n')
    expect(result.nodes[0]!.kind).toBe('shout')
  })

  it('loads a package from node_modules (ESM, its own copy of @wtflow/core) and uses it in a workflow', async () => {
    const project = projectWithPackage()
    const script = pathToFileURL(path.join(project, 'wtfile.ts')).href
    const plugin = await loadPlugin('wtflow-plugin-greet', { from: script })
    expect(plugin.name).toBe('greet')
    const root = new Node({ name: 'greet', executable: usePlugin('wtflow-plugin-greet', { who: 'world' }, { from: script }) })
    const plan = await engine().validate(new Workflow({ name: 'w', root }))
    expect(plan.root.kind).toBe('command')
    expect(plan.root.display).toBe('echo hello world')
    const result = await engine().run(plan)
    expect(result.status).toBe('succeeded')
    expect(stdoutOf(result, 'greet')).toBe('hello world\n')
  })

  it.each([
    ['wtflow-plugin-nowhere', fixtures, 'not-found', `plugin "wtflow-plugin-nowhere" cannot be found from ${fixtures}: install it (npm install wtflow-plugin-nowhere) or check its name`],
    ['./missing.ts', fixtures, 'not-found', `plugin "./missing.ts" cannot be found from ${fixtures}: check the path (relative to that directory, with its file extension)`],
    [
      './not-a-plugin.ts',
      fixtures,
      'not-a-plugin',
      'plugin "./not-a-plugin.ts" exports no plugin: its default export is an object (name, create); write `export default definePlugin({ name, create })` (definePlugin from @wtflow/core)',
    ],
  ])('%s: a PluginError (%s) saying what to do', async (specifier, from, reason, message) => {
    const error = await loadPlugin(specifier, { from, nodePath: 'flow/notify' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PluginError)
    expect(error).toBeInstanceOf(ValidationError)
    expect(error).toMatchObject({ code: 'WTFLOW_VALIDATION', plugin: specifier, reason, nodePath: 'flow/notify', message: `flow/notify: ${message}` })
  })

  it('a module that throws while loading is a PluginError naming it', async () => {
    const error = await loadPlugin('./broken-import.ts', { from: fixtures }).catch((e: unknown) => e)
    expect(error).toMatchObject({ reason: 'import-failed', plugin: './broken-import.ts' })
    expect((error as Error).message).toMatch(/^plugin "\.\/broken-import\.ts" failed to load \(file:.*broken-import\.ts\): cannot load: missing configuration$/)
  })
})

describe('createExecutable and usePlugin', () => {
  it('options that fail the schema: a ValidationError naming the node, the plugin and each issue', async () => {
    const plugin = await loadPlugin('./shout.ts', { from: fixtures })
    const error = await createExecutable(plugin, { text: '', loud: 'yes' }, { nodePath: 'w/shout' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ reason: 'invalid-options', plugin: 'shout', nodePath: 'w/shout' })
    expect((error as Error).message).toMatch(/^w\/shout: plugin "shout": invalid options: text: .+; loud: .+$/)
  })

  it('bad input through usePlugin fails validation with the node path, before anything runs', async () => {
    const marker = path.join(tempDir(), 'ran')
    const cases: Array<[unknown, string]> = [
      [usePlugin('./throws.ts', {}, { from: fixtures }), 'root/use: plugin "picky" could not make its executable: target is required (the host to notify)'],
      [usePlugin('./shout.ts', { loud: true }, { from: fixtures }), 'root/use: plugin "shout": invalid options: text: '],
      [usePlugin('./not-a-plugin.ts', {}, { from: fixtures }), 'root/use: plugin "./not-a-plugin.ts" exports no plugin'],
      [usePlugin('wtflow-plugin-nowhere', {}, { from: fixtures }), 'root/use: plugin "wtflow-plugin-nowhere" cannot be found from'],
      [usePlugin('http', { url: 'nope' }), 'root/use: Http: "nope" is not a valid URL'],
    ]
    for (const [executable, message] of cases) {
      const first = new Node({ name: 'first', executable: new Command(['touch', marker]) })
      const workflow = new Workflow({ name: 'w', root: new Node({ name: 'root', children: [first, new Node({ name: 'use', executable: executable as Command })] }) })
      const error = await engine().run(workflow).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ValidationError)
      expect((error as ValidationError).nodePath).toBe('root/use')
      expect((error as Error).message.startsWith(message), (error as Error).message).toBe(true)
    }
    expect(() => readFileSync(marker)).toThrow()
  })

  it('references in the options are dependencies, and a plan with a plugin executable is rebuilt with the plugin', async () => {
    const plugin = await loadPlugin('./shout.ts', { from: fixtures })
    const first = new Node({ name: 'first', executable: new Command('echo one') })
    const second = new Node({ name: 'second', executable: usePlugin(plugin, { text: 'two' }), after: [first] })
    const workflow = new Workflow({ name: 'w', root: new Node({ name: 'root', parallel: true, children: [second, first] }) })
    const plan = await engine().validate(workflow)
    expect(plan.nodeAt('root/second')!.dependencies.map(d => d.path)).toEqual(['root/first'])
    const document = JSON.parse(JSON.stringify(plan.toJSON()))
    expect(document.nodes[1].executable).toEqual({ uses: 'shout', with: { text: 'two', loud: false } })
    await expect(planFromDocument(document)).rejects.toThrow('root/second: its executable "shout" cannot be rebuilt here: no executable of that name is registered')
    const copy = await planFromDocument(document, { plugins: [plugin] })
    expect(copy.digest).toBe(plan.digest)
    const result = await engine().run(copy)
    expect(result.nodes.map(n => [n.path, n.status])).toEqual([
      ['root', 'succeeded'],
      ['root/second', 'succeeded'],
      ['root/first', 'succeeded'],
    ])
    expect(result.nodes[1]!.startedAt!.getTime()).toBeGreaterThanOrEqual(result.nodes[2]!.endedAt!.getTime())
  })
})
