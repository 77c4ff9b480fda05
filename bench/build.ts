/**
 * Child processes run plain JavaScript, not tsx: tsx would add ~40 MB RSS and ~250 ms of
 * start-up to every measured process. This transpiles bench/src/** (no type check: `npm run
 * lint` does that) into node_modules/.cache/wtflow-bench, where packages resolve as usual.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const here = path.dirname(fileURLToPath(import.meta.url))
export const SRC_DIR = path.join(here, 'src')
export const CACHE_DIR = path.join(here, 'node_modules', '.cache', 'wtflow-bench')

/** Transpiles every .ts file of src/ into a directory of its own (runs may overlap) and returns it. */
export function buildChildren(): string {
  removeStaleBuilds()
  const dir = path.join(CACHE_DIR, `run-${process.pid}`)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  // Inside node_modules there is no package scope: declare ESM explicitly.
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }) + '\n')
  for (const file of walk(SRC_DIR)) {
    const source = fs.readFileSync(file, 'utf8')
    const { outputText, diagnostics } = ts.transpileModule(source, {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023, verbatimModuleSyntax: true, sourceMap: false },
    })
    if (diagnostics?.length) {
      throw new Error(`cannot transpile ${file}: ${ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, '\n')}`)
    }
    const target = path.join(dir, path.relative(SRC_DIR, file)).replace(/\.ts$/, '.js')
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.writeFileSync(target, outputText)
  }
  return dir
}

/** Removes the build directories of bench runs that are no longer running (killed ones). */
function removeStaleBuilds(): void {
  if (!fs.existsSync(CACHE_DIR)) return
  for (const entry of fs.readdirSync(CACHE_DIR)) {
    const pid = Number(/^run-(\d+)$/.exec(entry)?.[1])
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue
    fs.rmSync(path.join(CACHE_DIR, entry), { recursive: true, force: true })
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function* walk(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) yield* walk(full)
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield full
  }
}
