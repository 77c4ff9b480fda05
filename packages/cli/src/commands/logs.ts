import { createReadStream, existsSync } from 'node:fs'
import { open, stat, type FileHandle } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { NodeStatus } from '@wtflow/core'
import type { HistoryDatabase, NodeRecord } from '@wtflow/db'
import { CliError, ExitCode } from '../errors.js'
import { openHistoryForReading, readConfig } from '../history.js'
import type { LogsCommandOptions } from '../main.js'
import { liveArtifactPath } from '../node-files.js'
import { outputFor, shortId } from '../terminal.js'

const POLL_FILE_MS = 100
const POLL_STATUS_MS = 250

/** `wtflow logs RUN_ID NODE_PATH [--stderr] [--follow]`: a node's stdout (or stderr). */
export async function logsCommand(runIdArg: string, nodePathArg: string, options: LogsCommandOptions): Promise<number> {
  const config = await readConfig(options.config)
  const db = await openHistoryForReading(config)
  if (db === null) throw new CliError(`no run with id "${runIdArg}": no run has been recorded yet; \`wtflow run\` records one.`)
  // `wtflow logs … | head` closes the pipe early: that is not an error.
  process.stdout.on('error', error => {
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') process.exit(ExitCode.ok)
  })
  try {
    const runId = await db.resolveRunId(runIdArg)
    const nodePath = await resolveNodePath(db, runId, nodePathArg)
    const node = await db.getNode(runId, nodePath)
    if (node.kind === 'group') {
      throw new CliError(`"${nodePath}" is a group (a node without an executable), so it has no output; \`wtflow show ${shortId(runId)}\` lists its children.`)
    }
    if (options.stderr === true && options.artifact !== undefined) throw new CliError('give --stderr or --artifact NAME, not both.')
    const stream = options.stderr === true ? 'stderr' : 'stdout'
    if (options.attempt !== undefined || options.artifact !== undefined) {
      if (options.follow === true) throw new CliError('--follow follows the current attempt\'s stdout or stderr; leave out --attempt and --artifact.')
      const file = storedArtifact(node, options.artifact ?? stream, options.attempt, runId)
      if (file !== null) await copyToStdout(file)
      return ExitCode.ok
    }
    const { runDir } = await db.getRunInfo(runId)
    const fileOf = (record: NodeRecord) => record.artifacts.find(a => a.name === stream)?.path ?? liveArtifactPath(runDir, nodePath, stream)

    if (options.follow === true) {
      await follow(db, runId, node, fileOf)
      // Its output stopped because wtflow died, not because it ended: say so, and fail.
      const run = await db.getRunInfo(runId)
      if (run.status === 'crashed') {
        const ended = await db.getNode(runId, nodePath)
        const notes = outputFor(process.stderr)
        notes.write(`wtflow: run ${shortId(runId)} crashed (the wtflow process running it, pid ${run.pid} on ${run.host}, died); "${nodePath}" is recorded ${ended.status}, and its output above may be incomplete.\n`)
        return ExitCode.failed
      }
      return ExitCode.ok
    }
    const file = fileOf(node)
    if (!existsSync(file)) {
      // A node that ended without writing to the stream: its output is empty, not an error.
      if (ENDED.has(node.status) && !node.artifacts.some(a => a.name === stream)) return ExitCode.ok
      throw noOutput(node, stream, file)
    }
    await copyToStdout(file)
    return ExitCode.ok
  } finally {
    await db.close()
  }
}

/** The exact path, or else the one node whose name (or path suffix) it is. */
async function resolveNodePath(db: HistoryDatabase, runId: string, given: string): Promise<string> {
  const { nodes } = await db.getRun(runId)
  if (nodes.some(node => node.path === given)) return given
  const matches = nodes.filter(node => node.name === given || node.path.endsWith(`/${given}`))
  if (matches.length === 1) return matches[0]!.path
  const shown = nodes.slice(0, 12).map(node => `"${node.path}"`).join(', ') + (nodes.length > 12 ? ', …' : '')
  if (matches.length > 1) {
    throw new CliError(`"${given}" matches several nodes of run ${shortId(runId)} (${matches.map(n => `"${n.path}"`).join(', ')}); give the full path.`)
  }
  throw new CliError(`run ${shortId(runId)} has no node "${given}"; its nodes are ${shown}.`)
}

const ENDED: ReadonlySet<NodeStatus> = new Set(['succeeded', 'failed', 'timed_out', 'cancelled'])

/**
 * The file of an artifact of one attempt (the last one by default): earlier attempts keep theirs
 * as `NAME.attempt-N`. Null when that attempt wrote nothing to stdout or stderr.
 */
