/**
 * @wtflow/cli: the `wtflow` command line. Its bin is `wtflow`; `main` runs it in-process.
 */
export { main, type RunCommandOptions, type RunsCommandOptions, type ShowCommandOptions, type LogsCommandOptions, type ListCommandOptions } from './main.js'
export { ExitCode, CliError } from './errors.js'
