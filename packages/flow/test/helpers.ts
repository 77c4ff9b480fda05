import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Engine, loadConfig, type RunResult } from '@wtflow/core'
import { FlowError, formatDiagnostic, loadFlow, type FlowOptions, type LoadedFlow } from '../src/index.js'

export const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url))

/** A temporary directory with the fixture modules in it; `cleanup()` removes it. */
export function workspace(): { dir: string; write(name: string, text: string): string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wtflow-flow-'))
  for (const file of ['tasks.ts', 'record.mjs']) copyFileSync(path.join(FIXTURES, file), path.join(dir, file))
  // As in a user's project: TypeScript modules with `export` in an ES module package.
  writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n')
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name)
      writeFileSync(file, text)
      return file
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** The diagnostics of a flow that must not load, formatted; the file is shown by its base name. */
export async function problemsOf(file: string, options: FlowOptions = {}): Promise<string[]> {
  try {
    await loadFlow(file, { env: {}, ...options, displayName: path.basename(file) })
  } catch (error) {
    if (error instanceof FlowError) return error.diagnostics.map(formatDiagnostic)
    throw error
  }
  throw new Error(`${file} loaded without a problem`)
}

/** Runs a loaded flow on an engine of its own (no history), artifacts under `dir`. */
export async function runFlow(flow: LoadedFlow, dir: string): Promise<RunResult> {
  const config = loadConfig({ cwd: dir, env: {}, overrides: { dbUrl: 'none', artifactsDir: path.join(dir, 'artifacts') } })
  return new Engine({ config, cwd: dir, secrets: flow.secrets, handleSignals: false }).run(flow.workflow)
}