function storedArtifact(node: NodeRecord, name: string, attempt: number | undefined, runId: string): string | null {
  const last = node.attemptCount
  if (attempt !== undefined && (attempt > last || last === 0)) {
    throw new CliError(`"${node.path}" made ${last === 0 ? 'no attempt' : last === 1 ? 'one attempt' : `${last} attempts`} in run ${shortId(runId)}; --attempt takes 1${last > 1 ? `…${last}` : ''}.`)
  }
  const wanted = attempt === undefined || attempt === last ? name : `${name}.attempt-${attempt}`
  const found = node.artifacts.find(a => a.name === wanted)
  if (found !== undefined) {
    if (!existsSync(found.path)) throw noOutput(node, name, found.path)
    return found.path
  }
  if (name === 'stdout' || name === 'stderr') return null
  const names = [...new Set(node.artifacts.map(a => a.name.replace(/\.attempt-\d+$/, '')))].filter(n => n !== 'stdout' && n !== 'stderr')
  throw new CliError(
    `"${node.path}" has no artifact "${name}"${attempt === undefined ? '' : ` from attempt ${attempt}`} in run ${shortId(runId)}; ${names.length === 0 ? 'it declares none besides stdout and stderr' : `its artifacts are ${names.map(n => `"${n}"`).join(', ')}`}.`,
  )
}

function noOutput(node: NodeRecord, stream: string, file: string): CliError {
  switch (node.status) {
    case 'pending':
      return new CliError(`"${node.path}" has not started yet; add --follow to wait for its output.`, { exitCode: ExitCode.failed })
    case 'skipped':
      return new CliError(`"${node.path}" was skipped (${node.skipReason ?? 'no reason recorded'}), so it has no output.`, { exitCode: ExitCode.failed })
    default:
      return new CliError(`the ${stream} of "${node.path}" is not at ${file} any more (artifacts may have been removed).`, { exitCode: ExitCode.failed })
  }
}

async function copyToStdout(file: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const source = createReadStream(file)
    source.on('error', reject)
    source.on('end', resolve)
    source.pipe(process.stdout, { end: false })
  })
}

const ACTIVE: ReadonlySet<NodeStatus> = new Set(['pending', 'running'])

/**
 * Prints what the node has written and keeps printing as the file grows, until history says
 * the node ended (or its run ended or crashed). A retry starts a new file: the rest of the old
 * one is printed, then the new one from its start.
 */
async function follow(db: HistoryDatabase, runId: string, first: NodeRecord, fileOf: (node: NodeRecord) => string): Promise<void> {
  const notes = outputFor(process.stderr)
  let node = first
  let file = fileOf(node)
  let reader: { handle: FileHandle; ino: number; offset: number } | null = null
  let lastStatusCheck = performance.now()
  let ended = !ACTIVE.has(node.status)
  if (node.status === 'pending') notes.write(notes.style.dim(`waiting for "${node.path}" to start…\n`))
  try {
    for (;;) {
      const current = await stat(file).catch(() => null)
      if (current !== null && (reader === null || current.ino !== reader.ino)) {
        if (reader !== null) {
          // The file was set aside for a retry: finish it, then switch to the new one.
          await drain(reader)
          await reader.handle.close()
          notes.write(notes.style.dim(`--- ${node.path}: next attempt ---\n`))
        }
        reader = { handle: await open(file, 'r'), ino: current.ino, offset: 0 }
      }
      if (reader !== null) await drain(reader)
      if (ended) break
      if (performance.now() - lastStatusCheck >= POLL_STATUS_MS) {
        node = await db.getNode(runId, node.path)
        lastStatusCheck = performance.now()
        file = fileOf(node)
        // One more pass reads what was written before the end was recorded.
        if (!ACTIVE.has(node.status)) ended = true
        continue
      }
      await sleep(POLL_FILE_MS)
    }
  } finally {
    await reader?.handle.close()
  }
  if (node.status === 'skipped') notes.write(notes.style.dim(`"${node.path}" was skipped: ${node.skipReason ?? 'no reason recorded'}\n`))
}

/** Copies what was appended since `offset` to stdout, respecting backpressure. */
async function drain(reader: { handle: FileHandle; offset: number }): Promise<void> {
  const buffer = Buffer.alloc(64 * 1024)
  for (;;) {
    const { bytesRead } = await reader.handle.read(buffer, 0, buffer.length, reader.offset)
    if (bytesRead === 0) return
    reader.offset += bytesRead
    if (!process.stdout.write(Buffer.from(buffer.subarray(0, bytesRead)))) {
      await new Promise<void>(resolve => process.stdout.once('drain', () => resolve()))
    }
  }
}
