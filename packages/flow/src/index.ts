/**
 * @wtflow/flow: declarative flows. A YAML or JSON file becomes the same Workflow a TypeScript
 * script builds, run by the same engine; `${{ }}` expressions (GitHub Actions' language) are
 * evaluated when a step starts and never become shell text.
 */
export { loadFlow, parseFlow, isFlowFile, FLOW_EXTENSIONS, type FlowOptions, type LoadedFlow, type ParseFlowOptions } from './loader.js'
export { FlowError, formatDiagnostic, type FlowDiagnostic } from './diagnostics.js'
export { flowJsonSchema, FlowSchema, StepSchema, type Flow, type FlowDocument, type Step, type FlowInput, type HttpStep, type FuncStep, type CacheOption } from './schema.js'
export type { FlowFormat } from './source.js'
