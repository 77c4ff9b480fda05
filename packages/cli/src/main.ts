import { readFileSync } from 'node:fs'
import { CONFIG_KEYS, type OutputLogsMode } from '@wtflow/core'
import { durationMs } from '@wtflow/core/internal'
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { CliError, ExitCode, exitCodeOf, printError } from './errors.js'
import { survivePipeClose } from './terminal.js'

/** Options of `wtflow run`. */
export interface RunCommandOptions {
  /** `-w NAME`, repeatable: these workflows, in this order. */
  workflow?: string[]
  dryRun?: boolean
  config?: string
  json?: boolean
  /** `--input NAME=VALUE`, repeatable: a flow's inputs. */
  input?: Record<string, string>
  /** `--inputs-file x.json`: more inputs; `--input` wins. */
  inputsFile?: string
  /** `--output-logs`: what is printed of the nodes' output while the run goes (default: `[run] output_logs`). */
  outputLogs?: OutputLogsMode
  outputLogsGrouped?: boolean
  /** `text` (default: the live tree on a terminal, plain lines otherwise) or `json` (one JSON line per lifecycle event on stderr). */
  logFormat?: 'text' | 'json'
  /** `--no-cache` sets it false. */
  cache?: boolean
  refreshCache?: boolean
}

export interface CheckCommandOptions {
  /** A tsconfig.json other than the nearest one. */
  project?: string
}

export interface ListCommandOptions {
  json?: boolean
}

export interface RunsCommandOptions {
  workflow?: string
  status?: string
  /** Default 20 for the table, every match with --json. */
  limit?: number
  all?: boolean
  /** From `--since 2d`: runs started at or after. */
  since?: Date
  json?: boolean
  config?: string
}

export interface ShowCommandOptions {
  json?: boolean
  config?: string
}

export interface ServeCommandOptions {
  host?: string
  port?: number
  token?: string
  runOnStart?: boolean
  allowInlineFlows?: boolean
  config?: string
}

export interface CancelCommandOptions {
  /** `--no-wait`: return once the request is made. */
  wait?: boolean
  config?: string
}

export interface ResumeCommandOptions {
  cache?: boolean
  refreshCache?: boolean
  rerun?: string[]
  script?: string
  json?: boolean
  config?: string
  logFormat?: 'text' | 'json'
}

export interface GcCommandOptions {
  /** Milliseconds. */
  olderThan?: number
  keepLast?: number
  status?: string[]
  dryRun?: boolean
  json?: boolean
  vacuum?: boolean
  config?: string
}

export interface LogsCommandOptions {
  stderr?: boolean
  /** 1-based; the last attempt by default. */
  attempt?: number
  /** A declared artifact (or `result`) instead of stdout. */
  artifact?: string
  follow?: boolean
  config?: string
}

const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'crashed']

const CONFIG_HELP = 'INI configuration file (default: $WTFLOW_CONFIG, else wtflow.ini of the project root: the nearest directory from here up with wtflow.ini or .wtflow/)'

/**
 * Runs the `wtflow` command line and resolves to the exit code: 0 success, 1 a node failed,
 * 2 usage, validation or configuration error, 130 interrupted. Command modules are imported
 * only when their command runs, so `wtflow runs` never pays for the engine or tsx.
 *
 * @example
 * process.exitCode = await main(['run', 'wtfile.ts', '--json'])
 */
export async function main(argv: readonly string[]): Promise<number> {
  for (const stream of [process.stdout, process.stderr]) survivePipeClose(stream)
  let exitCode: number = ExitCode.ok
  const program = buildProgram(code => {
    exitCode = code
  })
  if (argv.length === 0) {
    program.outputHelp({ error: true })
    return ExitCode.usage
  }
  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    }
    printError(error)
    return error instanceof CliError ? error.exitCode : exitCodeOf(error)
  }
  return exitCode
}

