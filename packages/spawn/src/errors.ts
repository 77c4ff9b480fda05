import { accessSync, constants, statSync } from 'node:fs'
import os from 'node:os'
import { getSystemErrorMap } from 'node:util'

/** Linux's limit on one argument or environment string (MAX_ARG_STRLEN: 32 pages). */
const MAX_ARG_STRLEN = 32 * 4096

/**
 * A child could not be started. Shaped like Node's spawn errors (`code`, `errno`, `syscall`
 * `spawn <file>`, `path`, `spawnargs`), with a message that says what to fix.
 */
export class SpawnError extends Error {
  /** The errno name: ENOENT, EACCES, ENOTDIR, E2BIG, EMFILE… */
  readonly code: string
  /** Negative, as in Node's errors. */
  readonly errno: number
  readonly syscall: string
  /** The program, or the working directory when that is what is missing. */
  readonly path: string
  readonly spawnargs: readonly string[]

  constructor(code: string, message: string, details: { errno?: number | undefined; file: string; path: string; args: readonly string[] }) {
    super(message)
    this.name = 'SpawnError'
    this.code = code
    this.errno = details.errno ?? errnoOf(code)
    this.syscall = `spawn ${details.file}`
    this.path = details.path
    this.spawnargs = details.args
  }
}

/**
 * The backend-independent part of a spawn: what was asked. Both backends report failures
 * through `spawnError`, so the same mistake gives the same error on either path.
 */
export interface SpawnRequest {
  /** argv[0] as given (the program name, or /bin/sh for a shell command). */
  file: string
  /** argv[1…]. */
  args: readonly string[]
  cwd: string | undefined
  env: Readonly<Record<string, string | undefined>>
}

/** Turns a backend's errno failure into a SpawnError that names the real culprit. */
export function spawnError(request: SpawnRequest, code: string, errno: number | undefined): SpawnError {
  const { file, args, cwd } = request
  const prefix = `spawn ${file} ${code}`
  const details = (path: string, errnoOverride?: number) => ({ errno: errnoOverride ?? errno, file, path, args })
  // The kernel says ENOENT (or ENOTDIR, EACCES) both for a missing program and a missing working
  // directory: look at the directory before blaming the program.
  if (cwd !== undefined && (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES')) {
    const problem = directoryProblem(cwd)
    if (problem !== null) {
      return new SpawnError(problem.code, `spawn ${file} ${problem.code}: the working directory ${cwd} ${problem.what}; create it or run from another directory`, details(cwd, errnoOf(problem.code)))
    }
  }
  switch (code) {
    case 'ENOENT':
      return new SpawnError(code, file.includes('/')
        ? `${prefix}: no such file ${file}`
        : `${prefix}: no program ${file} in PATH (${request.env['PATH'] ?? 'unset'}); install it, or give its full path`, details(file))
    case 'EACCES':
      return new SpawnError(code, `${prefix}: ${file} is not an executable file (a directory, no execute permission, or a noexec mount); chmod +x it or run it through its interpreter`, details(file))
    case 'E2BIG':
      return new SpawnError(code, `${prefix}: ${describeTooBig(request)}`, details(file))
    default:
      return new SpawnError(code, `${prefix}: ${getSystemErrorMap().get(errno ?? errnoOf(code))?.[1] ?? 'the system refused to start it'}`, details(file))
  }
}

/** Node's negative errno for a code name (0 if unknown). */
function errnoOf(code: string): number {
  const value = (os.constants.errno as Record<string, number | undefined>)[code]
  return value === undefined ? 0 : -value
}

function directoryProblem(cwd: string): { code: string; what: string } | null {
  try {
    if (!statSync(cwd).isDirectory()) return { code: 'ENOTDIR', what: 'is not a directory' }
    accessSync(cwd, constants.X_OK)
    return null
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'ENOENT'
    return { code, what: code === 'EACCES' ? 'is not accessible (no search permission)' : 'does not exist' }
  }
}

function describeTooBig(request: SpawnRequest): string {
  let total = 0
  let longest: { what: string; bytes: number } | null = null
  const count = (what: string, text: string) => {
    const bytes = Buffer.byteLength(text) + 1
    total += bytes + 8
    if (longest === null || bytes > longest.bytes) longest = { what, bytes }
  }
  count('the program name', request.file)
  request.args.forEach((arg, i) => count(`argument ${i + 1}`, arg))
  for (const [key, value] of Object.entries(request.env)) if (value !== undefined) count(`the environment variable ${key}`, `${key}=${value}`)
  const top = longest as { what: string; bytes: number } | null
  if (top !== null && top.bytes > MAX_ARG_STRLEN) {
    return `${top.what} is ${top.bytes.toLocaleString('en-US')} bytes, over Linux's limit of ${MAX_ARG_STRLEN.toLocaleString('en-US')} bytes for one argument or variable; pass large values in a file (an artifact) instead`
  }
  return `the arguments and environment take ${total.toLocaleString('en-US')} bytes, over the system's limit for a new program (see getconf ARG_MAX); pass large values in a file (an artifact) instead`
}
