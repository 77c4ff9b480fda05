/**
 * Every kind of mistake a person makes in a flow file: each gives messages naming file, line and
 * column, and nothing is built.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { loadFlow, type FlowOptions } from '../src/index.js'
import { problemsOf, workspace } from './helpers.js'

interface BadFlow {
  file: string
  text: string
  options?: FlowOptions
}

const CASES: Record<string, BadFlow> = {
  'tab indentation': { file: 'tabs.yaml', text: 'name: tabs\nsteps:\n  - name: a\n\trun: echo a\n' },
  'duplicate key': { file: 'duplicate.yaml', text: 'name: dup\nsteps:\n  - name: a\n    run: echo a\n    run: echo b\n' },
  'duplicate key in JSON': { file: 'duplicate.json', text: '{\n  "name": "dup",\n  "name": "again",\n  "steps": [{ "name": "a", "run": "true" }]\n}\n' },
  'run and http in one step': {
    file: 'two-kinds.yaml',
    text: 'name: two\nsteps:\n  - name: fetch\n    run: curl https://example.com\n    http: { url: https://example.com }\n',
  },
  'misspelled option': { file: 'retires.yaml', text: 'name: typo\nsteps:\n  - name: a\n    run: "true"\n    retires: 2\n' },
  'duration in words': { file: 'minutes.yaml', text: 'name: slow\nsteps:\n  - name: a\n    run: "true"\n  - name: b\n    run: "true"\n    timeout: 10 minutes\n' },
  'duration without unit': { file: 'unitless.yaml', text: 'name: slow\nsteps:\n  - name: a\n    run: "true"\n    retryDelay: "30"\n' },
  'expression syntax error': { file: 'syntax.yaml', text: "name: expr\nsteps:\n  - name: a\n    run: echo ${{ inputs.day == }}\n" },
  'expression not closed': { file: 'unclosed.yaml', text: 'name: expr\nsteps:\n  - name: a\n    run: echo ${{ run.id\n' },
  'unknown context': { file: 'context.yaml', text: 'name: expr\nsteps:\n  - name: a\n    run: echo ${{ github.sha }}\n' },
  'unknown function': { file: 'function.yaml', text: "name: expr\nsteps:\n  - name: a\n    run: echo ${{ hashFiles('x') }}\n" },
  'step that does not exist': {
    file: 'missing-step.yaml',
    text: 'name: refs\nsteps:\n  - name: build\n    run: make\n  - name: test\n    run: [cat, "${{ steps.biuld.stdout }}"]\n',
  },
  'step that runs later': {
    file: 'later.yaml',
    text: 'name: refs\nsteps:\n  - name: test\n    run: [cat, "${{ steps.build.stdout }}"]\n  - name: build\n    run: make\n',
  },
  'when on a parallel sibling (a when does not wait)': {
    file: 'parallel.yaml',
    text: "name: refs\nsteps:\n  - name: checks\n    parallel: true\n    steps:\n      - name: lint\n        run: echo lint\n      - name: report\n        run: echo report\n        when: steps.checks.lint.status == 'succeeded'\n",
  },
  'own step': { file: 'self.yaml', text: "name: refs\nsteps:\n  - name: a\n    run: echo a\n    when: steps.a.status == 'succeeded'\n" },
  'missing required input': {
    file: 'input.yaml',
    text: 'name: inputs\ninputs:\n  day: { description: Which day }\nsteps:\n  - name: a\n    run: echo ${{ inputs.day }}\n',
  },
  'input that is not declared': {
    file: 'input-typo.yaml',
    text: 'name: inputs\ninputs:\n  day: { default: today }\nsteps:\n  - name: a\n    run: echo ${{ inputs.dya }}\n',
  },
  'unknown --input': {
    file: 'input-given.yaml',
    text: 'name: inputs\ninputs:\n  day: { default: today }\nsteps:\n  - name: a\n    run: echo ${{ inputs.day }}\n',
    options: { inputs: { dya: 'monday' } },
  },
  'secret not configured': {
    file: 'secret.yaml',
    text: 'name: secrets\nsecrets: [API_TOKEN]\nsteps:\n  - name: a\n    run: \'curl -H "Authorization: Bearer ${{ secrets.API_TOKEN }}" https://example.com\'\n',
  },
  'secret not declared': { file: 'secret-undeclared.yaml', text: 'name: secrets\nsteps:\n  - name: a\n    run: echo ${{ secrets.TOKEN }}\n' },
  'unknown top-level key': { file: 'toplevel.yaml', text: 'name: top\nstep:\n  - name: a\n    run: "true"\n' },
  'step without a name': { file: 'noname.yaml', text: 'name: nameless\nsteps:\n  - run: "true"\n' },
  'duplicate step names': { file: 'same-name.yaml', text: 'name: same\nsteps:\n  - name: a\n    run: "true"\n  - name: a\n    run: "false"\n' },
  'slash in a name': { file: 'slash.yaml', text: 'name: slash\nsteps:\n  - name: build/test\n    run: "true"\n' },
  'runIf misspelled': { file: 'runif.yaml', text: 'name: branch\nsteps:\n  - name: a\n    run: "true"\n    runIf: on-failure\n' },
  'retries not a whole number': { file: 'retries.yaml', text: 'name: retry\nsteps:\n  - name: a\n    run: "true"\n    retries: 1.5\n    jitter: 2\n' },
  'result of a run step': {
    file: 'result.yaml',
    text: 'name: refs\nsteps:\n  - name: build\n    run: make\n  - name: test\n    run: echo ${{ steps.build.result }}\n',
  },
  'status outside when': {
    file: 'status.yaml',
    text: 'name: refs\nsteps:\n  - name: build\n    run: make\n  - name: test\n    run: echo ${{ steps.build.status }}\n',
  },
  'file path in when': {
    file: 'when-stdout.yaml',
    text: "name: refs\nsteps:\n  - name: build\n    run: make\n  - name: test\n    run: make test\n    when: steps.build.stdout != ''\n",
  },
  'artifact not declared': {
    file: 'artifact.yaml',
    text: 'name: refs\nsteps:\n  - name: build\n    run: make\n    artifacts: [dist/app.js]\n  - name: ship\n    run: [cp, "${{ steps.build.artifacts.app.jss }}", /tmp]\n',
  },
  'func module not found': { file: 'no-module.yaml', text: 'name: funcs\nsteps:\n  - name: a\n    func: { module: ./taskz.ts, export: add, args: [1, 2] }\n' },
  'func export missing': { file: 'no-export.yaml', text: 'name: funcs\nsteps:\n  - name: a\n    func: { module: ./tasks.ts, export: ad, args: [1, 2] }\n' },
  'func export not a function': { file: 'not-function.yaml', text: 'name: funcs\nsteps:\n  - name: a\n    func: { module: ./tasks.ts, export: notAFunction }\n' },
  'func module as a package name': { file: 'bare-module.yaml', text: 'name: funcs\nsteps:\n  - name: a\n    func: { module: tasks.ts, export: add }\n' },
  'cwd on a func step': { file: 'func-cwd.yaml', text: 'name: funcs\nsteps:\n  - name: a\n    func: { module: ./tasks.ts, export: summary }\n    cwd: build\n' },
  'expression where none is evaluated': { file: 'cwd-expr.yaml', text: 'name: dirs\nsteps:\n  - name: a\n    run: ls\n    cwd: ${{ inputs.dir }}\n' },
  'invalid environment variable name': { file: 'env-name.yaml', text: 'name: env\nenv:\n  MY VAR: 1\nsteps:\n  - name: a\n    run: "true"\n' },
  'env value reading a step': {
    file: 'env-steps.yaml',
    text: 'name: env\nsteps:\n  - name: a\n    run: echo a\n  - name: b\n    run: echo "$OUT"\n    env: { OUT: "${{ steps.a.stdout }}" }\n',
  },
  'env variable not set': { file: 'env-unset.yaml', text: 'name: env\nsteps:\n  - name: a\n    run: echo ${{ env.HOME }}\n' },
  'with without uses': { file: 'with.yaml', text: 'name: plugin\nsteps:\n  - name: a\n    run: "true"\n    with: { channel: ops }\n' },
  'empty argv': { file: 'argv.yaml', text: 'name: argv\nsteps:\n  - name: a\n    run: []\n' },
  'program from an expression': { file: 'program.yaml', text: 'name: argv\ninputs:\n  tool: { default: ls }\nsteps:\n  - name: a\n    run: ["${{ inputs.tool }}", -l]\n' },
  'artifacts on a group': { file: 'group-artifacts.yaml', text: 'name: groups\nsteps:\n  - name: g\n    artifacts: [out.txt]\n    steps:\n      - name: a\n        run: "true"\n' },
  'after, http and uses checked': {
    file: 'later-features.yaml',
    text: [
      'name: later',
      'steps:',
      '  - name: a',
      '    run: "true"',
      '    after: [b, c/d, a]',
      '  - name: b',
      '    http: { url: "ftp://example.com/x", method: FETCH }',
      '  - name: c',
      '    uses: ./plugins/notify.ts',
      '    with: { channel: "${{ inputs.channel }}" }',
      '  - name: e',
      '    http: { url: "example.com/${{ run.id }}" }',
      '',
    ].join('\n'),
  },
  'JSON syntax error': { file: 'broken.json', text: '{\n  "name": "broken",\n  "steps": [\n    { "name": "a", "run": "true" },\n  ]\n}\n' },
  'colon and space in a plain value': { file: 'colon.yaml', text: "name: colon\nsteps:\n  - name: a\n    run: echo 'status: ok'\n" },
  'several YAML documents': { file: 'docs.yaml', text: 'name: one\nsteps:\n  - name: a\n    run: "true"\n---\nname: two\n' },
  'empty file': { file: 'empty.yaml', text: '' },
  'a list instead of a flow': { file: 'list.yaml', text: '- name: a\n  run: "true"\n' },
  'no steps': { file: 'nosteps.yaml', text: 'name: idle\nsteps: []\n' },
}

describe('flow files with mistakes', () => {
  const ws = workspace()
  afterAll(() => ws.cleanup())

  it('each mistake is reported with file:line:column and key path, all of a file at once', async () => {
    const reported: Record<string, string[]> = {}
    for (const [name, { file, text, options }] of Object.entries(CASES)) reported[name] = (await problemsOf(ws.write(file, text), options)).map(message => message.replaceAll(ws.dir, '<dir>'))

    expect(Object.keys(reported).length).toBeGreaterThanOrEqual(30)
    for (const [name, messages] of Object.entries(reported)) {
      expect(messages.length, name).toBeGreaterThan(0)
      for (const message of messages) expect(message, name).toMatch(/^[\w.-]+\.(yaml|json):\d+:\d+: /)
    }
    expect(reported).toMatchInlineSnapshot(`
      {
        "JSON syntax error": [
          "broken.json:5:3: JSON syntax error: Unexpected token ']' (JSON allows no comma before a closing bracket)",
        ],
        "a list instead of a flow": [
          "list.yaml:1:1: a flow file holds a mapping of keys (name, steps, …), not a list or a single value",
        ],
        "after, http and uses checked": [
          "later-features.yaml:5:16: steps[0].after[1]: "c" has no step named "d" (after takes step paths from the top level, names joined by /)",
          "later-features.yaml:5:21: steps[0].after[2]: a step cannot wait for itself",
          "later-features.yaml:7:18: steps[1].http.url: the URL must be http or https, not ftp:",
          "later-features.yaml:7:49: steps[1].http.method: expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS (in capitals)",
          "later-features.yaml:9:11: steps[2].uses: plugin module "./plugins/notify.ts" not found (looked for <dir>/plugins/notify.ts)",
          "later-features.yaml:10:27: steps[2].with.channel: inputs.channel is not an input of this flow; declare it under inputs",
          "later-features.yaml:12:18: steps[3].http.url: the URL must start with http:// or https:// and a host (or with an expression that gives them)",
        ],
        "artifact not declared": [
          "artifact.yaml:7:20: steps[1].run[1]: steps.build.artifacts.app: the step declares artifacts app.js (names with a dot are written steps.build.artifacts['app.js'])",
        ],
        "artifacts on a group": [
          "group-artifacts.yaml:4:5: steps[0].artifacts: artifacts needs a step that runs something (run, func, …) to write them",
        ],
        "colon and space in a plain value": [
          "colon.yaml:4:10: a value written without quotes cannot contain ": " (colon, space): quote it, or write it as a block (run: |)",
        ],
        "cwd on a func step": [
          "func-cwd.yaml:5:5: steps[0].cwd: cwd cannot apply to a func step: worker threads share the process working directory; resolve paths in the function instead",
        ],
        "duplicate key": [
          "duplicate.yaml:5:5: duplicate key run: each key may appear once in a mapping; remove or rename one",
        ],
        "duplicate key in JSON": [
          "duplicate.json:3:3: duplicate key "name": each key may appear once in a mapping; remove or rename one",
        ],
        "duplicate step names": [
          "same-name.yaml:5:11: steps[1].name: duplicate step name "a": the flow already has a step with that name (steps[0]); names must differ among siblings",
        ],
        "duration in words": [
          "minutes.yaml:7:14: steps[1].timeout: "10 minutes" is not a duration (try 10m)",
        ],
        "duration without unit": [
          "unitless.yaml:5:17: steps[0].retryDelay: "30" is not a duration: add a unit (30s, 30m) or write a number of milliseconds without quotes",
        ],
        "empty argv": [
          "argv.yaml:4:10: steps[0].run: the argv array is empty",
        ],
        "empty file": [
          "empty.yaml:1:1: the file is empty; a flow has at least a name and steps",
        ],
        "env value reading a step": [
          "env-steps.yaml:7:22: steps[1].env.OUT: env values cannot read steps; read them in the command (run, func args) instead",
        ],
        "env variable not set": [
          "env-unset.yaml:4:19: steps[0].run: env.HOME is not set by this flow (the env context holds the env of the flow and of this step's ancestors); in a run command, use $HOME",
        ],
        "expression not closed": [
          "unclosed.yaml:4:18: steps[0].run: "\${{" is not closed by "}}"",
        ],
        "expression syntax error": [
          "syntax.yaml:4:30: steps[0].run: unexpected end of expression "==" in expression "inputs.day =="",
        ],
        "expression where none is evaluated": [
          "cwd-expr.yaml:5:13: steps[0].cwd: expressions are not evaluated in cwd; write the value out",
        ],
        "file path in when": [
          "when-stdout.yaml:7:11: steps[1].when: steps.build.stdout: stdout is a file path, for commands; in when, read steps.X.result or steps.X.status",
        ],
        "func export missing": [
          "no-export.yaml:4:41: steps[0].func.export: "./tasks.ts" has no export "ad" (did you mean add?); its functions: add, greet, echoArgs, summary, default",
        ],
        "func export not a function": [
          "not-function.yaml:4:41: steps[0].func.export: export "notAFunction" of "./tasks.ts" is number, not a function",
        ],
        "func module as a package name": [
          "bare-module.yaml:4:21: steps[0].func.module: module "tasks.ts" must be a path relative to the flow file (./tasks.ts) or an absolute path",
        ],
        "func module not found": [
          "no-module.yaml:4:21: steps[0].func.module: module "./taskz.ts" not found (looked for <dir>/taskz.ts)",
        ],
        "input that is not declared": [
          "input-typo.yaml:6:19: steps[0].run: inputs.dya is not an input of this flow (did you mean day?); its inputs are day",
        ],
        "invalid environment variable name": [
          "env-name.yaml:3:3: env["MY VAR"]: "MY VAR" is not a valid environment variable name (letters, digits and _, not starting with a digit)",
        ],
        "missing required input": [
          "input.yaml:3:3: inputs.day: input "day" is required and has no value: pass --input day=VALUE",
        ],
        "misspelled option": [
          "retires.yaml:5:5: steps[0].retires: unknown key "retires" (did you mean retries?)",
        ],
        "no steps": [
          "nosteps.yaml:2:8: steps: the flow needs at least one step",
        ],
        "own step": [
          "self.yaml:5:11: steps[0].when: steps.a does not run before this step: it is this step itself. A step can read the steps that run before it (earlier in a sequential group, or its ancestors)",
        ],
        "program from an expression": [
          "program.yaml:6:11: steps[0].run[0]: the program (the first element) must be written out, not come from an expression",
        ],
        "result of a run step": [
          "result.yaml:6:19: steps[1].run: steps.build.result: a run step has no result; read its stdout (the path of its output file)",
        ],
        "retries not a whole number": [
          "retries.yaml:5:14: steps[0].retries: expected a whole number",
          "retries.yaml:6:13: steps[0].jitter: must be between 0 and 1",
        ],
        "run and http in one step": [
          "two-kinds.yaml:5:5: steps[0].http: a step runs one thing, but this one has run and http: make them separate steps (or child steps)",
        ],
        "runIf misspelled": [
          "runif.yaml:5:12: steps[0].runIf: expected success, failure or always",
        ],
        "secret not configured": [
          "secret.yaml:2:11: secrets[0]: secret API_TOKEN is not configured: add it under [secrets] in wtflow.ini (API_TOKEN = …) or set the environment variable API_TOKEN",
        ],
        "secret not declared": [
          "secret-undeclared.yaml:4:19: steps[0].run: secrets.TOKEN is not declared: add TOKEN to the flow's secrets list",
        ],
        "several YAML documents": [
          "docs.yaml:5:1: the file holds several YAML documents (---); a flow file holds one",
        ],
        "slash in a name": [
          "slash.yaml:3:11: steps[0].name: step name "build/test" must not contain "/" (it separates the names of a path)",
        ],
        "status outside when": [
          "status.yaml:6:19: steps[1].run: steps.build.status: status can be read in when only (a step that reads another step's output runs only after it succeeded)",
        ],
        "step that does not exist": [
          "missing-step.yaml:6:21: steps[1].run[1]: steps.biuld: the flow has no step named "biuld" (did you mean build?)",
        ],
        "step that runs later": [
          "later.yaml:4:21: steps[0].run[1]: steps.build does not run before this step: it runs later (it comes after this step). A step can read the steps that run before it (earlier in a sequential group, beside it in a parallel group, or its ancestors)",
        ],
        "step without a name": [
          "noname.yaml:3:5: steps[0].name: every step needs a name",
        ],
        "tab indentation": [
          "tabs.yaml:4:1: a tab is used for indentation; YAML allows only spaces there",
        ],
        "unknown --input": [
          "input-given.yaml:2:1: inputs: --input dya: the flow has no input "dya" (did you mean day?); its inputs are day",
        ],
        "unknown context": [
          "context.yaml:4:19: steps[0].run: unknown context "github" in expression "github.sha"; expressions read inputs, env, secrets, steps, run",
        ],
        "unknown function": [
          "function.yaml:4:19: steps[0].run: unknown function hashFiles() in expression "hashFiles('x')"; functions: contains, startsWith, endsWith, format, join, toJSON, fromJSON, case",
        ],
        "unknown top-level key": [
          "toplevel.yaml:1:1: steps: the flow needs steps (a list of steps)",
          "toplevel.yaml:2:1: step: unknown key "step" (did you mean steps?)",
        ],
        "when on a parallel sibling (a when does not wait)": [
          "parallel.yaml:10:15: steps[0].steps[1].when: steps.checks.lint does not run before this step: it runs at the same time (both are under "checks", which has parallel: true). A step can read the steps that run before it (earlier in a sequential group, or its ancestors)",
        ],
        "with without uses": [
          "with.yaml:5:5: steps[0].with: with gives options to a plugin: add uses (the plugin) or remove with",
        ],
      }
    `)
  })

  it('steps nest deep, but not without limit', async () => {
    const nested = (levels: number) => {
      let steps = ''
      for (let i = 0; i < levels; i++) steps += `{name: n, run: ["true"]${i < levels - 1 ? ', steps: [' : ''}`
      for (let i = 0; i < levels; i++) steps += i === 0 ? '}' : ']}'
      return `name: deep\nsteps: [${steps}]\n`
    }
    const flow = await loadFlow(ws.write('deep.yaml', nested(300)), { env: {} })
    let depth = 0
    for (let node = flow.workflow.root; node.children.length > 0; node = node.children[0]!) depth++
    expect(depth).toBe(300)
    expect(await problemsOf(ws.write('deeper.yaml', nested(600)))).toEqual([
      expect.stringMatching(/^deeper\.yaml:2:\d+: the document nests more than 1000 levels deep \(steps within steps…\); flatten it$/),
    ])
  })

  it('listing a flow needs no values for its inputs and secrets (structureOnly); running it does', async () => {
    const file = ws.write('values.yaml', 'name: values\ninputs:\n  day: {}\nsecrets: [FLOW_TEST_NOT_SET]\nsteps:\n  - name: a\n    run: echo ${{ inputs.day }} ${{ secrets.FLOW_TEST_NOT_SET }}\n')
    const listed = await loadFlow(file, { env: {}, structureOnly: true })
    expect(listed.workflow.root.children.map(step => step.name)).toEqual(['a'])
    expect(await problemsOf(file)).toEqual([
      'values.yaml:3:3: inputs.day: input "day" is required and has no value: pass --input day=VALUE',
      'values.yaml:4:11: secrets[0]: secret FLOW_TEST_NOT_SET is not configured: add it under [secrets] in wtflow.ini (FLOW_TEST_NOT_SET = …) or set the environment variable FLOW_TEST_NOT_SET',
    ])
    // Unknown inputs are a mistake even then.
    await expect(loadFlow(file, { env: {}, structureOnly: true, inputs: { dya: 'x' } })).rejects.toMatchObject({ code: 'WTFLOW_FLOW_INVALID' })
  })

  it('a file that cannot be read, or is not a flow, is a WtflowError with a code', async () => {
    await expect(loadFlow(`${ws.dir}/missing.yaml`)).rejects.toMatchObject({ code: 'WTFLOW_FLOW_FILE', message: expect.stringContaining('cannot read the flow file') })
    await expect(loadFlow(`${ws.dir}/tasks.ts`)).rejects.toMatchObject({ code: 'WTFLOW_FLOW_FILE', message: expect.stringContaining('is not a flow file') })
  })

  it('reports every problem of a file, in file order', async () => {
    const file = ws.write(
      'many.yaml',
      [
        'name: many',
        'secrets: [NOT_SET]',
        'steps:',
        '  - name: a',
        '    run: echo ${{ inputs.x }}',
        '    retires: 1',
        '  - name: b',
        '    run: [cat, "${{ steps.c.stdout }}"]',
        '    timeout: 5 secs',
        '  - name: c',
        '    run: echo c',
        '    runIf: never',
        '',
      ].join('\n'),
    )
    expect(await problemsOf(file)).toMatchInlineSnapshot(`
      [
        "many.yaml:2:11: secrets[0]: secret NOT_SET is not configured: add it under [secrets] in wtflow.ini (NOT_SET = …) or set the environment variable NOT_SET",
        "many.yaml:5:19: steps[0].run: inputs.x is not an input of this flow; declare it under inputs",
        "many.yaml:6:5: steps[0].retires: unknown key "retires" (did you mean retries?)",
        "many.yaml:8:21: steps[1].run[1]: steps.c does not run before this step: it runs later (it comes after this step). A step can read the steps that run before it (earlier in a sequential group, beside it in a parallel group, or its ancestors)",
        "many.yaml:9:14: steps[1].timeout: "5 secs" is not a duration (try 5s)",
        "many.yaml:12:12: steps[2].runIf: expected success, failure or always",
      ]
    `)
  })
})
