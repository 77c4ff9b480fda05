/**
 * @wtflow/core: the tree model, the engine, the executables, the artifact store, configuration
 * and lifecycle events. Knows nothing of databases or HTTP.
 */
export type * from './interfaces.js'
export { WtflowError, ValidationError, ConfigError, NodeFailure, serializeError } from './errors.js'
export {
  Node,
  Workflow,
  Executable,
  ArtifactRef,
  ResultRef,
  isRef,
  isWorkflow,
  type ArgFor,
  type ArgsFor,
  type ExecutionContext,
  type ExecutionOutcome,
  type NodeOptions,
  type Ref,
  type ResolvedRef,
  type RunResources,
  type RunWarmUp,
  type StopReason,
  type WhenContext,
  type WorkflowOptions,
} from './model.js'
export {
  loadConfig,
  describeConfig,
  describeDatabase,
  redactUrlPassword,
  CONFIG_KEYS,
  type ConfigKey,
  type ConfigOverrides,
  type DatabaseTarget,
  type LoadConfigOptions,
  type WtflowConfig,
} from './config.js'
export { TypedEmitter } from './events.js'
export { Engine, type EngineOptions, type RunOptions } from './engine.js'
export { killAllProcessGroups } from './process-groups.js'
export { Command, preloadCommandRuntime, type CommandArg, type CommandOptions } from './command.js'
export { encodePathSegment, nodeArtifactDir } from './artifact-store.js'
// -- Func executables (owned by src/func/) --
export {
  Func,
  FileArtifact,
  ResultNotSerializableError,
  type AnyFunction,
  type FuncArgsOption,
  type FuncLocation,
  type FuncOptions,
} from './func/index.js'
// -- end Func --
export {
  toRunDocument,
  toNodeDocument,
  type ArtifactDocument,
  type NodeDocument,
  type RunDocument,
  type RunSummary,
} from './document.js'
