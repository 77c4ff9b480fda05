/** Messages between the engine and the child process of a Func with `isolation: 'process'`. */
import type { SerializedError } from '../../interfaces.js'
import type { ArtifactArg } from './protocol.js'

/** parent → child, once: the function to run. */
export interface ProcessTask {
  moduleUrl: string
  exportName: string
  args: unknown[]
  artifacts?: ArtifactArg[] | undefined
}

/** child → parent, once: how the function ended (absent when the process died first). */
export interface ProcessResponse {
  resultJson?: string | undefined
  error?: SerializedError | undefined
}
