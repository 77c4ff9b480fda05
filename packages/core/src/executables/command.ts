import type { Readable } from 'node:stream'
import type * as Spawn from '@wtflow/spawn'
import { NodeFailure, serializeError } from '../errors/errors.js'
import { Executable, type ExecutableCapabilities, type ExecutableSpec, type ExecutionContext, type ExecutionOutcome } from '../model/executable.js'
import { isInputRef, type InputRef } from '../model/inputs.js'
import { isRef, type ArtifactRef, type Ref, type ResultRef } from '../model/refs.js'
import {
  PROCESS_MARKER,
  processGroupAlive,
  terminateMarkedProcesses,
  terminateProcessGroup,
  trackMarkedRun,
  trackProcessGroup,
  untrackProcessGroup,
} from '../process-groups.js'

/** One argv element: a literal, or a reference replaced by one argument (a path, or a result value). */
export type CommandArg = string | ArtifactRef | ResultRef<unknown> | InputRef

export interface CommandOptions {
  /** Environment variables for this command only (on top of the node's `env`). */
  env?: Readonly<Record<string, string>>
}

const COMMAND_CAPABILITIES: ExecutableCapabilities = Object.freeze({ result: false, cwd: true })

/**
 * A shell command (a string, run by `/bin/sh -c`) or an argv array (run directly, no shell).
 * In an argv array, `node.stdout` / `node.artifact(name)` become the artifact's file path and
 * `node.result` its value, each as exactly one argument: nothing is ever re-parsed by a shell.
 *
 * @example
 * new Command('npm run build && npm test')
 * new Command(['wc', '-l', extract.stdout])
 */
export class Command extends Executable<void> {
  readonly kind = 'command'
  override readonly capabilities: ExecutableCapabilities = COMMAND_CAPABILITIES
  readonly command: string | readonly CommandArg[]
  readonly options: CommandOptions

  constructor(command: string | readonly CommandArg[], options: CommandOptions = {}) {
    super()
    this.command = typeof command === 'string' ? command : Object.freeze([...command])
    this.options = options
  }

  describe(): string {
    if (typeof this.command === 'string') return this.command
    return this.command
      .map(arg => (typeof arg === 'string' ? quoteForDisplay(arg) : isInputRef(arg) ? `<inputs.${arg.name}>` : `<${arg.node.name}.${arg.kind === 'result' ? 'result' : arg.name}>`))
      .join(' ')
  }

  references(): Ref[] {
    return typeof this.command === 'string' ? [] : this.command.filter((arg): arg is Ref => isRef(arg))
  }

  override toSpec(): ExecutableSpec {
    return { uses: 'command', with: this.options.env === undefined ? { command: this.command } : { command: this.command, env: this.options.env } }
  }

  /** Builds a Command from its spec (`{ command, env? }`, as `toSpec()` gives it). */
  static fromSpec(spec: unknown): Command {
    const { command, env } = (spec ?? {}) as { command?: unknown; env?: unknown }
    const argv = Array.isArray(command) && command.every(arg => typeof arg === 'string' || isRef(arg) || isInputRef(arg))
    if (typeof command !== 'string' && !argv) throw new TypeError('a command spec needs `command`: a string, or an array of strings and references')
    if (env !== undefined && (typeof env !== 'object' || env === null || Object.values(env).some(value => typeof value !== 'string'))) {
      throw new TypeError('a command spec\'s `env` must be an object of strings')
    }
    return new Command(command as string | CommandArg[], env === undefined ? {} : { env: env as Record<string, string> })
  }

