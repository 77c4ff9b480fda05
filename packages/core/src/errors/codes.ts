/**
 * Every error code wtflow uses, with what it means. Codes are stable: match on them, not on
 * messages. The README's "Error codes" table is generated from this one (a test keeps them equal).
 */
export const ERROR_CODES = {
  // -- before anything runs ---------------------------------------------------------------------
  WTFLOW_VALIDATION: 'The workflow is invalid (a name, an option, a reference, an executable); nothing was started.',
  WTFLOW_CONFIG: 'A configuration value is invalid; the message names the key and where it came from.',
  WTFLOW_STORAGE: 'The artifact store cannot be written (the run directory could not be created); nothing was started.',
  WTFLOW_USAGE: 'The command line is wrong, or what it names does not exist (a script, a workflow, a file).',
  WTFLOW_SCRIPT: 'A workflow script could not be loaded: a syntax error, a failed import, an error thrown at import.',
  WTFLOW_FLOW_INVALID: 'A flow file (YAML or JSON) has mistakes; each is listed with file, line, column and key path. Nothing ran.',
  WTFLOW_FLOW_FILE: 'A flow file cannot be read, or is not a flow.',
  WTFLOW_INPUT: "A workflow's inputs are wrong: a required input has no value, or a value is given for an input it does not declare. Nothing was started.",
  // -- why a node did not succeed ----------------------------------------------------------------
  WTFLOW_NODE_FAILED: 'A command exited with a non-zero code or was killed by a signal.',
  WTFLOW_SPAWN_FAILED: 'A command could not be started (no such program, a bad working directory, an environment too large).',
  WTFLOW_TIMEOUT: 'An attempt ran longer than its `timeout` and was stopped.',
  WTFLOW_CANCELLED: 'The run was cancelled while the node ran (Ctrl-C, SIGTERM, an AbortSignal).',
  WTFLOW_WHEN_FAILED: 'The node’s `when` predicate threw.',
  WTFLOW_FLOW_EXPRESSION: 'An expression of a flow step failed when the step started (the message names file:line:column).',
  WTFLOW_INPUT_UNAVAILABLE: 'An artifact or result the node takes as input does not exist (its producer was skipped or failed).',
  WTFLOW_ARTIFACT_WRITE: 'Output, a result or a declared artifact could not be written to the artifact store.',
  WTFLOW_ARTIFACT_MISSING: 'A declared artifact file was not there when the node ended.',
  WTFLOW_FUNC_RESULT: 'A Func returned a value JSON cannot hold faithfully (BigInt, Map, Date, a cycle…).',
  WTFLOW_FUNC_EXIT: 'A Func called `process.exit()`; its worker was replaced.',
  WTFLOW_FUNC_OUT_OF_MEMORY: 'A Func’s worker reached `run.worker_memory_mb` (JS heap plus Buffers; a process-isolated Func’s RSS); the worker was replaced.',
  WTFLOW_FUNC_ARGS: 'A Func’s arguments could not be sent to its worker (not structured-clone-able).',
  WTFLOW_FUNC_POOL_CLOSED: 'A Func was still running, or was started, after its run had ended.',
  WTFLOW_HTTP_STATUS: 'An `Http` request was answered with a status outside its `expect` list (default 200–299).',
  WTFLOW_HTTP_REQUEST: 'An `Http` request got no usable answer: the connection failed, was reset, or the body broke off.',
  WTFLOW_ENV_MISSING: 'An `Env` node’s required environment variable is not set.',
  WTFLOW_EXECUTABLE_FAILED: 'An executable (a plugin’s, say) reported an error of its own; the message says what.',
  // -- history -------------------------------------------------------------------------------------
  WTFLOW_RUN_NOT_FOUND: 'No recorded run has that id (or id prefix).',
  WTFLOW_RUN_AMBIGUOUS: 'Several recorded runs start with that id prefix.',
  WTFLOW_NODE_NOT_FOUND: 'The run has no node at that path.',
  WTFLOW_RUN_NOT_FINISHED: 'The run is still running (or queued): only a finished run can be resumed.',
  WTFLOW_RESUME: 'A run cannot be resumed as asked: its script moved or no longer exports the workflow, or the tree’s nodes changed. Nothing ran.',
  WTFLOW_RUN_CRASHED: 'The process that ran the run died before it ended (recorded on its nodes).',
  WTFLOW_DB_MIGRATION: 'The history database could not be brought up to date.',
  WTFLOW_DB_NEWER: 'The history database was written by a newer wtflow; nothing was changed.',
  WTFLOW_DB_FOREIGN: 'The database named as history holds another application’s tables; nothing was changed.',
  WTFLOW_DB_WRITE: 'Some history writes failed even after retries; the run’s record is incomplete.',
  // -- the server (HTTP status in parentheses) ----------------------------------------------------
  WTFLOW_SERVER_BAD_REQUEST: 'The request is malformed: a body that is not JSON, an unknown field, an input of the wrong kind (400).',
  WTFLOW_SERVER_UNAUTHORIZED: 'The request needs the server’s token, and did not carry the right one (401).',
  WTFLOW_SERVER_FORBIDDEN: 'The request came from a foreign Origin, or named a foreign Host (403).',
  WTFLOW_SERVER_INLINE_FLOWS_OFF: 'A flow document was posted to a server started without --allow-inline-flows (403).',
  WTFLOW_SERVER_NOT_FOUND: 'No such run, node, log or artifact (404).',
  WTFLOW_SERVER_UNKNOWN_WORKFLOW: 'The server runs no workflow of that name (404).',
  WTFLOW_SERVER_RUN_ENDED: 'The run has already ended: it cannot be cancelled (409).',
  WTFLOW_SERVER_RUN_ELSEWHERE: 'The run is executed by another process that cannot be reached from here (409).',
  WTFLOW_SERVER_CANNOT_RESUME: 'The run cannot be resumed here: it is still running, this server does not run its workflow, or the workflow’s tree changed since (409).',
  WTFLOW_SERVER_BODY_TOO_LARGE: 'The request body is over the server’s limit (413).',
  WTFLOW_SERVER_NOT_AVAILABLE: 'The server cannot do this (501).',
  WTFLOW_SERVER_DATABASE: 'The history database does not answer (503).',
  WTFLOW_SERVER_START: 'A run could not be started (500).',
  // -- warnings --------------------------------------------------------------------------------------
  WTFLOW_LISTENER_ERROR: 'A lifecycle event listener threw (a process warning; the run goes on).',
  WTFLOW_FUNC_LEFTOVER: 'Code a Func left behind (a timer, a promise) threw after the Func had returned (a process warning naming the Func; no other Func gets the error; its worker is replaced).',
} as const satisfies Record<string, string>

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES
