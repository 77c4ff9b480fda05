import { ValidationError } from '../errors/errors.js'
import { isExecutable, type Executable } from '../model/executable.js'
import type { StandardSchemaV1 } from './standard-schema.js'

/** Marks plugins across copies of @wtflow/core (see `ERROR_BRAND`). */
const PLUGIN_BRAND: unique symbol = Symbol.for('wtflow.plugin') as never

/** What a plugin's `create` gets besides its options. */
export interface PluginContext {
  /** The path of the node the executable is made for, when known (for messages). */
  readonly nodePath: string | null
  /** The directory relative paths in the options are resolved from (a flow file's, or the working directory). */
  readonly baseDir: string
}

/** What `definePlugin` takes. */
export interface PluginDefinition<Options = unknown> {
  /**
   * The name its executables are recorded under (the `uses` of their `toSpec()`), and that
   * displays show. Built-in names: `command`, `func`, `http`, `env`.
   */
  readonly name: string
  /**
   * Checks the options before `create` gets them (and may transform them): any Standard Schema,
   * e.g. a zod 4 schema. Issues become a `ValidationError` naming the node and the plugin.
   */
  readonly schema?: StandardSchemaV1<unknown, Options> | undefined
  /** Makes the executable for one node. May throw: that becomes a `ValidationError` too. */
  create(options: Options, ctx: PluginContext): Executable<unknown>
}

/** A plugin: made by `definePlugin`, the default export of a plugin module or package. */
export interface Plugin<Options = unknown> extends PluginDefinition<Options> {
  readonly [PLUGIN_BRAND]: true
}

/** Why a plugin could not give an executable. */
export type PluginErrorReason = 'not-found' | 'import-failed' | 'not-a-plugin' | 'invalid-options' | 'create-failed'

/**
 * A plugin could not be loaded or could not make its executable; nothing was started. Code
 * `WTFLOW_VALIDATION`; `plugin` names it (its name, or the specifier it was loaded by).
 */
export class PluginError extends ValidationError {
  readonly plugin: string
  readonly reason: PluginErrorReason

  constructor(nodePath: string | null, plugin: string, reason: PluginErrorReason, message: string, options?: { cause?: unknown }) {
    super(nodePath, message, options)
    this.plugin = plugin
    this.reason = reason
  }
}

/**
 * Defines a plugin: a named way to make an executable from options (plain data, as a declarative
 * flow's `with:` gives them). The default export of a plugin module or package.
 *
 * @example
 * import { z } from 'zod'
 * export default definePlugin({
 *   name: 'notify',
 *   schema: z.object({ channel: z.string() }),
 *   create: options => new Command(['notify-send', options.channel]),
 * })
 */
export function definePlugin<Options>(definition: PluginDefinition<Options>): Plugin<Options> {
  const { name, schema, create } = (definition ?? {}) as Partial<PluginDefinition<Options>>
  if (typeof name !== 'string' || name.trim() === '') throw new ValidationError(null, 'definePlugin needs a non-empty `name`')
  if (typeof create !== 'function') throw new ValidationError(null, `definePlugin (plugin "${name}") needs a \`create(options, ctx)\` function that returns an executable`)
  if (schema !== undefined && typeof (schema as Partial<StandardSchemaV1>)['~standard']?.validate !== 'function') {
    throw new ValidationError(null, `definePlugin (plugin "${name}"): schema must be a Standard Schema (a zod 4, valibot or ArkType schema, say)`)
  }
  return Object.freeze({ name, schema, create, [PLUGIN_BRAND]: true as const })
}

/** True for a plugin made by `definePlugin`, even by another copy of @wtflow/core. */
export function isPlugin(value: unknown): value is Plugin {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLUGIN_BRAND] === true
}

/** What `createExecutable` takes: a plugin, or anything of its shape. */
export type PluginLike = Pick<PluginDefinition<never>, 'name'> & {
  readonly schema?: StandardSchemaV1 | undefined
  create(options: never, ctx: PluginContext): Executable<unknown>
}

/**
 * Makes a plugin's executable: checks the options against its schema, then calls its `create`.
 * Rejects with a `PluginError` (a `ValidationError`) that names the node and the plugin.
 *
 * @example
 * const executable = await createExecutable(sqlPlugin, { url: 'sqlite:data.db', query: 'select 1' }, { nodePath: 'report/count' })
 */
export async function createExecutable(plugin: PluginLike, options: unknown, context: Partial<PluginContext> = {}): Promise<Executable<unknown>> {
  const ctx: PluginContext = { nodePath: context.nodePath ?? null, baseDir: context.baseDir ?? process.cwd() }
  const name = plugin.name
  let value = options
  if (plugin.schema !== undefined) {
    let checked: StandardSchemaV1.Result<unknown>
    try {
      checked = await plugin.schema['~standard'].validate(options)
    } catch (error) {
      throw new PluginError(ctx.nodePath, name, 'invalid-options', `plugin "${name}": its schema threw while checking the options: ${messageOf(error)}`, { cause: error })
    }
    if (checked.issues !== undefined) {
      throw new PluginError(ctx.nodePath, name, 'invalid-options', `plugin "${name}": invalid options: ${formatIssues(checked.issues)}`)
    }
    value = checked.value
  }
  let executable: unknown
  try {
    executable = (plugin.create as (options: unknown, ctx: PluginContext) => unknown)(value, ctx)
  } catch (error) {
    throw new PluginError(ctx.nodePath, name, 'create-failed', `plugin "${name}" could not make its executable: ${messageOf(error)}`, { cause: error })
  }
  if (!isExecutable(executable)) {
    throw new PluginError(ctx.nodePath, name, 'create-failed', `plugin "${name}": create() returned ${describeValue(executable)}, not an executable (an instance of a class extending Executable)`)
  }
  return executable
}

/** Issues as one line: `url: Invalid URL; query: Required`. */
function formatIssues(issues: ReadonlyArray<StandardSchemaV1.Issue>): string {
  return issues
    .map(issue => {
      const at = (issue.path ?? []).map(segment => String(typeof segment === 'object' ? segment.key : segment)).join('.')
      return at === '' ? issue.message : `${at}: ${issue.message}`
    })
    .join('; ')
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return `an object (${Object.keys(value).slice(0, 5).join(', ') || 'no keys'})`
  return typeof value === 'function' ? 'a function' : `${typeof value} ${JSON.stringify(value)}`
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
