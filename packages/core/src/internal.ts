/**
 * @wtflow/core/internal: what the other wtflow packages need of core and users do not. No
 * stability promise: it changes with them.
 */
export { killAllProcessGroups } from './process-groups.js'
export { preloadCommandRuntime } from './executables/command.js'
export { encodePathSegment, nodeArtifactDir } from './artifacts/artifact-store.js'
export { Interrupts, INTERRUPT_SIGNALS, type InterruptHandlers } from './engine/signals.js'
export { renderExampleIni } from './config/example.js'
export { renderErrorCodeTable } from './errors/table.js'
export { retryDelay } from './engine/retry.js'
export { maskSecrets, maskDeep, maskError } from './artifacts/redactor.js'
export { findMarkedProcesses, terminateMarkedProcesses, PROCESS_MARKER } from './process-groups.js'
export { BUILTIN_PLUGINS } from './executables/builtins.js'
export { assembleNode } from './model/node.js'
export { durationMs } from './config/values.js'
