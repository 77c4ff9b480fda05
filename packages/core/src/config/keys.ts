/**
 * The configuration keys: one table, from which loading, `describeConfig`, the CLI's `--help`
 * and `config.example.ini` are all derived (a test fails when the example file disagrees).
 */
import { describeDatabase, integerAtLeast, oneOf, optionalIntegerAtLeast, parseBoolean, parseCpuCount, parseDatabaseUrl, parseOptionalDuration, parsePath, type DatabaseTarget, type RawValue } from './values.js'

/** `[run] output_logs`: what `wtflow run` prints of the nodes' output while it runs. */
export const OUTPUT_LOGS_MODES = ['auto', 'full', 'errors', 'new', 'none'] as const
export type OutputLogsMode = (typeof OUTPUT_LOGS_MODES)[number]

/** One configuration key: where it is read from, how it is parsed, and what it means. */
export interface KeySpec<T> {
  /** INI section and key: `[section] key`. */
  readonly section: string
  readonly key: string
  /** The environment variable that sets it. */
  readonly env: string
  /** Its name among `ConfigOverrides` (what CLI flags and code set), if not the field's own. */
  readonly option?: string
  /** The built-in default, as text (parsed like any other value). */
  readonly default: string
  readonly parse: (raw: RawValue, name: string) => T
  /** How it appears in `describeConfig` (history, displays); never a secret or a password. */
  readonly show?: (value: T) => string | number | boolean
  /** What it does, for config.example.ini and docs: sentences, no line breaks. */
  readonly doc: string
  /** The values it accepts, shown after the doc (`0, 1, true or false`). */
  readonly accepts?: string
}

