/**
 * Entry of the child process of a Func with `isolation: 'process'` (forked by process-pool.ts
 * from `dist/executables/func/process-entry.js`): one function per process.
 *
 * Gets its task as the first IPC message, imports the module (tsx first for TypeScript), calls
 * the function, sends how it ended, and exits: nothing it left behind outlives it. Its console
 * and process.stdout/stderr are the process's own, piped to the node's artifacts by the parent.
 */
import { serializeError } from '../../errors/errors.js'
import type { SerializedError } from '../../interfaces.js'
import type { ProcessTask, ProcessResponse } from './process-protocol.js'
import { toResultJson } from './result-json.js'

process.once('message', (task: ProcessTask) => {
  run(task).then(
    response => finish(response),
    error => finish({ error: toSerializedError(error) }),
  )
})

async function run(task: ProcessTask): Promise<ProcessResponse> {
  if (/\.(c|m)?tsx?$/i.test(new URL(task.moduleUrl).pathname)) {
    const { register } = await import('tsx/esm/api')
    register()
  }
  const namespace = (await import(task.moduleUrl)) as Record<string, unknown>
  const fn = namespace[task.exportName]
  if (typeof fn !== 'function') {
    throw new Error(`${task.moduleUrl} has no exported function "${task.exportName}" when its process imports it (found ${fn === undefined ? 'nothing' : typeof fn})`)
  }
  const args = task.args.slice()
  if (task.artifacts !== undefined) {
    const { FileArtifact } = await import('./artifact.js')
    for (const artifact of task.artifacts) args[artifact.index] = new FileArtifact(artifact.name, artifact.path, artifact.size)
  }
  let value: unknown
  try {
    value = await (fn as (...args: unknown[]) => unknown)(...args)
  } catch (error) {
    return { error: withoutEntryFrames(toSerializedError(error)) }
  }
  return { resultJson: toResultJson(value) }
}

/** Sends the response, then exits once stdout and stderr are flushed. */
function finish(response: ProcessResponse): void {
  process.send!(response, () => {
    process.stdout.write('', () => process.stderr.write('', () => process.exit(0)))
  })
}

function withoutEntryFrames(error: SerializedError): SerializedError {
  if (error.stack === undefined) return error
  const lines = error.stack.split('\n')
  const cut = lines.findIndex(line => /process-entry\.js/.test(line))
  return cut === -1 ? error : { ...error, stack: lines.slice(0, cut).join('\n') }
}

function toSerializedError(error: unknown): SerializedError {
  try {
    return serializeError(error)
  } catch {
    return { name: 'Error', message: String(error) }
  }
}
