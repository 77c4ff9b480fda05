/**
 * @wtflow/core: the tree model, the engine, the executables, the artifact store, configuration
 * and lifecycle events. Knows nothing of databases or HTTP servers.
 */
export type * from './interfaces.js'
export { WtflowError, ValidationError, ConfigError, NodeFailure, isWtflowError, serializeError } from './errors/errors.js'
export { ERROR_CODES, type ErrorCode } from './errors/codes.js'
export { InputRef, inputRef, isInputRef, resolveInputs, type InputSpec } from './model/inputs.js'
export { ArtifactRef, ResultRef, isRef, type ArgFor, type ArgsFor, type Ref } from './model/refs.js'
export {
  Executable,
  isExecutable,
  type ExecutableCapabilities,
  type ExecutableSpec,
  type ExecutionContext,
  type ExecutionOutcome,
  type ResolvedRef,
  type RunResources,
  type RunWarmUp,
  type StopReason,
} from './model/executable.js'
export { Node, Workflow, isWorkflow, type CacheOptions, type NodeOptions, type WhenContext, type WhenPredicate, type WorkflowOptions } from './model/node.js'
export { RunPlan } from './plan/run-plan.js'
export { PlanNode } from './plan/plan-node.js'
export { planFromDocument, type PlanFromDocumentOptions } from './plan/from-document.js'
export { validateWorkflow, type ValidateOptions } from './plan/validate.js'
export type { ExecutableFactory, NodeOptionsDocument, PlanDocument, PlanNodeDocument } from './plan/serialize.js'
export {
  loadConfig,
  describeConfig,
  CONFIG_KEYS,
  type ConfigKey,
  type ConfigOverrides,
  type DatabaseTarget,
  type LoadConfigOptions,
  type OutputLogsMode,
  type WtflowConfig,
} from './config/config.js'
export { describeDatabase, redactUrlPassword } from './config/values.js'
export { TypedEmitter } from './events.js'
export { Engine, type EngineOptions, type RunOptions } from './engine/engine.js'
export type { CacheEntry, CacheStore, NodeCacheInfo, RunCache } from './engine/cache.js'
export {
  decideReuse,
  type DecideReuseOptions,
  type PreviousNode,
  type PreviousRun,
  type ReuseDecision,
  type ReusedNode,
  type ReuseReason,
  type RunReuse,
} from './engine/reuse.js'
export { Command, type CommandArg, type CommandOptions } from './executables/command.js'
export {
  Func,
  FileArtifact,
  ResultNotSerializableError,
  type AnyFunction,
  type FuncArgsOption,
  type FuncIsolation,
  type FuncLocation,
  type FuncOptions,
  type FuncRunOptions,
} from './executables/func/index.js'
export { Http, type HttpBody, type HttpOptions, type HttpResult } from './executables/http.js'
export { Env, type EnvOptions, type EnvResult } from './executables/env.js'
export {
  definePlugin,
  isPlugin,
  createExecutable,
  PluginError,
  type Plugin,
  type PluginContext,
  type PluginDefinition,
  type PluginErrorReason,
  type PluginLike,
} from './plugins/plugin.js'
export { loadPlugin, type LoadPluginOptions } from './plugins/load.js'
export { usePlugin, type UsePluginOptions } from './plugins/use-plugin.js'
export type { StandardSchemaV1 } from './plugins/standard-schema.js'
export {
  toRunDocument,
  toNodeDocument,
  type ArtifactDocument,
  type NodeDocument,
  type RunDocument,
  type RunSummary,
} from './document.js'
