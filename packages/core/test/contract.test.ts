import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { renderErrorCodeTable } from '../src/errors/table.js'
import * as core from '../src/index.js'
import * as internal from '../src/internal.js'

describe('the public contract of @wtflow/core', () => {
  it('exports exactly these values (types aside); anything else belongs under @wtflow/core/internal', () => {
    expect(Object.keys(core).sort()).toMatchInlineSnapshot(`
      [
        "ArtifactRef",
        "CONFIG_KEYS",
        "Command",
        "ConfigError",
        "ERROR_CODES",
        "Engine",
        "Env",
        "Executable",
        "FileArtifact",
        "Func",
        "Http",
        "InputRef",
        "Node",
        "NodeFailure",
        "PlanNode",
        "PluginError",
        "ResultNotSerializableError",
        "ResultRef",
        "RunPlan",
        "TypedEmitter",
        "ValidationError",
        "Workflow",
        "WtflowError",
        "createExecutable",
        "decideReuse",
        "definePlugin",
        "describeConfig",
        "describeDatabase",
        "inputRef",
        "isExecutable",
        "isInputRef",
        "isPlugin",
        "isRef",
        "isWorkflow",
        "isWtflowError",
        "loadConfig",
        "loadPlugin",
        "planFromDocument",
        "redactUrlPassword",
        "resolveInputs",
        "serializeError",
        "toNodeDocument",
        "toRunDocument",
        "usePlugin",
        "validateWorkflow",
      ]
    `)
    expect(Object.keys(internal).sort()).toMatchInlineSnapshot(`
      [
        "BUILTIN_PLUGINS",
        "INTERRUPT_SIGNALS",
        "Interrupts",
        "PROCESS_MARKER",
        "assembleNode",
        "cacheKey",
        "durationMs",
        "encodePathSegment",
        "findMarkedProcesses",
        "hashFiles",
        "killAllProcessGroups",
        "maskDeep",
        "maskError",
        "maskSecrets",
        "nodeArtifactDir",
        "preloadCommandRuntime",
        "renderErrorCodeTable",
        "renderExampleIni",
        "retryDelay",
        "terminateMarkedProcesses",
      ]
    `)
  })

  it('documents every error code in the README (regenerate the table with `npm run docs`)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    const table = /<!-- error-codes:start -->\n([\s\S]*?)\n<!-- error-codes:end -->/.exec(readme)?.[1]
    expect(table).toBe(renderErrorCodeTable())
  })
})
