import type { LoadedScript, LoadScriptOptions } from './script.js'
import { CliError } from './errors.js'

/**
 * Loads a declarative flow (.yaml, .yml, .json) as `wtflow run` and `list` load a script: one
 * workflow, plus its document (stored with the run) and the secret values to mask.
 */
export async function loadFlowScript(file: string, shown: string, options: LoadScriptOptions): Promise<LoadedScript> {
  const { loadFlow, FlowError } = await import('@wtflow/flow')
  try {
    const flow = await loadFlow(file, { inputs: options.inputs, secrets: options.secrets, displayName: shown, structureOnly: options.structureOnly })
    return {
      file,
      shown,
      workflows: [{ exportName: 'default', workflow: flow.workflow }],
      document: { format: flow.format, text: flow.text },
      secrets: flow.secrets,
    }
  } catch (error) {
    if (error instanceof FlowError) throw new CliError(error.message, { cause: error })
    throw error
  }
}
