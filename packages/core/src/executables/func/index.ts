/** Func executables: exported TypeScript functions run in worker threads. */
export { Func, type AnyFunction, type FuncArgsOption, type FuncIsolation, type FuncLocation, type FuncOptions, type FuncRunOptions } from './func.js'
export { FileArtifact } from './artifact.js'
export { ResultNotSerializableError } from './result-json.js'
