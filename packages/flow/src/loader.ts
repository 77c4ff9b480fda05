import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { WtflowError, type Workflow } from '@wtflow/core'
import { buildWorkflow } from './build.js'
import { compileFlow } from './compile.js'
import { FlowError, formatPath, type FlowDiagnostic, type Problem, type Target } from './diagnostics.js'
import { issueProblems } from './issues.js'
import { FlowScope } from './runtime.js'
import { FlowSchema } from './schema.js'
import { parseText, SourceLocator, type FlowFormat } from './source.js'

/** Extensions of flow files, and their formats. */
export const FLOW_EXTENSIONS: Readonly<Record<string, FlowFormat>> = { '.yaml': 'yaml', '.yml': 'yaml', '.json': 'json' }

/** True for a path `loadFlow` reads (`.yaml`, `.yml`, `.json`). */
export function isFlowFile(file: string): boolean {
  return Object.hasOwn(FLOW_EXTENSIONS, path.extname(file).toLowerCase())
}

export interface FlowOptions {
  /** Values of the flow's inputs (`--input NAME=VALUE`). */
  inputs?: Readonly<Record<string, string>> | undefined
  /** Configured secrets (the `[secrets]` of wtflow.ini, `config.secrets`). */
  secrets?: Readonly<Record<string, string>> | undefined
  /** Where declared secrets that are not configured are read from (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>> | undefined
  /** The file as messages show it (default: relative to the working directory). */
  displayName?: string | undefined
  /**
   * Check everything but the values of inputs and secrets: a required input without a value or a
   * secret that is not configured is no problem (`wtflow list`). The workflow is not for running.
   */
  structureOnly?: boolean | undefined
}

export interface ParseFlowOptions extends FlowOptions {
  /** The flow's path: `func.module` paths are relative to it; messages name it. */
  file: string
  format: FlowFormat
}

/** A flow file, checked and built. */
export interface LoadedFlow {
  /** Absolute path. */
  file: string
  format: FlowFormat
  /** The document's text, as read (history stores it with the run). */
  text: string
  workflow: Workflow
  /** Every input's value: given, else its default. */
  inputs: Record<string, string>
  /** Values of the flow's secrets: give them to the engine (`new Engine({ secrets })`) so that they are masked. */
  secrets: string[]
}

/**
 * Reads a flow file (`.yaml`, `.yml`, `.json`) and builds its Workflow; nothing runs. Every
 * problem of the file is reported at once, as a `FlowError` (code `WTFLOW_FLOW_INVALID`) whose
 * diagnostics name file, line and column.
 *
 * @example
 * const flow = await loadFlow('ci.yaml', { inputs: { day: 'today' }, secrets: config.secrets })
 * const result = await new Engine({ config, secrets: flow.secrets }).run(flow.workflow)
 */
export async function loadFlow(file: string, options: FlowOptions = {}): Promise<LoadedFlow> {
  const absolute = path.resolve(file)
  const format = FLOW_EXTENSIONS[path.extname(absolute).toLowerCase()]
  if (format === undefined) throw new WtflowError('WTFLOW_FLOW_FILE', `${file} is not a flow file: flows are .yaml, .yml or .json files`)
  let text: string
  try {
    text = await readFile(absolute, 'utf8')
  } catch (error) {
    throw new WtflowError('WTFLOW_FLOW_FILE', `cannot read the flow file ${file}: ${(error as Error).message}. Check the path.`, { cause: error })
  }
  return parseFlow(text, { ...options, file: absolute, format })
}

/** Checks and builds a flow from its text (a file's, or a document sent to a server). */
export async function parseFlow(text: string, options: ParseFlowOptions): Promise<LoadedFlow> {
  const file = path.resolve(options.file)
  const shown = options.displayName ?? displayName(file)
  const locator = new SourceLocator(text)
  const fail = (problems: readonly Problem[]): never => {
    throw new FlowError(shown, problems.map(problem => diagnostic(shown, locator, problem)))
  }

  const parsed = parseText(text, options.format)
  if (!parsed.ok) throw new FlowError(shown, parsed.problems.map(p => ({ file: shown, ...p.position, path: '', message: p.message })))

  const problems: Problem[] = []
  const checked = FlowSchema.safeParse(parsed.value, { reportInput: true })
  if (!checked.success) problems.push(...issueProblems(checked.error.issues))
  const compiled = await compileFlow(
    parsed.value,
    { file, inputs: options.inputs ?? {}, secrets: options.secrets ?? {}, env: options.env ?? process.env, structureOnly: options.structureOnly === true },
    problems,
  )
  if (problems.length > 0 || !checked.success || compiled === null) fail(sortProblems(problems, locator))

  const scope = new FlowScope(compiled!.inputs, compiled!.secrets, (at, target) => {
    const { line, column } = locator.locate(at, target)
    return `${shown}:${line}:${column}: ${formatPath(at)}`
  })
  return {
    file,
    format: options.format,
    text,
    workflow: buildWorkflow(checked.data!, compiled!, scope, file),
    inputs: compiled!.inputs,
    secrets: Object.values(compiled!.secrets),
  }
}

function diagnostic(file: string, locator: SourceLocator, problem: Problem): FlowDiagnostic {
  const { line, column } = locator.locate(problem.path, problem.target)
  return { file, line, column, path: formatPath(problem.path), message: problem.message }
}

/** In the order of the file, each problem once. */
function sortProblems(problems: Problem[], locator: SourceLocator): Problem[] {
  const keyed = problems.map(problem => ({ problem, position: locator.locate(problem.path, problem.target as Target | undefined), text: `${formatPath(problem.path)}\0${problem.message}` }))
  const seen = new Set<string>()
  return keyed
    .sort((a, b) => a.position.line - b.position.line || a.position.column - b.position.column)
    .filter(({ text }) => !seen.has(text) && seen.add(text))
    .map(({ problem }) => problem)
}

function displayName(file: string): string {
  const relative = path.relative(process.cwd(), file)
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file
}

