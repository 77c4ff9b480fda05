import type { Readable } from 'node:stream'

/**
 * Where a child's stdout or stderr goes: a file descriptor of this process (the child gets a
 * copy, as with `> file`), a new pipe read through a stream, or /dev/null.
 */
export type OutputTarget = number | 'pipe' | 'ignore'

/** The two ways of spawning: posix_spawn through the addon, or Node's `child_process.spawn`. */
export type SpawnBackendName = 'native' | 'node'

export interface SpawnOptions {
  /**
   * The program: a path, or a name looked up in `env.PATH` (not the host's PATH). With
   * `shell: true`, a command line for `/bin/sh -c`.
   */
  file: string
  /** Arguments after the program (argv[1…]). Not allowed with `shell: true`. */
  args?: readonly string[]
  /** Run `file` as a command line by `/bin/sh -c file`. */
  shell?: boolean
  /** Working directory; default: this process's. */
  cwd?: string
  /** The child's whole environment (nothing is added); default: `process.env`. Undefined values are left out. */
  env?: Readonly<Record<string, string | undefined>>
  /** Default `'pipe'`. */
  stdout?: OutputTarget
  /** Default `'pipe'`. */
  stderr?: OutputTarget
  /** Overrides the backend chosen by `WTFLOW_SPAWN` (tests run both paths with it). */
  backend?: SpawnBackendName
}

/** How a child ended: exactly one of the two is non-null. */
export interface ExitStatus {
  exitCode: number | null
  signal: NodeJS.Signals | null
}

/**
 * A running child. It leads its own session and process group (`pgid === pid`), so
 * `killGroup(pid)` reaches everything it started that stayed in the group. Its stdin is
 * /dev/null; it inherits no descriptor but 0, 1 and 2 (on the native path).
 */
export interface Subprocess {
  readonly pid: number
  /** The backend that started it. */
  readonly backend: SpawnBackendName
  /** The read end of the stdout pipe, when `stdout: 'pipe'`; else null. */
  readonly stdout: Readable | null
  /** The read end of the stderr pipe, when `stderr: 'pipe'`; else null. */
  readonly stderr: Readable | null
  /**
   * Resolves when the child has exited and been reaped (its pipes may stay open longer: a
   * grandchild can hold them). Rejects only if its exit status was taken by someone else.
   */
  readonly exited: Promise<ExitStatus>
}
