import { CliError, ExitCode } from '../errors.js'
import { openHistoryForReading, readConfig } from '../history.js'
import { outputFor, shortId, writeOut } from '../terminal.js'

/** `wtflow cache explain RUN_ID NODE_PATH [--json]`: the key's parts, and which differ from the entry it was compared with. */
export async function cacheExplainCommand(runId: string, nodePath: string, options: { json?: boolean; config?: string }): Promise<number> {
  const config = await readConfig(options.config)
  const db = await openHistoryForReading(config)
  if (db === null) throw new CliError(`no run with id "${runId}": no run has been recorded yet.`)
  try {
    const cache = await db.getNodeCache(runId, nodePath)
    if (cache === null) throw new CliError(`"${nodePath}" in run ${shortId(runId)} has no cache key: it has no \`cache\` option, or it did not get as far as computing one (it was skipped, or caching was off).`)
    const against = cache.comparedWith?.parts ?? null
    const names = [...new Set([...Object.keys(cache.parts), ...Object.keys(against ?? {})])]
    const rows = names.map(name => {
      const mine = cache.parts[name] ?? null
      const theirs = against === null ? null : (against[name] ?? null)
      return { part: name, hash: mine, entry: theirs, same: against !== null && mine === theirs }
    })
    const differ = rows.filter(row => !row.same).map(row => row.part)
    if (options.json === true) {
      writeOut(process.stdout, `${JSON.stringify({ runId: cache.runId, path: cache.path, status: cache.status, key: cache.key, hit: cache.hit, comparedWith: cache.comparedWith === null ? null : { key: cache.comparedWith.key, runId: cache.comparedWith.runId }, parts: rows, differ: against === null ? null : differ }, null, 2)}\n`)
      return ExitCode.ok
    }
    const out = outputFor(process.stdout)
    const style = out.style
    const lines = [`${style.bold(cache.path)} in run ${shortId(cache.runId)}: key ${cache.key.slice(0, 16)}…  ${cache.hit ? style.green('hit') : style.yellow('miss')}`]
    lines.push(
      cache.comparedWith === null
        ? style.dim('no earlier entry of this node to compare with: its first run with this cache')
        : style.dim(`compared with the entry of run ${shortId(cache.comparedWith.runId)} (key ${cache.comparedWith.key.slice(0, 16)}…)`),
    )
    const width = Math.max(...rows.map(row => row.part.length))
    for (const row of rows) {
      const state = against === null ? '' : row.same ? style.dim('same') : row.hash === null ? style.yellow('only in the entry') : row.entry === null ? style.yellow('new') : style.red('differs')
      lines.push(`  ${row.part.padEnd(width)}  ${(row.hash ?? '-').slice(0, 12).padEnd(12)}  ${state}`)
    }
    if (against !== null) lines.push(differ.length === 0 ? style.dim('every part is the same') : `differs: ${differ.join(', ')}`)
    lines.push(style.dim('parts are sha256 hashes: values (environment variables, keys) are never stored in clear'))
    out.write(`${lines.join('\n')}\n`)
    return ExitCode.ok
  } finally {
    await db.close()
  }
}

/** `wtflow cache clear [--workflow NAME] [--node PATH]` */
export async function cacheClearCommand(options: { workflow?: string; node?: string; config?: string }): Promise<number> {
  if (options.node !== undefined && options.workflow === undefined) throw new CliError('--node needs --workflow: node paths are per workflow.')
  const config = await readConfig(options.config)
  const db = await openHistoryForReading(config)
  if (db === null) {
    writeOut(process.stdout, 'the cache is empty: no history yet\n')
    return ExitCode.ok
  }
  try {
    const filter: { workflow?: string; path?: string } = {}
    if (options.workflow !== undefined) filter.workflow = options.workflow
    if (options.node !== undefined) filter.path = options.node
    const count = await db.cacheStore().clear(filter)
    writeOut(process.stdout, `cleared ${count} cache entr${count === 1 ? 'y' : 'ies'}\n`)
    return ExitCode.ok
  } finally {
    await db.close()
  }
}
