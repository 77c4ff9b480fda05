import type { ExecutableFactory } from '../plan/serialize.js'
import { Command } from './command.js'
import { Func } from './func/func.js'

/** The executables wtflow ships, by the name their spec `uses`. */
export const BUILTIN_EXECUTABLES: ReadonlyMap<string, ExecutableFactory> = new Map<string, ExecutableFactory>([
  ['command', { name: 'command', create: options => Command.fromSpec(options) }],
  ['func', { name: 'func', create: options => Func.fromSpec(options) }],
])