/** Every key, in the order files and help list them. The property names are `WtflowConfig` fields. */
export const KEY_SPECS = {
  database: {
    section: 'database',
    key: 'url',
    env: 'WTFLOW_DB_URL',
    option: 'dbUrl',
    default: 'sqlite:.wtflow/wtflow.db',
    parse: parseDatabaseUrl,
    show: describeDatabase,
    doc: 'Where run history is recorded.',
    accepts: 'sqlite:///abs/path.db, sqlite:relative/path.db or a plain file path (SQLite, embedded); postgres://user:password@host:5432/database (PostgreSQL); none (tracking off)',
  } satisfies KeySpec<DatabaseTarget>,
  artifactsDir: {
    section: 'storage',
    key: 'artifacts_dir',
    env: 'WTFLOW_ARTIFACTS_DIR',
    default: '.wtflow/artifacts',
    parse: parsePath,
    doc: 'Root of the artifact store: <artifacts_dir>/<run id>/<node path>/stdout.log, stderr.log, result.json and declared extra files.',
  } satisfies KeySpec<string>,
  ignoreFailure: {
    section: 'run',
    key: 'ignore_failure',
    env: 'WTFLOW_IGNORE_FAILURE',
    default: 'false',
    parse: parseBoolean,
    doc: 'Keep starting nodes after a failure (like `make -k`); the run still ends `failed`.',
    accepts: '0, 1, true or false',
  } satisfies KeySpec<boolean>,
  maxParallel: {
    section: 'run',
    key: 'max_parallel',
    env: 'WTFLOW_MAX_PARALLEL',
    default: '10',
    parse: integerAtLeast(1),
    doc: 'Most executables (Commands and Funcs) running at once, across the whole tree.',
    accepts: 'an integer >= 1',
  } satisfies KeySpec<number>,
  maxFuncs: {
    section: 'run',
    key: 'max_funcs',
    env: 'WTFLOW_MAX_FUNCS',
    default: 'auto',
    parse: parseCpuCount,
    doc: "Most Funcs running at once (worker threads, and child processes of `isolation: 'process'`), within max_parallel; more wait for a worker, and a Func's timeout and duration count from when a worker takes it.",
    accepts: 'an integer >= 1, or auto (the number of CPUs)',
  } satisfies KeySpec<number>,
  killGraceMs: {
    section: 'run',
    key: 'kill_grace_ms',
    env: 'WTFLOW_KILL_GRACE_MS',
    default: '5000',
    parse: integerAtLeast(0),
    doc: "Milliseconds between SIGTERM and SIGKILL when a command's process group is stopped by a timeout or a cancel.",
    accepts: 'an integer >= 0',
  } satisfies KeySpec<number>,
  workerMemoryMb: {
    section: 'run',
    key: 'worker_memory_mb',
    env: 'WTFLOW_WORKER_MEMORY_MB',
    default: '2048',
    parse: integerAtLeast(16),
    doc: "Memory limit of each Func worker in MB: a worker thread's JS heap plus its Buffers, or the whole RSS of an `isolation: 'process'` child; a Func that exceeds it fails (WTFLOW_FUNC_OUT_OF_MEMORY) and its worker is replaced.",
    accepts: 'an integer >= 16',
  } satisfies KeySpec<number>,
  outputLogs: {
    section: 'run',
    key: 'output_logs',
    env: 'WTFLOW_OUTPUT_LOGS',
    default: 'auto',
    parse: oneOf(OUTPUT_LOGS_MODES),
    doc: "What `wtflow run` prints of the nodes' output while it runs: every line as it is written, prefixed with the node's path (full); the output of nodes that failed, when they end (errors); each node's output when it ends (new); nothing (none). auto is errors on a terminal, full elsewhere (CI logs).",
    accepts: 'auto, full, errors, new or none',
  } satisfies KeySpec<OutputLogsMode>,
  maxRuns: {
    section: 'server',
    key: 'max_runs',
    env: 'WTFLOW_SERVER_MAX_RUNS',
    default: '4',
    parse: integerAtLeast(1),
    doc: 'Runs `wtflow serve` executes at once; more wait as `queued` runs, recorded in history (they still start after a restart).',
    accepts: 'an integer >= 1',
  } satisfies KeySpec<number>,
  retentionOlderThan: {
    section: 'retention',
    key: 'older_than',
    env: 'WTFLOW_RETENTION_OLDER_THAN',
    default: '',
    parse: parseOptionalDuration,
    show: value => value ?? '',
    doc: 'After each `wtflow run` (at most once an hour), delete the runs that ended longer ago than this, with their artifacts (as `wtflow gc --older-than`). Empty: keep them.',
    accepts: 'a duration such as 30d, 12h or 2w; empty for none',
  } satisfies KeySpec<number | null>,
  retentionKeepLast: {
    section: 'retention',
    key: 'keep_last',
    env: 'WTFLOW_RETENTION_KEEP_LAST',
    default: '',
    parse: optionalIntegerAtLeast(0),
    show: value => value ?? '',
    doc: 'With `older_than`: always keep the newest N runs of each workflow whatever their age; alone: keep only them (as `wtflow gc --keep-last`). Empty: no limit.',
    accepts: 'an integer >= 0; empty for none',
  } satisfies KeySpec<number | null>,
} as const

export type KeyField = keyof typeof KEY_SPECS

/** The value types of the keys, by field. */
export type KeyValues = { -readonly [F in KeyField]: ReturnType<(typeof KEY_SPECS)[F]['parse']> }

/** A key as `section.key` (`run.max_parallel`): how sources and errors name it. */
export type ConfigKey = {
  [F in KeyField]: `${(typeof KEY_SPECS)[F]['section']}.${(typeof KEY_SPECS)[F]['key']}`
}[KeyField]

/** `section.key` of a field. */
export function keyName(field: KeyField): ConfigKey {
  const { section, key } = KEY_SPECS[field]
  return `${section}.${key}` as ConfigKey
}

export const KEY_FIELDS = Object.keys(KEY_SPECS) as KeyField[]

/** Sections an INI file may have: those of the keys, and `[secrets]`. */
export const INI_SECTIONS: readonly string[] = [...new Set([...KEY_FIELDS.map(field => KEY_SPECS[field].section), 'secrets'])]

/** The name a field is overridden by (`ConfigOverrides`). */
export function optionName(field: KeyField): string {
  return (KEY_SPECS[field] as KeySpec<unknown>).option ?? field
}