function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('wtflow')
    .description('Run tree-structured workflows written in TypeScript, capture every output, query the history.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (text, write) => write(text) })
    .addHelpText(
      'after',
      `
Examples:
  $ wtflow run examples/quickstart.ts     run every workflow of a script
  $ wtflow runs --status failed           the latest failed runs
  $ wtflow show 3f2a9c1e                  one run as a tree (any unique id prefix works)

Exit codes: 0 success, 1 a node failed, 2 usage/validation/config error, 130 interrupted.

${configurationHelp()}`,
    )

  program
    .command('run')
    .summary('run the workflows of a script')
    .description(
      'Load a workflow script (.ts, .mts, .js, .mjs) or a flow file (.yaml, .yml, .json) and run the named workflow, or all of them one after another. ' +
        'The run is recorded in the configured database (SQLite under .wtflow/ by default) and every output is stored as an artifact.',
    )
    .argument('[file]', 'workflow script or flow file (default: wtfile.ts)')
    .option('-w, --workflow <name>', 'run only this workflow (repeatable: -w a -w b runs a, then b)', collectList)
    .option('-i, --input <name=value>', "set an input of the workflow (repeatable); a Workflow declares its inputs, nodes read them as ctx.inputs in when and inputRef('name') as an argument", collectInput)
    .option('--inputs-file <json>', 'read inputs from a JSON object ({"region": "south"}); --input values win')
    .option('-n, --dry-run', 'print the tree (names, executables, parallel or sequential, options) and run nothing')
    .option('--no-cache', 'ignore cache hits: nodes with `cache` run (their new entries are stored when none exists); also WTFLOW_NO_CACHE=1')
    .option('--refresh-cache', 'run every node with `cache` and overwrite its entry')
    .option('-c, --config <ini>', CONFIG_HELP)
    .option('--json', 'print the run document as JSON on stdout (an array for several workflows); progress goes to stderr')
    .addOption(
      new Option(
        '--output-logs <mode>',
        "the nodes' output while the run goes: full (every line, prefixed with the node's path), errors (the output of a node that failed, when it ends), new (each node's output when it ends), none; " +
          'default: [run] output_logs, auto = errors on a terminal, full elsewhere',
      ).choices(['auto', 'full', 'errors', 'new', 'none']),
    )
    .option('--output-logs-grouped', "wrap each node's output in ::group::PATH / ::endgroup:: lines (GitHub Actions, other CI logs); printed when the node ends")
    .addOption(
      new Option('--log-format <format>', 'progress as text (the live tree, or plain lines when not a terminal) or json (every lifecycle event as one JSON line on stderr, secrets masked)')
        .choices(['text', 'json'])
        .default('text'),
    )
    .addHelpText(
      'after',
      `
Examples:
  $ wtflow run                                   runs wtfile.ts
  $ wtflow run examples/ci.ts --workflow ci
  $ wtflow run flows.ts -w lint -w test         two workflows, one after the other
  $ wtflow run examples/etl.ts --dry-run
  $ wtflow run flow.ts --json | jq .status
  $ wtflow run examples/ci.yaml                  a flow file: the same engine, the same history
  $ wtflow run report.yaml --input day=monday
  $ wtflow run deploy.ts --input region=south --inputs-file prod.json
  $ wtflow run ci.ts --output-logs full          every line of every node, prefixed with its path
  $ wtflow run ci.ts --output-logs-grouped       in CI: each node's output in a collapsible group
  $ wtflow run ci.ts --log-format json 2>&1 >/dev/null | jq -c 'select(.event == "node:end") | {path, status}'

Ctrl-C cancels the run (every process is stopped, the run is recorded as cancelled, exit 130);
a second Ctrl-C kills everything at once.`,
    )
    .action(async (file: string | undefined, options: RunCommandOptions) => {
      const { runCommand } = await import('./commands/run.js')
      setExitCode(await runCommand(file, options))
    })

  program
    .command('resume')
    .summary('run a finished run again, reusing what succeeded')
    .description(
      'Start a new run of the same workflow as RUN_ID (from the script recorded with it), reusing the outcome of every node that can be: ' +
        'it succeeded (or was reused) in RUN_ID, its definition is unchanged (command, arguments, options; a Func\'s source text), ' +
        'everything it depends on (parent, after, references) is reused too, and its artifacts still exist. Reused nodes end "cached" and their ' +
        'artifacts are hard-linked into the new run\'s directory; everything else runs. Any finished run can be resumed (failed, cancelled, crashed, succeeded).',
    )
    .argument('<run-id>', 'a run id or any unique prefix of one')
    .option('-r, --rerun <path>', 'run this node and everything under it again, even if it could be reused (repeatable)', collectList)
    .option('--script <file>', 'the script (or flow file) to load the workflow from, if it moved since the run')
    .option('--no-cache', 'ignore cache hits of nodes with `cache` (see wtflow run --help)')
    .option('--refresh-cache', 'run every node with `cache` that is not reused and overwrite its entry')
    .option('--json', 'print the new run document as JSON on stdout; progress goes to stderr')
    .addOption(new Option('--log-format <format>', 'progress as text or json lines on stderr (see wtflow run --help)').choices(['text', 'json']).default('text'))
    .option('-c, --config <ini>', CONFIG_HELP)
    .addHelpText(
      'after',
      `
Examples:
  $ wtflow resume 3f2a9c1e                          re-run what failed, reuse what succeeded
  $ wtflow resume 3f2a --rerun ci/deploy            run ci/deploy (and what is under it) again anyway
  $ wtflow resume 3f2a --script scripts/ci.ts       the script moved since the run

Exit codes as for wtflow run; 2 (nothing run) when the run is still running or unknown, its script is gone,
the script no longer exports the workflow, or the tree's nodes changed. Nodes whose artifacts were deleted run again,
and it says so.`,
    )
    .action(async (runId: string, options: ResumeCommandOptions) => {
      const { resumeCommand } = await import('./commands/resume.js')
      setExitCode(await resumeCommand(runId, options))
    })

  program
    .command('list')
    .summary('list the workflows of a script')
    .description('Show the workflows a script exports, with their node counts.')
    .argument('[file]', 'workflow script or flow file (default: wtfile.ts)')
    .option('--json', 'print them as JSON')
    .addHelpText('after', '\nExamples:\n  $ wtflow list examples/ci.ts\n  $ wtflow list examples/ci.yaml')
    .action(async (file: string | undefined, options: ListCommandOptions) => {
      const { listCommand } = await import('./commands/list.js')
      setExitCode(await listCommand(file, options))
    })

  program
    .command('check')
    .summary('type-check a script and validate its workflows, running nothing')
    .description(
      "Type-check a TypeScript workflow script with TypeScript's own checker (the nearest tsconfig.json, else strict defaults) and validate every workflow's tree " +
        '(names, options, references, dependencies). Nothing runs; exit 0 when all is well, 2 when a type error or an invalid tree is found. ' +
        'Needs TypeScript installed in the project (npm install --save-dev typescript).',
    )
    .argument('[file]', 'workflow script or flow file (default: wtfile.ts)')
    .option('-p, --project <tsconfig>', 'use this tsconfig.json instead of the nearest one')
    .addHelpText('after', '\nExamples:\n  $ wtflow check examples/ci.ts\n  $ wtflow check deploy.ts --project tsconfig.build.json')
    .action(async (file: string | undefined, options: CheckCommandOptions) => {
      const { checkCommand } = await import('./commands/check.js')
      setExitCode(await checkCommand(file, options))
    })

  program
    .command('runs')
    .summary('list recorded runs, newest first')
    .description('List the runs recorded in history, newest first. A run whose process died shows as crashed.')
    .option('-w, --workflow <name>', 'only runs of this workflow')
    .addOption(new Option('-s, --status <status>', 'only runs with this status').choices(RUN_STATUSES))
    .option('-l, --limit <n>', 'at most this many runs (default: 20, or every match with --json)', parsePositiveInt)
    .option('-a, --all', 'every matching run')
    .option('--since <age>', 'only runs started within this age (30m, 12h, 2d, 1w) or since this date (2026-11-01)', parseSince)
    .option('--json', 'print an array of run summaries as JSON (every match unless --limit is given)')
    .option('-c, --config <ini>', CONFIG_HELP)
    .addHelpText('after', '\nExamples:\n  $ wtflow runs\n  $ wtflow runs --workflow ci --status failed --limit 5\n  $ wtflow runs --since 2d --all\n  $ wtflow runs --json | jq -r \'.[0].id\'')
    .action(async (options: RunsCommandOptions) => {
      const { runsCommand } = await import('./commands/runs.js')
      setExitCode(await runsCommand(options))
    })

  program
    .command('show')
    .summary('show one run as a tree')
    .description('Show a run: every node with its status, exit code, duration, attempts and artifact paths.')
    .argument('<run-id>', 'a run id or any unique prefix of one')
    .option('--json', 'print the run document as JSON')
    .option('-c, --config <ini>', CONFIG_HELP)
    .addHelpText('after', '\nExamples:\n  $ wtflow show 3f2a9c1e\n  $ wtflow show 3f2a --json')
    .action(async (runId: string, options: ShowCommandOptions) => {
      const { showCommand } = await import('./commands/show.js')
      setExitCode(await showCommand(runId, options))
    })

  program
    .command('logs')
    .summary("print a node's output")
    .description(
      "Print the stdout (or stderr, or a declared artifact) a node wrote in a run; a stream the node never wrote to prints nothing (exit 0). " +
        'With --follow, keep printing while the node runs (from another terminal) and stop when it ends.',
    )
    .argument('<run-id>', 'a run id or any unique prefix of one')
    .argument('<node-path>', 'the node path, names joined by / (e.g. "Root Node/Node 1")')
    .option('-e, --stderr', 'print stderr instead of stdout')
    .option('-a, --attempt <n>', "an earlier attempt's output (1 is the first; default: the last)", parsePositiveInt)
    .option('--artifact <name>', 'print this artifact of the node (a declared one, or result) instead of stdout')
    .option('-f, --follow', 'wait for more output until the node ends')
    .option('-c, --config <ini>', CONFIG_HELP)
    .addHelpText('after', `\nExamples:\n  $ wtflow logs 3f2a9c1e 'Root Node/Node 1'\n  $ wtflow logs 3f2a9c1e ci/checks/test --stderr --follow
  $ wtflow logs 3f2a9c1e deploy --attempt 1 --stderr     the first of its attempts
  $ wtflow logs 3f2a9c1e build --artifact report`)
    .action(async (runId: string, nodePath: string, options: LogsCommandOptions) => {
      const { logsCommand } = await import('./commands/logs.js')
      setExitCode(await logsCommand(runId, nodePath, options))
    })

  const cache = program
    .command('cache')
    .summary('explain or clear the cache of nodes with `cache`')
    .description('Nodes with a `cache` option reuse the outcome of an earlier run whose key (definition, resolved inputs, files, env, key) is the same. These commands explain a key and clear entries.')
  cache
    .command('explain')
    .summary("show a node's cache key parts and which differ from the entry it was compared with")
    .argument('<run-id>', 'a run id or any unique prefix of one')
    .argument('<node-path>', 'the node path, names joined by /')
    .option('--json', 'print it as JSON')
    .option('-c, --config <ini>', CONFIG_HELP)
    .addHelpText('after', `\nExamples:\n  $ wtflow cache explain 3f2a9c1e ci/build\n  $ wtflow cache explain 3f2a ci/build --json | jq .differ`)
    .action(async (runId: string, nodePath: string, options: { json?: boolean; config?: string }) => {
      const { cacheExplainCommand } = await import('./commands/cache.js')
      setExitCode(await cacheExplainCommand(runId, nodePath, options))
    })
  cache
    .command('clear')
    .summary('delete cache entries (all, or of one workflow or node)')
    .option('-w, --workflow <name>', 'only entries of this workflow')
    .option('--node <path>', 'only entries of this node path (with --workflow)')
    .option('-c, --config <ini>', CONFIG_HELP)
    .addHelpText('after', `\nExamples:\n  $ wtflow cache clear\n  $ wtflow cache clear --workflow ci --node ci/build`)
    .action(async (options: { workflow?: string; node?: string; config?: string }) => {
      const { cacheClearCommand } = await import('./commands/cache.js')
      setExitCode(await cacheClearCommand(options))
    })

  program
    .command('cancel')
    .summary('cancel a run started elsewhere')
    .description(
      'Cancel a run started in another terminal, by `wtflow serve` or on another host: its process groups are stopped as for Ctrl-C ' +
        '(SIGTERM, then SIGKILL after kill_grace_ms) and it is recorded cancelled. The request is recorded in history, where the run\'s ' +
        'process reads it every 2 s (any host); on this host that process also gets SIGTERM at once (after checking by its start time that the pid is still it). ' +
        'Waits until the run is recorded as ended.',
    )
    .argument('<run-id>', 'a run id or any unique prefix of one')
    .option('--no-wait', 'return once the request is made')
    .option('-c, --config <ini>', CONFIG_HELP)
    .addHelpText('after', '\nExamples:\n  $ wtflow cancel 3f2a9c1e\n  $ wtflow cancel "$(wtflow runs --status running --json | jq -r \'.[0].id\')"')
    .action(async (runId: string, options: CancelCommandOptions) => {
      const { cancelCommand } = await import('./commands/cancel.js')
      setExitCode(await cancelCommand(runId, options))
    })

  program
    .command('gc')
    .summary('delete old runs: history rows and artifact directories')
    .description(
      'Delete whole runs (history rows, then artifact directories) that ended before the cutoff, keeping the newest N runs of each workflow whatever their age. ' +
        'A running run is never touched (a crashed one counts as ended). Also removes run directories that history no longer knows (older than the cutoff, or an hour). ' +
        'Prints runs, nodes and bytes freed. Interrupted, it leaves no half-deleted run in history: simply run it again. ' +
        'Without --older-than/--keep-last it applies the [retention] settings, which `wtflow run` also applies after each run, at most once an hour.',
    )
    .option('--older-than <duration>', 'delete runs that ended longer ago than this: 45s, 90m, 12h, 30d, 2w', parseDuration)
    .option('--keep-last <n>', 'keep the newest N runs of each workflow whatever their age (alone: delete all older ones)', parseNonNegativeInt)
    .option('-s, --status <status>', `only runs with this status (repeatable): ${GC_STATUSES.join(', ')}`, collectStatus)
    .option('-n, --dry-run', 'print what would be deleted; delete nothing')
    .option('--json', 'print what was (or would be) deleted as JSON: runs, nodes, bytes, orphanDirs, failures')
    .option('--vacuum', 'then compact the SQLite file (VACUUM), giving the space back to the file system')
    .option('-c, --config <ini>', CONFIG_HELP)
    .addHelpText(
      'after',
      `
Examples:
  $ wtflow gc --older-than 30d --dry-run         what would go
  $ wtflow gc --older-than 30d --keep-last 10    keep at least the 10 newest runs of each workflow
  $ wtflow gc --keep-last 50 --status failed --status cancelled
  $ wtflow gc --older-than 7d --vacuum

Automatic: [retention] older_than = 30d and keep_last = 10 in wtflow.ini (or WTFLOW_RETENTION_OLDER_THAN / _KEEP_LAST)
apply this after each wtflow run, at most once an hour.`,
    )
    .action(async (options: GcCommandOptions) => {
      const { gcCommand } = await import('./commands/gc.js')
      setExitCode(await gcCommand(options))
    })

  program
    .command('schema')
    .summary('print the JSON Schema of flow files')
    .description(
      'Print the JSON Schema of flow files (.yaml, .yml, .json) on stdout, for editors and for programs that write flows. ' +
        'The @wtflow/flow package ships it as schema.json.',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ wtflow schema > flow.schema.json\n  # first line of a flow file, for editor completion (VS Code YAML extension):\n  # yaml-language-server: $schema=./node_modules/@wtflow/flow/schema.json',
    )
    .action(async () => {
      const { flowJsonSchema } = await import('@wtflow/flow')
      process.stdout.write(`${JSON.stringify(flowJsonSchema(), null, 2)}\n`)
    })

  program
    .command('serve')
    .summary('serve the REST API and web UI, and run workflows on request')
    .description(
      'Serve run history, live logs and the web UI over HTTP, and run the workflows of the given scripts on request ' +
        '(POST /api/v1/runs, or the UI). At most [server] max_runs (WTFLOW_SERVER_MAX_RUNS, default 4) run at once; more wait as queued, ' +
        'recorded in history. Starting, cancelling and resuming runs needs the token (printed with the URL; --token or WTFLOW_SERVER_TOKEN to choose it); ' +
        'on a non-loopback address every request needs it.',
    )
    .argument('[files...]', 'workflow scripts whose workflows it runs by name')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'port to listen on (0: any free port)', parsePort, 7070)
    .option('--token <token>', 'the token clients must send (default: $WTFLOW_SERVER_TOKEN, else a new one)')
    .option('--run-on-start', 'run every workflow of the scripts once at start')
    .option('--allow-inline-flows', 'accept POSTed flow documents ({"flow": …}): they run arbitrary commands')
    .option('-c, --config <ini>', CONFIG_HELP)
    .addHelpText(
      'after',
      `
Examples:
  $ wtflow serve examples/ci.ts                      UI and API on http://127.0.0.1:7070
  $ wtflow serve examples/*.ts --port 8080 --run-on-start
  $ curl -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
      -d '{"workflow":"ci"}' http://127.0.0.1:7070/api/v1/runs
  $ curl http://127.0.0.1:7070/api/v1/runs?status=failed

Ctrl-C stops it: runs in progress are cancelled, queued runs start at its next start.`,
    )
    .action(async (files: string[], options: ServeCommandOptions) => {
      const { serveCommand } = await import('./commands/serve.js')
      setExitCode(await serveCommand(files, options))
    })

  return program
}

