/**
 * The flow document: one zod definition gives the validation, the TypeScript types and the JSON
 * Schema that editors use (`schema.json`, `wtflow schema`). Descriptions here are the README's
 * key table.
 */
import { z } from 'zod'
import { DURATION_PATTERN, durationProblem } from './duration.js'

/** Names a shell, `env` and `secrets` accept. */
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$'
/** Input names: as in GitHub Actions, letters, digits, `_` and `-`. */
export const INPUT_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]*$'

/** The keys that give a step its executable; at most one per step (`with` goes with `uses`). */
export const STEP_KINDS = ['run', 'http', 'env', 'func', 'uses'] as const
export type StepKind = (typeof STEP_KINDS)[number]

const durationText = (what: string) =>
  z.string().regex(new RegExp(DURATION_PATTERN), { error: issue => durationProblem(String(issue.input)) }).meta({ description: what })

/** A duration: milliseconds, or text like `30s`. `positive` rejects 0. */
function duration(description: string, positive: boolean) {
  const ms = positive
    ? z.number().positive({ error: 'must be more than 0 milliseconds' })
    : z.number().nonnegative({ error: 'must not be negative' })
  return z
    .union([ms, durationText('500ms, 30s, 10m, 1h30m, 1d')], { error: 'expected a duration: a number of milliseconds, or 500ms, 30s, 10m, 1h' })
    .meta({ description })
}

const envValue = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string (numbers and booleans are turned into text)' })

const envMap = z
  .record(z.string().regex(new RegExp(ENV_NAME_PATTERN), { error: issue => `${JSON.stringify(issue.input)} is not a valid environment variable name (letters, digits and _, not starting with a digit)` }), envValue)
  .meta({ description: 'Environment variables (name: value). Values may use ${{ }} expressions over inputs, env, secrets and run.' })

const stringList = (description: string) => z.array(z.string()).meta({ description })

const RUN_IFS = ['success', 'failure', 'always'] as const

export const HttpSchema = z
  .strictObject({
    url: z.string().min(1).meta({ description: 'The URL. Values of ${{ }} expressions in it are percent-encoded.' }),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], { error: 'expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS (in capitals)' }).meta({ description: 'HTTP method (default GET).' }).optional(),
    headers: z.record(z.string(), z.string()).meta({ description: 'Request headers; values may use expressions.' }).optional(),
    body: z.unknown().meta({ description: 'Request body: text, or JSON (objects and arrays are sent as JSON).' }).optional(),
    expect: z.array(z.int().min(100).max(599)).min(1).meta({ description: 'Statuses that count as success (default 200–299); others fail the attempt, so retries apply.' }).optional(),
    timeout: duration('Time for the request (the step timeout applies as well).', true).optional(),
  })
  .meta({ description: 'An HTTP request. The response body goes to stdout; the result is { status, statusText, headers, body }.' })

const envStepEntry = z.union(
  [
    z.string().regex(new RegExp(ENV_NAME_PATTERN), { error: 'not a valid environment variable name' }),
    z.strictObject({
      name: z.string().regex(new RegExp(ENV_NAME_PATTERN), { error: 'not a valid environment variable name' }),
      required: z.boolean().optional(),
    }),
  ],
  { error: 'expected a variable name, or { name, required }' },
)

export const FuncSchema = z
  .strictObject({
    module: z.string().min(1).meta({ description: 'The module that exports the function, relative to the flow file (./tasks.ts).' }),
    export: z.string().min(1).meta({ description: 'The name it is exported under (default: default).' }).optional(),
    args: z.array(z.unknown()).meta({ description: 'Arguments. A string that is one ${{ }} expression passes its value (a number, an object…); other strings are text.' }).optional(),
  })
  .meta({ description: 'Runs an exported TypeScript or JavaScript function in a worker thread; its return value is the result.' })

export const CacheSchema = z
  .union([
    z.boolean(),
    z.strictObject({
      key: z.string().meta({ description: 'Extra text in the cache key; may use expressions.' }).optional(),
      files: stringList('Globs (relative to cwd) whose content is part of the key.').optional(),
      env: stringList('Environment variables whose values are part of the key.').optional(),
      ttl: duration('How long an entry may be reused.', true).optional(),
    }),
  ])
  .meta({ description: 'Reuse the outcome of an earlier run with the same inputs: true, or { key, files, env, ttl }.' })

