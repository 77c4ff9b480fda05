import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { definePlugin, type Plugin } from '../plugins/plugin.js'
import { Command } from './command.js'
import { Env } from './env.js'
import { Func } from './func/func.js'
import { Http } from './http.js'

/**
 * The executables wtflow ships, as plugins by the name their spec `uses`: a plan document or a
 * declarative flow makes them the way it makes any plugin's.
 */
export const BUILTIN_PLUGINS: readonly Plugin[] = Object.freeze([
  definePlugin({ name: 'command', create: options => Command.fromSpec(options) }),
  definePlugin({ name: 'func', create: (options, ctx) => Func.fromSpec(withModuleUrl(options, ctx.baseDir)) }),
  definePlugin({ name: 'http', create: options => Http.fromSpec(options) }),
  definePlugin({ name: 'env', create: options => Env.fromSpec(options) }),
])

/** A func spec's `module` may be a path relative to the flow file: the worker wants a URL. */
function withModuleUrl(options: unknown, baseDir: string): unknown {
  const module = (options as { module?: unknown } | null)?.module
  if (typeof module !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(module)) return options
  return { ...(options as object), module: pathToFileURL(path.resolve(baseDir, module)).href }
}
