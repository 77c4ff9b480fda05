/**
 * Checks a flow document beyond its shape and compiles its expressions: step names, one thing to
 * run per step, what each expression reads (inputs, secrets, env, the steps it names and
 * whether they run before), `func:` modules and their exports, inputs and secrets. It works on
 * the document as written, so that every problem is found in one pass, whatever else is wrong.
 */
import path from 'node:path'
import { didYouMean, formatPath, type KeyPath, type Problem, type Target } from './diagnostics.js'
import { hasExpression, parseBareExpression, parseTemplate, type Expression } from './expressions.js'
import { ReadChecker, type ReadMode } from './reads.js'
import { inputValues, secretValues, type ValueOptions } from './values.js'
import { functionExports, isFile, modulePath, ModuleLoader } from './modules.js'
import type { RunSpec } from './executables.js'
import type { CompiledValue, EnvEntry, LocatedTemplate, StepRead } from './runtime.js'
import {
  childNamed,
  childNames,
  isAncestor,
  isRecord,
  kindsOf,
  showPath,
  stepTree,
  type StepInfo,
} from './steps.js'
import { createExecutable, loadPlugin, type AnyFunction, type Executable, type Plugin } from '@wtflow/core'

export interface CompileOptions extends ValueOptions {
  /** Absolute path of the flow file: `func.module` paths are relative to it. */
  file: string
}

/** What the builder needs of a step besides its checked options. */
export interface CompiledStep {
  readonly info: StepInfo
  /** The flow's and every ancestor's `env`, then the step's own. */
  readonly env: readonly EnvEntry[]
  /** Its own `env` variables that are plain values (the node's `env` option). */
  readonly staticEnv: Readonly<Record<string, string>> | undefined
  /** What it runs: the command as written when it has no expressions, else its templates. */
  readonly run?: RunSpec | { readonly plain: string | readonly string[] } | undefined
  readonly func?: { module: string; exportName: string; fn: AnyFunction | null; args: readonly CompiledValue[] } | undefined
  /** An `http:` step's templates (the URL as one even when it has no expression). */
  readonly http?: HttpTemplates | undefined
  /** A `uses:` step: the plugin, and its executable when `with` holds no expression (made, and its options checked, now). */
  readonly plugin?: PluginStep | undefined
  readonly when?: { expression: Expression; at: KeyPath } | boolean | undefined
  /** What its executable's expressions read of other steps. */
  readonly reads: StepRead[]
  /** A `cache.key` with expressions, and what they read (results and statuses, as a `when`). */
  readonly cacheKey?: { template: LocatedTemplate; reads: StepRead[] } | undefined
  /** What its `when` reads of other steps. */
  readonly whenReads: StepRead[]
  /** Whether an expression of its executable (or its environment) is evaluated when it starts. */
  readonly templated: boolean
  readonly children: CompiledStep[]
}

export interface HttpTemplates {
  readonly url: LocatedTemplate
  readonly headers: ReadonlyArray<readonly [string, LocatedTemplate]>
  readonly body: CompiledValue | undefined
}

export interface PluginStep {
  readonly specifier: string
  plugin: Plugin | null
  executable: Executable<unknown> | null
  readonly with: CompiledValue
}

export interface CompiledFlow {
  readonly root: CompiledStep
  /** Every input's value (given, else its default). */
  readonly inputs: Record<string, string>
  /** The declared secrets' values. */
  readonly secrets: Record<string, string>
}


/** Keys where `${{ }}` is not evaluated: a template there is a mistake. */
const PLAIN_STEP_KEYS = ['name', 'cwd', 'queue', 'uses'] as const
const PLAIN_LIST_KEYS = ['artifacts', 'after'] as const
const NOT_SUPPORTED: Record<string, string> = {
  queue: 'queue is not supported yet: this version of @wtflow/core runs every step locally',
}
const RESERVED_ARTIFACT_NAMES = new Set(['stdout', 'stderr', 'result'])
const UNSUPPORTED_STEP_KEYS = ['queue'] as const
const NO_ENV: readonly EnvEntry[] = Object.freeze([])