export const StepSchema = z.strictObject({
  name: z.string({ error: 'every step needs a name' }).min(1, { error: 'must not be empty' }).meta({ description: 'Unique among its siblings; no "/". Steps are referred to by their path: steps.build.stdout, steps.checks.lint.result.' }),
  run: z
    .union([z.string().min(1, { error: 'the command is empty' }), z.array(z.string(), { error: 'argv elements must be strings' }).min(1, { error: 'the argv array is empty' })], {
      error: 'expected a shell command (a string) or an argv array of strings',
    })
    .meta({ description: 'A shell command (string), or an argv array run without a shell. Expressions never become shell text.' })
    .optional(),
  http: HttpSchema.optional(),
  env: z
    .union([envMap, z.array(envStepEntry)], { error: 'expected environment variables (name: value), or a list of names to read' })
    .meta({ description: 'A map sets environment variables for the step and its steps; a list of names makes an env step that reads them into its result.' })
    .optional(),
  func: FuncSchema.optional(),
  uses: z.string().min(1).meta({ description: 'A plugin executable: an npm package or a module path relative to the flow file.' }).optional(),
  with: z.record(z.string(), z.unknown()).meta({ description: "Options of the plugin named by uses, checked by the plugin's schema." }).optional(),
  parallel: z.boolean().meta({ description: 'Run the child steps all at once instead of one after another.' }).optional(),
  timeout: duration('Time per attempt before the step is stopped and ends timed_out: milliseconds, or 30s, 10m, 1h.', true).optional(),
  retries: z.int({ error: 'expected a whole number' }).min(0, { error: 'must be 0 or more' }).meta({ description: 'Extra attempts after a failure (default 0).' }).optional(),
  retryDelay: duration('Wait before the first retry (default 1s): milliseconds, or 500ms, 5s…', false).optional(),
  backoff: z.number().min(1, { error: 'must be 1 or more (1 keeps the delay constant)' }).meta({ description: 'Multiplier of the delay for each further retry (default 2).' }).optional(),
  jitter: z.number().min(0, { error: 'must be between 0 and 1' }).max(1, { error: 'must be between 0 and 1' }).meta({ description: 'Random spread of each delay, 0..1: 0.2 means ±20% (default 0).' }).optional(),
  continueOnFailure: z.boolean().meta({ description: 'A failure of this step does not fail the run or stop other steps.' }).optional(),
  queue: z.string().min(1).meta({ description: 'Run the step on workers serving this queue (distributed execution).' }).optional(),
  runIf: z.enum(RUN_IFS, { error: 'expected success, failure or always' }).meta({ description: 'Relative to the parent: failure steps are its failure branch, always steps run either way (default success).' }).optional(),
  when: z
    .union([z.string(), z.boolean()], { error: 'expected an expression' })
    .meta({ description: "An expression; the step (and its steps) is skipped when it is false: inputs.deploy == 'yes', steps.test.result.ok. ${{ }} around it is optional." })
    .optional(),
  cwd: z.string().min(1).meta({ description: "Working directory of the step and its steps (relative to the parent's; the root's is where wtflow runs)." }).optional(),
  artifacts: stringList('Extra files the step writes (relative to cwd), stored by file name: steps.X.artifacts.NAME.').optional(),
  after: stringList("Steps that must succeed first, by path (checks/lint), besides the parent's order.").optional(),
  cache: CacheSchema.optional(),
  get steps(): z.ZodOptional<z.ZodArray<typeof StepSchema>> {
    return z.array(StepSchema).meta({ description: 'Child steps: they run after this step succeeds, one after another (or all at once with parallel).' }).optional()
  },
})
// Registered, not `.meta()`: that makes a copy, and the recursion above must be to the schema with the id.
z.globalRegistry.add(StepSchema, {
  id: 'step',
  title: 'Step',
  description: 'A step: at most one of run, http, env (a list), func, uses; with none it is a group of steps.',
})

export const InputSchema = z
  .union([
    z.null(),
    z.strictObject({
      default: z.union([z.string(), z.number(), z.boolean()]).meta({ description: 'Value when none is given.' }).optional(),
      description: z.string().meta({ description: 'Shown by wtflow list.' }).optional(),
      required: z.boolean().meta({ description: 'Whether a value must be given (default: when there is no default).' }).optional(),
    }),
  ])
  .meta({ description: 'An input: { default, description, required }; values come from --input NAME=VALUE and are text.' })