/** Every configuration key with its variable and default, from core's table. */
function configurationHelp(): string {
  const rows = CONFIG_KEYS.map(key => [key.env, `[${key.key.replace('.', '] ')}`, key.default])
  const widths = [0, 1].map(column => Math.max(...rows.map(row => row[column]!.length)))
  return [
    'Configuration (environment variable, INI key, default; precedence: defaults < INI < environment < flags):',
    ...rows.map(([env, ini, fallback]) => `  ${env!.padEnd(widths[0]!)}  ${ini!.padEnd(widths[1]!)}  ${fallback}`),
    '  WTFLOW_CONFIG: the INI file (default: wtflow.ini of the project root, the nearest directory from here up',
    '  holding wtflow.ini or .wtflow/; relative paths resolve there); [secrets] NAME = value masks values everywhere.',
    '  WTFLOW_DEBUG=1 shows stack traces. Every key is documented in config.example.ini.',
  ].join('\n')
}

function collectList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** Statuses gc may select: ended ones (a running run is never deleted). */
const GC_STATUSES = ['succeeded', 'failed', 'cancelled', 'crashed']

function collectStatus(value: string, previous: string[] | undefined): string[] {
  if (!GC_STATUSES.includes(value)) throw new InvalidArgumentError(`expected one of ${GC_STATUSES.join(', ')} (a running run is never deleted).`)
  return [...(previous ?? []), value]
}

function parseDuration(value: string): number {
  const ms = durationMs(value)
  if (ms === null) throw new InvalidArgumentError('expected a number and a unit: 45s, 90m, 12h, 30d or 2w.')
  return ms
}

function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number ≥ 0.')
  return Number(value)
}

/** `30m`, `12h`, `2d`, `1w` ago, or a date (`2026-11-01`, an ISO time). */
function parseSince(value: string): Date {
  const age = durationMs(value.trim())
  if (age !== null) return new Date(Date.now() - age)
  const date = /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : null
  if (date === null || Number.isNaN(date.getTime())) throw new InvalidArgumentError('expected an age such as 30m, 12h, 2d or 1w, or a date such as 2026-11-01.')
  return date
}

/** `--input NAME=VALUE`, collected into one object; a name given twice keeps the last value. */
function collectInput(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const equals = value.indexOf('=')
  if (equals <= 0) throw new InvalidArgumentError('expected NAME=VALUE (the value may be empty: NAME=).')
  return { ...previous, [value.slice(0, equals)]: value.slice(equals + 1) }
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535.')
  return Number(value)
}

function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a whole number ≥ 1.')
  return Number(value)
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}