export async function compileFlow(document: unknown, options: CompileOptions, problems: Problem[]): Promise<CompiledFlow | null> {
  if (!isRecord(document)) return null
  return new Compiler(document, options, problems).compile()
}

class Compiler {
  readonly #document: Record<string, unknown>
  readonly #options: CompileOptions
  readonly #problems: Problem[]
  readonly #root: StepInfo
  readonly #readChecker: ReadChecker
  readonly #modules = new ModuleLoader()
  readonly #imports: Array<Promise<void>> = []

  constructor(document: Record<string, unknown>, options: CompileOptions, problems: Problem[]) {
    this.#document = document
    this.#options = options
    this.#problems = problems
    this.#root = stepTree(document)
    const inputNames = isRecord(document.inputs) ? Object.keys(document.inputs) : []
    const secretNames = Array.isArray(document.secrets) ? document.secrets.filter((name): name is string => typeof name === 'string') : []
    this.#readChecker = new ReadChecker(this.#root, inputNames, secretNames, problems)
  }

  async compile(): Promise<CompiledFlow | null> {
    const inputs = inputValues(this.#document, this.#options, this.#problems)
    const secrets = secretValues(this.#document, this.#options, this.#problems)
    for (const key of ['name', 'description'] as const) if (isTemplate(this.#document[key])) this.#plain([key])
    if (isRecord(this.#document.inputs)) {
      for (const [name, input] of Object.entries(this.#document.inputs)) if (isRecord(input) && isTemplate(input.default)) this.#plain(['inputs', name, 'default'])
    }
    this.#defaults()
    const env = this.#env(this.#document.env, ['env'], [])
    const root: CompiledStep = {
      info: this.#root,
      env,
      staticEnv: staticEnv(env),
      reads: [],
      whenReads: [],
      templated: false,
      children: this.#children(this.#root, env),
    }
    await Promise.all(this.#imports)
    return { root, inputs, secrets }
  }

  #problem(path: KeyPath, message: string, target?: Target): void {
    this.#problems.push({ path, message, target })
  }

  // -- defaults ----------------------------------------------------------------

  #defaults(): void {
    const defaults = this.#document.defaults
    if (isRecord(defaults) && defaults.queue !== undefined) this.#problem(['defaults', 'queue'], NOT_SUPPORTED.queue!, { kind: 'key' })
    if (isRecord(defaults) && isTemplate(defaults.queue)) this.#plain(['defaults', 'queue'])
  }

  // -- steps ------------------------------------------------------------------------------------

  #children(parent: StepInfo, env: readonly EnvEntry[]): CompiledStep[] {
    const seen = new Map<string, StepInfo>()
    const compiled: CompiledStep[] = []
    for (const step of parent.children) {
      if (step.name !== null) {
        const first = seen.get(step.name)
        if (first !== undefined) {
          const where = parent.parent === null ? 'the flow already has a step' : `"${showPath(parent)}" already has a step`
          this.#problem([...step.at, 'name'], `duplicate step name "${step.name}": ${where} with that name (${formatPath(first.at)}); names must differ among siblings`)
        }
        seen.set(step.name, step)
      }
      compiled.push(this.#step(step, env))
    }
    return compiled
  }

  #step(step: StepInfo, inherited: readonly EnvEntry[]): CompiledStep {
    // Runs for every step of flows with 10,000 of them: key paths are made only for a problem or a template.
    const raw = step.raw
    const at = (...keys: Array<string | number>): KeyPath => [...step.at, ...keys]
    this.#name(step)
    if (step.kind !== 'group') {
      const kinds = kindsOf(raw)
      if (kinds.length > 1) this.#problem(at(kinds[1]!), `a step runs one thing, but this one has ${kinds.join(' and ')}: make them separate steps (or child steps)`, { kind: 'key' })
    }
    if (raw.with !== undefined && raw.uses === undefined) this.#problem(at('with'), 'with gives options to a plugin: add uses (the plugin) or remove with', { kind: 'key' })
    for (const key of UNSUPPORTED_STEP_KEYS) if (raw[key] !== undefined) this.#problem(at(key), NOT_SUPPORTED[key]!, { kind: 'key' })
    for (const key of PLAIN_STEP_KEYS) if (isTemplate(raw[key])) this.#plain(at(key))
    for (const key of PLAIN_LIST_KEYS) {
      const list = raw[key]
      if (Array.isArray(list)) list.forEach((item: unknown, i) => isTemplate(item) && this.#plain(at(key, i)))
    }

    const own = isRecord(raw.env) ? this.#env(raw.env, at('env'), inherited) : NO_ENV
    const env = own.length === 0 ? inherited : [...inherited, ...own]
    const reads: StepRead[] = []
    const whenReads: StepRead[] = []
    let envNames: ReadonlySet<string> | undefined
    const reader = (mode: ReadMode, out: StepRead[]): ReadExpression => (expression, exprAt, index) =>
      this.#readChecker.check(expression, exprAt, index, step, mode, (envNames ??= new Set(env.map(entry => entry.name.toLowerCase()))), out)

    const run = raw.run === undefined ? undefined : this.#run(raw.run, at('run'), reader('execute', reads))
    const func = isRecord(raw.func) ? this.#func(raw.func, at('func'), reader('execute', reads)) : undefined
    const http = isRecord(raw.http) ? this.#http(raw.http, at('http'), reader('execute', reads)) : undefined
    const withValue: CompiledValue = isRecord(raw.with) ? this.#value(raw.with, at('with'), reader('execute', reads)) : { kind: 'literal', value: {} }
    // A cache key is made before the step runs, from results (not files: those the key hashes by itself).
    const keyReads: StepRead[] = []
    const cacheKey = isRecord(raw.cache) && typeof raw.cache.key === 'string' && hasExpression(raw.cache.key) ? this.#template(raw.cache.key, at('cache', 'key'), reader('when', keyReads)) : null
    if (raw.cache !== undefined && raw.cache !== false && step.kind === 'group') this.#problem(at('cache'), 'cache needs a step that runs something (run, func, …): a group has nothing to reuse', { kind: 'key' })
    const when = raw.when === undefined ? undefined : this.#when(raw.when, at('when'), reader('when', whenReads))
    if (Array.isArray(raw.after)) this.#after(step, raw.after, at('after'))
    const plugin = typeof raw.uses === 'string' && !isTemplate(raw.uses) ? this.#uses(step, raw.uses, withValue, at) : undefined
    if (raw.artifacts !== undefined) this.#artifacts(step)
    if (raw.cwd !== undefined && raw.func !== undefined) {
      this.#problem(at('cwd'), 'cwd cannot apply to a func step: worker threads share the process working directory; resolve paths in the function instead', { kind: 'key' })
    }
    const templated =
      (env.length > 0 && env.some(entry => 'template' in entry)) ||
      (run !== undefined && !('plain' in run)) ||
      (func !== undefined && func.args.some(arg => arg.kind !== 'literal')) ||
      (http !== undefined && (http.url.template.expressions.length > 0 || http.headers.some(([, value]) => value.template.expressions.length > 0) || (http.body !== undefined && http.body.kind !== 'literal'))) ||
      (plugin !== undefined && withValue.kind !== 'literal')
    return {
      info: step,
      env,
      staticEnv: own.length === 0 ? undefined : staticEnv(own),
      run,
      func,
      http,
      plugin,
      cacheKey: cacheKey === null ? undefined : { template: cacheKey, reads: keyReads },
      when,
      reads,
      whenReads,
      templated,
      children: step.children.length === 0 ? [] : this.#children(step, env),
    }
  }

  #name(step: StepInfo): void {
    const name = step.name
    if (name === null) return
    let problem: string | null = null
    if (name.includes('/')) problem = `step name "${name}" must not contain "/" (it separates the names of a path)`
    else if (name === '.' || name === '..') problem = `step name "${name}" is not allowed`
    // eslint-disable-next-line no-control-regex -- names with control characters are rejected
    else if (/[\u0000-\u001f\u007f]/.test(name)) problem = 'step names must not contain control characters'
    else if (name.trim() === '') problem = 'step names must not be blank'
    if (problem !== null) this.#problem([...step.at, 'name'], problem)
  }

  #artifacts(step: StepInfo): void {
    const files = step.raw.artifacts
    if (!Array.isArray(files)) return
    const at = [...step.at, 'artifacts']
    if (step.kind === 'group') this.#problem(at, 'artifacts needs a step that runs something (run, func, …) to write them', { kind: 'key' })
    const names = new Map<string, number>()
    files.forEach((file: unknown, i) => {
      if (typeof file !== 'string' || file === '') return
      const name = path.basename(file)
      if (RESERVED_ARTIFACT_NAMES.has(name) || (name.endsWith('.log') && RESERVED_ARTIFACT_NAMES.has(name.slice(0, -4)))) {
        this.#problem([...at, i], `artifact "${file}" would be stored as "${name}", which is reserved; rename the file`)
      } else if (names.has(name)) {
        this.#problem([...at, i], `artifacts ${names.get(name)} and ${i} are both named "${name}"; artifacts are stored by file name`)
      } else if (childNamed(step, name) !== undefined) {
        this.#problem([...at, i], `artifact "${name}" has the same name as a child step; rename one of them`)
      }
      names.set(name, i)
    })
  }

  // -- what steps run ---------------------------------------------------------------------------

  #run(run: unknown, at: KeyPath, read: ReadExpression): CompiledStep['run'] {
    if (typeof run === 'string') {
      if (!hasExpression(run)) return { plain: run }
      const template = this.#template(run, at, read)
      return template === null ? undefined : { shell: template }
    }
    if (!Array.isArray(run) || run.length === 0 || !run.every(item => typeof item === 'string')) return undefined
    const argv = run as string[]
    if (!argv.some(hasExpression)) return { plain: argv }
    const templates: LocatedTemplate[] = []
    argv.forEach((item, i) => {
      const template = this.#template(item, [...at, i], read)
      if (template !== null) templates.push(template)
    })
    if (templates.length !== argv.length) return undefined
    if (templates[0]!.template.literals[0] === '' && templates[0]!.template.expressions.length > 0) {
      this.#problem([...at, 0], 'the program (the first element) must be written out, not come from an expression')
    }
    return { argv: templates }
  }

  #func(func: Record<string, unknown>, at: KeyPath, read: ReadExpression): CompiledStep['func'] {
    if (typeof func.module !== 'string') return undefined
    if (isTemplate(func.module)) this.#plain([...at, 'module'])
    if (isTemplate(func.export)) this.#plain([...at, 'export'])
    const exportName = typeof func.export === 'string' && func.export !== '' ? func.export : 'default'
    const args = Array.isArray(func.args) ? func.args.map((arg: unknown, i) => this.#value(arg, [...at, 'args', i], read)) : []
    const file = modulePath(this.#options.file, func.module)
    const compiled = { module: file ?? func.module, exportName, fn: null as AnyFunction | null, args }
    if (file === null) {
      this.#problem([...at, 'module'], `module "${func.module}" must be a path relative to the flow file (./${func.module}) or an absolute path`)
    } else if (!isFile(file)) {
      this.#problem([...at, 'module'], `module "${func.module}" not found (looked for ${file})`)
    } else {
      this.#imports.push(this.#locate(file, func.module, exportName, at, compiled))
    }
    return compiled
  }

  async #locate(file: string, module: string, exportName: string, at: KeyPath, compiled: { fn: AnyFunction | null }): Promise<void> {
    let namespace
    try {
      namespace = await this.#modules.load(file)
    } catch (error) {
      const message = (error as Error).message?.split('\n')[0] ?? String(error)
      this.#problem([...at, 'module'], `cannot import "${module}": ${message}`)
      return
    }
    const fn = namespace[exportName]
    if (typeof fn === 'function') {
      compiled.fn = fn as AnyFunction
      return
    }
    const functions = functionExports(namespace)
    const where = exportName === 'default' ? [...at, 'module'] : [...at, 'export']
    if (fn === undefined) {
      const has = functions.length === 0 ? 'it exports no functions' : `its functions: ${functions.join(', ')}`
      this.#problem(where, `"${module}" has no export "${exportName}"${didYouMean(exportName, functions)}; ${has}`)
    } else {
      this.#problem(where, `export "${exportName}" of "${module}" is ${fn === null ? 'null' : typeof fn}, not a function`)
    }
  }

  #http(http: Record<string, unknown>, at: KeyPath, read: ReadExpression): HttpTemplates | undefined {
    let url: LocatedTemplate | null = null
    if (typeof http.url === 'string') {
      url = this.#template(http.url, [...at, 'url'], read)
      const problem = url === null ? null : urlProblem(url.template.literals[0]!, url.template.expressions.length > 0)
      if (problem !== null) this.#problem([...at, 'url'], problem)
    }
    const headers: Array<readonly [string, LocatedTemplate]> = []
    if (isRecord(http.headers)) {
      for (const [name, value] of Object.entries(http.headers)) {
        const template = typeof value === 'string' ? this.#template(value, [...at, 'headers', name], read) : null
        if (template !== null) headers.push([name, template])
      }
    }
    const body = http.body === undefined ? undefined : this.#value(http.body, [...at, 'body'], read)
    return url === null ? undefined : { url, headers, body }
  }

  /** `after: [checks/lint]`: paths of steps from the top level, which must exist and may not be the step or its own steps. */
  #after(step: StepInfo, after: unknown[], at: KeyPath): void {
    after.forEach((entry, i) => {
      if (typeof entry !== 'string' || isTemplate(entry)) return
      let target: StepInfo = this.#root
      for (const name of entry.split('/')) {
        const child = childNamed(target, name)
        if (child === undefined) {
          const names = childNames(target)
          const under = target === this.#root ? 'the flow has no step' : `"${showPath(target)}" has no step`
          this.#problem([...at, i], `${under} named "${name}"${didYouMean(name, names)} (after takes step paths from the top level, names joined by /)`)
          return
        }
        target = child
      }
      if (target === step) this.#problem([...at, i], 'a step cannot wait for itself')
      else if (isAncestor(step, target)) this.#problem([...at, i], `"${entry}" is one of this step's own steps, which run after it: waiting for it would never end`)
    })
  }

  /**
   * A plugin is loaded (a package resolved from the flow's directory, or a module path relative to
   * it) and, when `with` holds no expression, its executable made now: a missing plugin and
   * options its schema rejects are problems of the flow file, found before anything runs.
   */
  #uses(step: StepInfo, uses: string, withValue: CompiledValue, at: (...keys: Array<string | number>) => KeyPath): PluginStep {
    const compiled: PluginStep = { specifier: uses, plugin: null, executable: null, with: withValue }
    const file = modulePath(this.#options.file, uses)
    if (file !== null && !isFile(file)) {
      this.#problem(at('uses'), `plugin module "${uses}" not found (looked for ${file})`)
      return compiled
    }
    this.#imports.push(
      (async () => {
        try {
          compiled.plugin = await loadPlugin(uses, { from: this.#options.file })
        } catch (error) {
          this.#problem(at('uses'), messageOf(error))
          return
        }
        if (withValue.kind !== 'literal') return
        try {
          compiled.executable = await createExecutable(compiled.plugin, withValue.value, { nodePath: showPath(step), baseDir: path.dirname(this.#options.file) })
        } catch (error) {
          this.#problem(step.raw.with === undefined ? at('uses') : at('with'), messageOf(error).replace(`${showPath(step)}: `, ''))
        }
      })(),
    )
    return compiled
  }

  #when(when: unknown, at: KeyPath, read: ReadExpression): CompiledStep['when'] {
    if (typeof when === 'boolean') return when
    if (typeof when !== 'string') return undefined
    const parsed = parseBareExpression(when)
    if ('problem' in parsed) {
      this.#problem(at, parsed.problem.message, { kind: 'expression', expression: -1, offset: parsed.problem.offset })
      return undefined
    }
    read(parsed.expression, at, -1)
    return { expression: parsed.expression, at }
  }

  // -- values, templates, environment -----------------------------------------------------------

  /** A string with `${{ }}`: parsed, and what it reads checked. Null if it does not parse. */
  #template(text: string, at: KeyPath, read: ReadExpression): LocatedTemplate | null {
    const parsed = parseTemplate(text)
    if ('problems' in parsed) {
      for (const problem of parsed.problems) this.#problem(at, problem.message, { kind: 'expression', expression: problem.index, offset: problem.offset })
      return null
    }
    parsed.template.expressions.forEach((expression, i) => read(expression, at, i))
    return { template: parsed.template, at }
  }

  /** Any document value: strings with `${{` become templates, the rest stays as it is. */
  #value(value: unknown, at: KeyPath, read: ReadExpression): CompiledValue {
    if (typeof value === 'string') {
      if (!hasExpression(value)) return { kind: 'literal', value }
      const template = this.#template(value, at, read)
      if (template === null) return { kind: 'literal', value }
      const whole = template.template.expressions.length === 1 && template.template.literals.every(literal => literal === '')
      return { kind: 'template', template, whole }
    }
    if (Array.isArray(value)) {
      const items = value.map((item: unknown, i) => this.#value(item, [...at, i], read))
      return items.every(item => item.kind === 'literal') ? { kind: 'literal', value } : { kind: 'array', items }
    }
    if (isRecord(value)) {
      const entries = Object.entries(value).map(([key, item]) => [key, this.#value(item, [...at, key], read)] as const)
      return entries.every(([, item]) => item.kind === 'literal') ? { kind: 'literal', value } : { kind: 'object', entries }
    }
    return { kind: 'literal', value }
  }

  /** `env:` variables in order; templates may read inputs, secrets, run and the variables above them. */
  #env(env: unknown, at: KeyPath, inherited: readonly EnvEntry[]): EnvEntry[] {
    if (!isRecord(env)) return []
    const entries: EnvEntry[] = []
    const names = new Set(inherited.map(entry => entry.name.toLowerCase()))
    for (const [name, value] of Object.entries(env)) {
      if (typeof value === 'number' || typeof value === 'boolean') entries.push({ name, value: String(value) })
      else if (typeof value === 'string' && !hasExpression(value)) entries.push({ name, value })
      else if (typeof value === 'string') {
        const template = this.#template(value, [...at, name], (expression, exprAt, index) => this.#readChecker.check(expression, exprAt, index, null, 'env', names, []))
        if (template !== null) entries.push({ name, template })
      }
      names.add(name.toLowerCase())
    }
    return entries
  }

  /** A template where none is evaluated. */
  #plain(at: KeyPath): void {
    const key = at[at.length - 1]
    this.#problem(at, `expressions are not evaluated in ${typeof key === 'number' ? String(at[at.length - 2]) : String(key)}; write the value out`, { kind: 'expression', expression: 0, offset: 0 })
  }
}

type ReadExpression = (expression: Expression, at: KeyPath, index: number) => void


function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function staticEnv(entries: readonly EnvEntry[]): Record<string, string> | undefined {
  let env: Record<string, string> | undefined
  for (const entry of entries) if ('value' in entry) (env ??= {})[entry.name] = entry.value
  return env
}

/** Why the start of an http URL (its text before any expression) cannot be a URL, or null. */
function urlProblem(start: string, templated: boolean): string | null {
  if (templated && start === '') return null
  if (!templated) {
    let url: URL
    try {
      url = new URL(start)
    } catch {
      return `${JSON.stringify(start)} is not a URL (write it whole: https://host/path)`
    }
    return url.protocol === 'http:' || url.protocol === 'https:' ? null : `the URL must be http or https, not ${url.protocol}`
  }
  return /^https?:\/\/[^/?#]/i.test(start) ? null : `the URL must start with http:// or https:// and a host (or with an expression that gives them)`
}

function isTemplate(value: unknown): boolean {
  return typeof value === 'string' && hasExpression(value)
}