const { timeout, retries, retryDelay, backoff, jitter, continueOnFailure, queue } = StepSchema.shape

export const DefaultsSchema = z
  .strictObject({ timeout, retries, retryDelay, backoff, jitter, continueOnFailure, queue })
  .meta({ description: 'Options every step that runs something gets unless it sets them: timeout, retries, retryDelay, backoff, jitter, continueOnFailure, queue.' })

export const FlowSchema = z
  .strictObject({
    $schema: z.string().meta({ description: 'The JSON Schema, for editors (ignored).' }).optional(),
    name: z.string({ error: 'the flow needs a name' }).min(1, { error: 'must not be empty' }).meta({ description: 'The workflow name (wtflow runs --workflow NAME); also the name of the root node.' }),
    description: z.string().meta({ description: 'Shown by wtflow list.' }).optional(),
    inputs: z
      .record(z.string().regex(new RegExp(INPUT_NAME_PATTERN), { error: 'input names are letters, digits, _ and -' }), InputSchema)
      .meta({ description: 'Inputs by name, read as inputs.NAME.' })
      .optional(),
    env: envMap.optional(),
    secrets: z
      .array(z.string().regex(new RegExp(ENV_NAME_PATTERN), { error: 'secret names are letters, digits and _, not starting with a digit' }))
      .meta({ description: 'Secrets the flow reads as secrets.NAME: from [secrets] in wtflow.ini, else the environment variable NAME. Masked everywhere.' })
      .optional(),
    defaults: DefaultsSchema.optional(),
    steps: z.array(StepSchema, { error: issue => (issue.input === undefined ? 'the flow needs steps (a list of steps)' : 'expected a list of steps') }).min(1, { error: 'the flow needs at least one step' }).meta({ description: 'The steps, run one after another.' }),
  })
  .meta({ title: 'wtflow flow', description: 'A wtflow flow: a tree of steps run by `wtflow run flow.yaml`.' })

/** A flow document as written (durations as text or milliseconds). */
export type FlowDocument = z.input<typeof FlowSchema>
/** A flow document once checked. */
export type Flow = z.output<typeof FlowSchema>
export type Step = z.output<typeof StepSchema>
export type FlowInput = z.output<typeof InputSchema>
export type HttpStep = z.output<typeof HttpSchema>
export type FuncStep = z.output<typeof FuncSchema>
export type CacheOption = z.output<typeof CacheSchema>
export type StepOptionDefaults = z.output<typeof DefaultsSchema>

/** Every key a step may have, for suggestions. */
export const STEP_KEYS: readonly string[] = Object.keys(StepSchema.shape)
export const FLOW_KEYS: readonly string[] = Object.keys(FlowSchema.shape)

let jsonSchema: Record<string, unknown> | undefined

/**
 * The JSON Schema of flow documents (draft 2020-12), as `schema.json` ships it for editors
 * (`# yaml-language-server: $schema=./node_modules/@wtflow/flow/schema.json`).
 */
export function flowJsonSchema(): Record<string, unknown> {
  jsonSchema ??= z.toJSONSchema(FlowSchema, {
    target: 'draft-2020-12',
    io: 'input',
    override: ({ jsonSchema: schema, zodSchema }) => {
      // "At most one of run, http, env (a list), func, uses": a rule zod checks in code.
      if (zodSchema === StepSchema) {
        schema.not = { anyOf: kindPairs() }
        schema.dependentRequired = { with: ['uses'] }
      }
    },
  }) as Record<string, unknown>
  return jsonSchema
}

/** Every pair of executable keys, as `required` clauses no step may match. */
function kindPairs(): Array<Record<string, unknown>> {
  const pairs: Array<Record<string, unknown>> = []
  for (let i = 0; i < STEP_KINDS.length; i++) {
    for (let j = i + 1; j < STEP_KINDS.length; j++) {
      const a = STEP_KINDS[i]!
      const b = STEP_KINDS[j]!
      // `env` as a map is an option, not an executable: only the list form conflicts.
      const clause = (key: StepKind) => (key === 'env' ? { required: ['env'], properties: { env: { type: 'array' } } } : { required: [key] })
      pairs.push({ allOf: [clause(a), clause(b)] })
    }
  }
  return pairs
}
