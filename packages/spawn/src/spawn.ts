import { selectBackend } from './backend.js'
import type { SpawnRequest } from './errors.js'
import { spawnNative } from './native-backend.js'
import { spawnWithNode } from './node-backend.js'
import type { OutputTarget, SpawnOptions, Subprocess } from './types.js'

/**
 * Starts a child in its own session and process group (its pid is the group id), stdin from
 * /dev/null, stdout and stderr to a descriptor, a pipe or /dev/null. Rejects with a
 * `SpawnError` (code ENOENT, EACCES, ENOTDIR, E2BIG…) when the child cannot be started.
 *
 * @example
 * const child = await spawnProcess({ file: 'make -j4', shell: true, cwd, env, stdout: fd, stderr: 'pipe' })
 * child.stderr?.pipe(sink)
 * const { exitCode, signal } = await child.exited
 */
export async function spawnProcess(options: SpawnOptions): Promise<Subprocess> {
  const request = toRequest(options)
  const stdout = checkTarget('stdout', options.stdout ?? 'pipe')
  const stderr = checkTarget('stderr', options.stderr ?? 'pipe')
  const backend = selectBackend(options.backend)
  if (backend.name === 'native') return spawnNative(backend.addon, request, stdout, stderr)
  return spawnWithNode(request, stdout, stderr)
}

/**
 * Sends a signal to every process of a group (`kill(-pgid, signal)`); false if none is left.
 * A child from spawnProcess leads a group whose id is its pid.
 */
export function killGroup(pgid: number, signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new RangeError(`killGroup: ${pgid} is not a process group id`)
  try {
    process.kill(-pgid, signal)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw error
  }
}

function toRequest(options: SpawnOptions): SpawnRequest {
  const { file, args = [], shell = false } = options
  if (typeof file !== 'string' || file === '') throw new TypeError('spawnProcess: `file` must be a non-empty string')
  if (shell && args.length > 0) throw new TypeError('spawnProcess: `args` cannot be used with `shell: true`; put them in the command line')
  const env = options.env ?? process.env
  const request: SpawnRequest = shell
    ? { file: '/bin/sh', args: ['-c', file], cwd: options.cwd, env }
    : { file, args, cwd: options.cwd, env }
  // A NUL would silently cut the string short in C; Node's spawn refuses it too.
  const bad = [request.file, ...request.args].find(text => text.includes('\0'))
  if (bad !== undefined) throw new TypeError(`spawnProcess: an argument contains a NUL byte: ${JSON.stringify(bad)}`)
  for (const key in env) {
    const value = env[key]
    if (key.includes('\0') || key.includes('=') || key === '' || value?.includes('\0')) {
      throw new TypeError(`spawnProcess: invalid environment variable ${JSON.stringify(key)} (empty, with '=' or with a NUL byte)`)
    }
  }
  if (options.cwd !== undefined && (typeof options.cwd !== 'string' || options.cwd === '' || options.cwd.includes('\0'))) {
    throw new TypeError(`spawnProcess: cwd must be a non-empty path, not ${JSON.stringify(options.cwd)}`)
  }
  return request
}

function checkTarget(name: string, target: OutputTarget): OutputTarget {
  if (target === 'pipe' || target === 'ignore' || (Number.isInteger(target) && target >= 0)) return target
  throw new TypeError(`spawnProcess: ${name} must be a file descriptor, 'pipe' or 'ignore', not ${String(target)}`)
}
