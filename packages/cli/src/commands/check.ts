import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { isWtflowError, validateWorkflow } from '@wtflow/core'
import type ts from 'typescript'
import { CliError, ExitCode, sentence } from '../errors.js'
import type { CheckCommandOptions } from '../main.js'
import { DEFAULT_SCRIPT, loadScript } from '../script.js'
import { outputFor } from '../terminal.js'
import { plural } from '../display/display.js'

type TypeScript = typeof ts

const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx'])

/**
 * `wtflow check [FILE]`: type-checks a TypeScript script with TypeScript's own checker (the
 * project's tsconfig.json if there is one) and validates every workflow's tree; runs nothing.
 * Exit 0 when both pass, 2 when either finds a problem.
 */
export async function checkCommand(fileArg: string | undefined, options: CheckCommandOptions): Promise<number> {
  const file = path.resolve(fileArg ?? DEFAULT_SCRIPT)
  if (!existsSync(file)) throw new CliError(`workflow script ${fileArg ?? DEFAULT_SCRIPT} not found. Check the path (it is resolved from ${process.cwd()}).`)
  const out = outputFor(process.stdout)
  const style = out.style
  const shown = path.relative(process.cwd(), file) || file
  let problems = 0

  if (TYPESCRIPT_EXTENSIONS.has(path.extname(file).toLowerCase())) {
    const typescript = loadTypeScript(file)
    const { diagnostics, configFile } = typeCheck(typescript, file, options.project)
    const where = configFile === null ? 'no tsconfig.json found: strict defaults' : `with ${path.relative(process.cwd(), configFile) || configFile}`
    if (diagnostics.length === 0) {
      out.write(`${style.green('✓')} types: ${shown} type-checks (TypeScript ${typescript.version}, ${where})\n`)
    } else {
      problems += diagnostics.length
      const host: ts.FormatDiagnosticsHost = {
        getCanonicalFileName: name => name,
        getCurrentDirectory: () => process.cwd(),
        getNewLine: () => '\n',
      }
      const text = style.enabled ? typescript.formatDiagnosticsWithColorAndContext(diagnostics, host) : typescript.formatDiagnostics(diagnostics, host)
      out.write(`${text.trimEnd()}\n${style.red('✗')} types: ${plural(diagnostics.length, 'error')} in ${shown} (TypeScript ${typescript.version}, ${where})\n`)
    }
  }

  // Loading runs the script's top level, as `wtflow run` would; nothing is started.
  const script = await loadScript(fileArg)
  for (const { workflow } of script.workflows) {
    try {
      const plan = await validateWorkflow(workflow)
      out.write(`${style.green('✓')} workflow "${workflow.name}": ${plural(plan.nodes.length, 'node')}, valid\n`)
    } catch (error) {
      if (!isWtflowError(error, 'WTFLOW_VALIDATION')) throw error
      problems++
      out.write(`${style.red('✗')} workflow "${workflow.name}" is invalid: ${sentence(error.message)}\n`)
    }
  }
  return problems === 0 ? ExitCode.ok : ExitCode.usage
}

/** The project's TypeScript (next to the script), else the one installed with wtflow. */
function loadTypeScript(file: string): TypeScript {
  for (const from of [file, fileURLToPath(import.meta.url)]) {
    try {
      return createRequire(from)('typescript') as TypeScript
    } catch {
      // Not installed there.
    }
  }
  throw new CliError('wtflow check uses TypeScript\'s own checker, and TypeScript is not installed here: `npm install --save-dev typescript`.')
}

function typeCheck(tsc: TypeScript, file: string, project: string | undefined): { diagnostics: readonly ts.Diagnostic[]; configFile: string | null } {
  const configFile = project !== undefined ? path.resolve(project) : (tsc.findConfigFile(path.dirname(file), tsc.sys.fileExists) ?? null)
  let options: ts.CompilerOptions = {
    strict: true,
    target: tsc.ScriptTarget.ES2022,
    module: tsc.ModuleKind.NodeNext,
    moduleResolution: tsc.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    esModuleInterop: true,
  }
  if (configFile !== null) {
    const parsed = tsc.getParsedCommandLineOfConfigFile(configFile, {}, {
      ...tsc.sys,
      onUnRecoverableConfigFileDiagnostic: diagnostic => {
        throw new CliError(`cannot read ${configFile}: ${tsc.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`)
      },
    })
    if (parsed === undefined) throw new CliError(`cannot read ${configFile}.`)
    options = parsed.options
  }
  // Only the script (and what it imports) is checked, whatever the tsconfig includes; nothing is written.
  const program = tsc.createProgram([file], { ...options, noEmit: true, emitDeclarationOnly: false, declaration: false, declarationMap: false, composite: false, incremental: false, tsBuildInfoFile: undefined })
  return { diagnostics: tsc.getPreEmitDiagnostics(program), configFile }
}
