import { spawn, type ChildProcess } from 'node:child_process'
import { spawnError, type SpawnRequest } from './errors.js'
import type { ExitStatus, OutputTarget, Subprocess } from './types.js'

/**
 * The fallback: Node's child_process.spawn (fork + exec in libuv), with the same guarantees
 * as the native path except one: descriptors the host opened without close-on-exec leak.
 */
export async function spawnWithNode(request: SpawnRequest, stdout: OutputTarget, stderr: OutputTarget): Promise<Subprocess> {
  let child: ChildProcess
  try {
    child = spawn(request.file, request.args, {
      cwd: request.cwd,
      env: request.env,
      // Own session and process group (setsid), as on the native path.
      detached: true,
      stdio: ['ignore', stdout, stderr],
    })
  } catch (error) {
    // Failures other than ENOENT/EACCES/EAGAIN/EMFILE/ENFILE (E2BIG…) are thrown at once.
    throw toSpawnError(request, error)
  }
  // Registered before the first await so that no event is missed.
  const exited = new Promise<ExitStatus>(resolve => {
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }))
  })
  await new Promise<void>((resolve, reject) => {
    const onError = (error: unknown) => {
      child.off('spawn', onSpawn)
      child.stdout?.destroy()
      child.stderr?.destroy()
      reject(toSpawnError(request, error))
    }
    const onSpawn = () => {
      child.off('error', onError)
      resolve()
    }
    child.once('spawn', onSpawn)
    child.once('error', onError)
  })
  // On exit, Node resumes (discards) any stdio stream nobody reads yet; ours are read when the
  // caller chooses, as on the native path. `stdio` is only used for that after spawn.
  ;(child as { stdio: unknown }).stdio = null
  return { pid: child.pid!, backend: 'node', stdout: child.stdout, stderr: child.stderr, exited }
}

function toSpawnError(request: SpawnRequest, error: unknown): Error {
  const { code, errno } = error as NodeJS.ErrnoException
  // Node's own argument errors (ERR_INVALID_ARG_VALUE…) are not spawn failures.
  if (typeof code !== 'string' || !code.startsWith('E') || code.startsWith('ERR_')) return error as Error
  return spawnError(request, code, errno)
}