  override async prepare(): Promise<void> {
    if (typeof this.command === 'string' ? this.command.trim() === '' : this.command.length === 0) {
      throw new Error('the command is empty')
    }
    const first = typeof this.command === 'string' ? this.command : this.command[0]
    if (typeof first !== 'string') throw new Error('the first element of an argv command must be the program, not a reference')
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const { spawnProcess } = await (spawnModule ??= import('@wtflow/spawn'))
    sweeperOf(ctx)
    const marker = `${ctx.runId}:${++commandsStarted}`
    const env = { ...hostEnvWith(ctx.env), ...this.options.env, [PROCESS_MARKER]: marker }
    let program: { file: string; args?: string[]; shell?: boolean }
    if (typeof this.command === 'string') {
      program = { file: this.command, shell: true }
    } else {
      const argv: string[] = []
      for (const arg of this.command) argv.push(typeof arg === 'string' ? arg : isInputRef(arg) ? inputValue(ctx, arg) : await resolveArg(ctx, arg))
      const [file, ...args] = argv as [string, ...string[]]
      program = { file, args }
    }
    let subprocess: Spawn.Subprocess
    try {
      // Its own session and process group, so that the whole tree can be signalled. Large outputs
      // are nearly always stdout: the child writes it straight to its file when nothing needs to
      // see the bytes; stderr goes through a pipe.
      subprocess = await spawnProcess({ ...program, cwd: ctx.cwd, env, stdout: ctx.directStdout() ?? 'pipe', stderr: 'pipe' })
    } catch (cause) {
      // No such program, a bad working directory, an environment too large…
      const failure = new NodeFailure(`could not start the command: ${cause instanceof Error ? cause.message : String(cause)}`, { code: 'WTFLOW_SPAWN_FAILED' }, { cause })
      return { exitCode: null, signal: null, error: serializeError(failure) }
    }
    const pgid = subprocess.pid
    trackProcessGroup(pgid)
    let pipesClosed = false
    const stdoutDone = subprocess.stdout === null ? Promise.resolve() : pump(subprocess.stdout, ctx.stdout)
    const stderrDone = subprocess.stderr === null ? Promise.resolve() : pump(subprocess.stderr, ctx.stderr)
    const pipes = Promise.all([stdoutDone, stderrDone]).then(() => void (pipesClosed = true))
    const grace = ctx.config.killGraceMs
    let stopping: Promise<void> | undefined
    // The group, and whatever left it (found by its marker).
    const stop = () => {
      stopping ??= Promise.all([terminateProcessGroup(pgid, grace), terminateMarkedProcesses(marker, grace)]).then(() => {})
    }
    const unlisten = ctx.onStop(stop)

    try {
      const { exitCode: code, signal } = await subprocess.exited
      // The leader is gone; anything left in its group (a background grandchild) goes too.
      if (!stopping && processGroupAlive(pgid)) stop()
      await stopping
      // Once the group is gone, the pipes close, unless a process that left the group (a daemon
      // started with setsid) holds them: after a moment it is found by its marker and stopped,
      // and our ends are closed. A node never waits for such a process.
      if (!pipesClosed && !(await within(pipes, PIPE_GRACE_MS))) await terminateMarkedProcesses(marker, grace)
      subprocess.stdout?.destroy()
      subprocess.stderr?.destroy()
      await pipes
      if (code === 0) return { exitCode: 0, signal: null, error: null }
      const failure =
        signal !== null
          ? new NodeFailure(`killed by ${signal}`, { signal })
          : new NodeFailure(`exited with code ${code}`, { exitCode: code })
      return { exitCode: code, signal, error: serializeError(failure) }
    } finally {
      unlisten()
      untrackProcessGroup(pgid)
    }
  }
}

/** `@wtflow/spawn`, loaded by the first command (Func workers, which import core, never run one). */
let spawnModule: Promise<typeof Spawn> | undefined

/**
 * Loads what running a Command needs (the spawn addon): a CLI that is about to run commands
 * loads it up front, before module hooks (tsx) make imports slower.
 */
export async function preloadCommandRuntime(): Promise<void> {
  const { spawnBackend } = await (spawnModule ??= import('@wtflow/spawn'))
  spawnBackend()
}

/** How long the pipes may stay open once a command's process group is gone. */
const PIPE_GRACE_MS = 100

/** Numbers the commands of this process, for their markers. */
let commandsStarted = 0

/** True if `promise` settles within `ms`. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise.then(() => true),
    new Promise<boolean>(resolve => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer))
}

/**
 * The run's sweeper, made by its first command: when the run ends (its resources close), every
 * process still carrying one of the run's markers is stopped. Commands stop their own leftovers
 * as they end; this catches one that left both its group and its pipes.
 */
function sweeperOf(ctx: ExecutionContext): void {
  ctx.resources.get(SWEEPER_RESOURCE, () => {
    const untrack = trackMarkedRun(ctx.runId)
    const graceMs = ctx.config.killGraceMs
    return {
      close: async () => {
        await terminateMarkedProcesses(`${ctx.runId}:`, graceMs)
        untrack()
      },
    }
  })
}

const SWEEPER_RESOURCE = 'wtflow:process-sweeper'

/** A command's environment: the host's, with a node's overlay on top; one object per overlay. */
const environments = new WeakMap<object, Readonly<Record<string, string | undefined>>>()

/**
 * The overlay objects are made per run and shared by the nodes that add nothing of their own,
 * so this copies `process.env` (slow: every key is a getenv) about once per run, not once per
 * command. The price: what the host changes in `process.env` while a run is going may not
 * reach that run's later commands (the next run sees it).
 */
function hostEnvWith(overlay: Readonly<Record<string, string>>): Readonly<Record<string, string | undefined>> {
  let env = environments.get(overlay)
  if (env === undefined) {
    env = { ...process.env, ...overlay }
    environments.set(overlay, env)
  }
  return env
}

/** Copies a child's stream into a sink without ending it; resolves when the stream closes. */
function pump(source: Readable, sink: NodeJS.WritableStream): Promise<void> {
  return new Promise(resolve => {
    // If the sink fails (disk full…), keep draining the child so that it never blocks on a full pipe.
    sink.once('error', () => source.resume())
    source.pipe(sink, { end: false })
    source.once('close', () => {
      source.unpipe(sink)
      resolve()
    })
    source.once('error', () => resolve())
  })
}

/** An `inputRef(name)` argument's value; an input the workflow does not declare fails the node. */
export function inputValue(ctx: ExecutionContext, ref: InputRef): string {
  const value = ctx.inputs[ref.name]
  if (value === undefined) throw new Error(`inputRef('${ref.name}'): the run has no input "${ref.name}" (declare it in the Workflow's inputs, with a default or required)`)
  return value
}

async function resolveArg(ctx: ExecutionContext, ref: ArtifactRef | ResultRef<unknown>): Promise<string> {
  const resolved = await ctx.resolve(ref)
  if (resolved.kind === 'artifact') return resolved.path
  const value = resolved.value
  return typeof value === 'string' ? value : JSON.stringify(value) ?? ''
}

function quoteForDisplay(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}
