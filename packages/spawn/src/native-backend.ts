import { createRequire } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { getSystemErrorName } from 'node:util'
import { spawnError, type SpawnRequest } from './errors.js'
import type { ExitStatus, OutputTarget, Subprocess } from './types.js'

/** The addon's functions (native/spawn.c). */
interface Addon {
  spawn(
    file: string,
    argvBlock: string,
    envBlock: string,
    cwd: string,
    stdout: number,
    stderr: number,
    onExit: (exitCode: number | null, signal: number | null, errno: number) => void,
    onSpawned: (error: NodeJS.ErrnoException | null, result: [pid: number, stdoutFd: number, stderrFd: number]) => void,
  ): void
  probe(): true
}


/** Built by `node-gyp` into build/Release (scripts/build-native.js); the same path from src/ and dist/. */
export const addonPath = fileURLToPath(new URL('../build/Release/wtflow_spawn.node', import.meta.url))

/** Loads the addon and checks the kernel; throws with the reason when the native path cannot work. */
export function loadAddon(): Addon {
  if (process.platform !== 'linux') throw new Error(`the native spawn path is for Linux, not ${process.platform}`)
  const addon = createRequire(import.meta.url)(addonPath) as Addon
  addon.probe()
  return addon
}

const PIPE = -1
const IGNORE = -2

function targetSpec(target: OutputTarget): number {
  if (target === 'pipe') return PIPE
  if (target === 'ignore') return IGNORE
  return target
}

const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(os.constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
)

/** What the child gets: its strings joined by NUL, one string per crossing into C. */
function joinBlocks(request: SpawnRequest): { argv: string; env: string } {
  let argv = request.file
  for (const arg of request.args) argv += '\0' + arg
  let env = ''
  for (const key in request.env) {
    const value = request.env[key]
    if (value === undefined) continue
    env = env === '' ? `${key}=${value}` : `${env}\0${key}=${value}`
  }
  return { argv, env }
}

export async function spawnNative(addon: Addon, request: SpawnRequest, stdout: OutputTarget, stderr: OutputTarget): Promise<Subprocess> {
  const { argv, env } = joinBlocks(request)
  let settle!: (status: ExitStatus) => void
  let fail!: (error: Error) => void
  const exited = new Promise<ExitStatus>((resolve, reject) => {
    settle = resolve
    fail = reject
  })
  // Seen by whoever awaits it; never an unhandled rejection of its own.
  exited.catch(() => {})
  let pid = 0
  const onExit = (exitCode: number | null, signal: number | null, errno: number) => {
    if (errno !== 0) {
      fail(new Error(`could not reap process ${pid} (${getSystemErrorName(-errno)}): its exit status was taken by someone else, a waitpid(-1) in this process?`))
      return
    }
    settle({ exitCode, signal: signal === null ? null : (signalNames.get(signal) ?? (`SIG${signal}` as NodeJS.Signals)) })
  }
  let stdoutFd: number
  let stderrFd: number
  try {
    ;[pid, stdoutFd, stderrFd] = await new Promise<[number, number, number]>((resolve, reject) => {
      addon.spawn(request.file, argv, env, request.cwd ?? '', targetSpec(stdout), targetSpec(stderr), onExit, (error, result) =>
        error === null ? resolve(result) : reject(error),
      )
    })
  } catch (error) {
    const { code, errno } = error as NodeJS.ErrnoException
    if (typeof code !== 'string') throw error
    throw spawnError(request, code, errno)
  }
  return {
    pid,
    backend: 'native',
    stdout: stdoutFd < 0 ? null : new net.Socket({ fd: stdoutFd, readable: true, writable: false }),
    stderr: stderrFd < 0 ? null : new net.Socket({ fd: stderrFd, readable: true, writable: false }),
    exited,
  }
}
