/** Func executables: exported TypeScript functions run in worker threads. */
export { Func, type AnyFunction, type FuncArgsOption, type FuncLocation, type FuncOptions } from './func.js'
export { FileArtifact } from './artifact.js'
export { ResultNotSerializableError } from './result-json.js'
