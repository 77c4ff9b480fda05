/** Flows run on the real engine: expressions evaluated when each step starts, over real outputs. */
import { readFileSync } from 'node:fs'
import type { NodeResult, RunResult } from '@wtflow/core'
import { afterAll, describe, expect, it } from 'vitest'
import { loadFlow } from '../src/index.js'
import { runFlow, workspace } from './helpers.js'

function nodes(result: RunResult): Record<string, NodeResult> {
  return Object.fromEntries(result.nodes.map(node => [node.path, node]))
}

function artifact(node: NodeResult | undefined, name: string): string {
  const found = node?.artifacts.find(a => a.name === name)
  if (found === undefined) throw new Error(`${node?.path} has no artifact ${name}`)
  return readFileSync(found.path, 'utf8')
}

function statuses(result: RunResult): Record<string, string> {
  return Object.fromEntries(result.nodes.map(node => [node.path, node.skipReason === null ? node.status : `${node.status}: ${node.skipReason}`]))
}

describe('running flows', () => {
  const ws = workspace()
  afterAll(() => ws.cleanup())

  it('steps read the outputs, results and artifacts of the steps before them', async () => {
    const file = ws.write(
      'refs.yaml',
      `
name: refs
steps:
  - name: produce
    run: |-
      printf 'first\\nsecond\\n' && mkdir -p out && printf '{"n": 7}' > out/data.json
    artifacts: [out/data.json]
    steps:
      - name: child
        run: [wc, -l, "\${{ steps.produce.stdout }}"]
  - name: stats
    parallel: true
    steps:
      - name: summary
        func: { module: ./tasks.ts, export: summary }
      - name: sum
        func: { module: ./tasks.ts, export: add, args: [40, 2] }
  - name: use
    run: echo "count=\${{ steps.stats.summary.result.count }} ok=\${{ steps.stats.summary.result.ok }} sum=\${{ steps.stats.sum.result }} n=\${{ fromJSON('{"a":1}').a }}"
  - name: typed
    func: { module: ./tasks.ts, export: echoArgs, args: ["\${{ steps.stats.sum.result }}", "\${{ steps.stats.summary.result }}", "sum is \${{ steps.stats.sum.result }}", [nested, "\${{ steps.stats.summary.result.ok }}"]] }
  - name: cat
    run: cat "\${{ steps.produce.artifacts['data.json'] }}"
`,
    )
    const result = await runFlow(await loadFlow(file), ws.dir)
    expect(statuses(result)).toEqual({
      refs: 'succeeded',
      'refs/produce': 'succeeded',
      'refs/produce/child': 'succeeded',
      'refs/stats': 'succeeded',
      'refs/stats/summary': 'succeeded',
      'refs/stats/sum': 'succeeded',
      'refs/use': 'succeeded',
      'refs/typed': 'succeeded',
      'refs/cat': 'succeeded',
    })
    const byPath = nodes(result)
    const stdoutPath = byPath['refs/produce']!.artifacts.find(a => a.name === 'stdout')!.path
    expect(artifact(byPath['refs/produce/child'], 'stdout')).toBe(`2 ${stdoutPath}\n`)
    expect(artifact(byPath['refs/use'], 'stdout')).toBe('count=3 ok=true sum=42 n=1\n')
    expect(JSON.parse(artifact(byPath['refs/typed'], 'result'))).toEqual({ args: [42, { ok: true, count: 3 }, 'sum is 42', ['nested', true]], env: null })
    expect(artifact(byPath['refs/cat'], 'stdout')).toBe('{"n": 7}')
    // The references are dependencies the engine knows of: displayed as written.
    expect(byPath['refs/produce/child']!.display).toBe("wc -l '${{ steps.produce.stdout }}'")
  })

  it('when decides from inputs, results and statuses; false skips the subtree', async () => {
    const file = ws.write(
      'when.yaml',
      `
name: when
inputs:
  deploy: { default: "no" }
steps:
  - name: flaky
    run: exit 3
    continueOnFailure: true
  - name: summary
    func: { module: ./tasks.ts, export: summary }
  - name: on-failure
    run: echo flaky failed
    when: steps.flaky.status == 'failed'
  - name: on-success
    run: echo flaky succeeded
    when: \${{ steps.flaky.status == 'succeeded' }}
  - name: deploy
    run: echo deploying
    when: inputs.deploy == 'yes' && steps.summary.result.ok
    steps:
      - name: notify
        run: echo notified
  - name: never
    run: echo never
    when: false
`,
    )
    const flow = await loadFlow(file)
    // What core records of a predicate in the run's digest: the expression, not a closure's source.
    expect(flow.workflow.root.children.map(step => step.options.when?.toString() ?? null)).toEqual([
      null,
      null,
      "when: steps.flaky.status == 'failed'",
      "when: steps.flaky.status == 'succeeded'",
      "when: inputs.deploy == 'yes' && steps.summary.result.ok",
      '() => false',
    ])
    const off = await runFlow(flow, ws.dir)
    expect(statuses(off)).toEqual({
      when: 'succeeded',
      'when/flaky': 'failed',
      'when/summary': 'succeeded',
      'when/on-failure': 'succeeded',
      'when/on-success': 'skipped: when() returned false',
      'when/deploy': 'skipped: when() returned false',
      'when/deploy/notify': 'skipped: "when/deploy" was skipped',
      'when/never': 'skipped: when() returned false',
    })
    const on = await runFlow(await loadFlow(file, { inputs: { deploy: 'yes' } }), ws.dir)
    expect(nodes(on)['when/deploy/notify']!.status).toBe('succeeded')
  })

  it('env values are evaluated when a step starts, in order, and inherited', async () => {
    const file = ws.write(
      'env.yaml',
      `
name: env
inputs:
  region: { default: eu-west-1 }
secrets: [FLOW_TEST_TOKEN]
env:
  REGION: \${{ inputs.region }}
  RUN_ID: \${{ run.id }}
  TOKEN: \${{ secrets.FLOW_TEST_TOKEN }}
  PLAIN: plain
steps:
  - name: group
    env:
      ENDPOINT: https://\${{ env.REGION }}.example.com
      PLAIN: overridden
    steps:
      - name: show
        run: echo "$REGION $ENDPOINT $PLAIN \${{ env.ENDPOINT }} \${{ run.id }}" && test "$RUN_ID" = "\${{ run.id }}" && test "$TOKEN" = "\${{ secrets.FLOW_TEST_TOKEN }}" && echo "$TOKEN"
      - name: static
        run: echo "$REGION $PLAIN"
        env: { REGION: local }
`,
    )
    const result = await runFlow(await loadFlow(file, { env: { FLOW_TEST_TOKEN: 'tok-123' } }), ws.dir)
    expect(result.status).toBe('succeeded')
    const byPath = nodes(result)
    expect(artifact(byPath['env/group/show'], 'stdout')).toBe(
      `eu-west-1 https://eu-west-1.example.com overridden https://eu-west-1.example.com ${result.id}\n***\n`,
    )
    expect(artifact(byPath['env/group/static'], 'stdout')).toBe('local overridden\n')
  })

  it('an expression that fails when the step starts fails the step, naming where it is', async () => {
    const file = ws.write(
      'fails.yaml',
      `
name: fails
inputs:
  data: { default: "not json" }
steps:
  - name: parse
    run: echo \${{ fromJSON(inputs.data) }}
`,
    )
    const result = await runFlow(await loadFlow(file, { displayName: 'fails.yaml' }), ws.dir)
    const parse = nodes(result)['fails/parse']!
    expect(parse.status).toBe('failed')
    expect(parse.error).toMatchObject({ code: 'WTFLOW_FLOW_EXPRESSION' })
    expect(parse.error!.message).toMatch(/^fails\.yaml:7:18: steps\[0\]\.run: expression "fromJSON\(inputs\.data\)" failed: /)
  })

  it('retries and durations apply as options', async () => {
    const file = ws.write(
      'retry.yaml',
      `
name: retry
steps:
  - name: third-time
    run: n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]
    retries: 2
    retryDelay: 10ms
    backoff: 1
  - name: slow
    run: sleep 5
    timeout: 200ms
    continueOnFailure: true
`,
    )
    const result = await runFlow(await loadFlow(file), ws.dir)
    const byPath = nodes(result)
    expect(byPath['retry/third-time']).toMatchObject({ status: 'succeeded' })
    expect(byPath['retry/third-time']!.attempts.map(a => a.status)).toEqual(['failed', 'failed', 'succeeded'])
    expect(byPath['retry/slow']).toMatchObject({ status: 'timed_out' })
  })

  it('a JSON flow is the same as its YAML', async () => {
    const yaml = ws.write('same.yaml', 'name: same\ninputs:\n  who: { default: json }\nsteps:\n  - name: hello\n    run: [echo, "hello ${{ inputs.who }}"]\n')
    const json = ws.write(
      'same.json',
      JSON.stringify({ name: 'same', inputs: { who: { default: 'json' } }, steps: [{ name: 'hello', run: ['echo', 'hello ${{ inputs.who }}'] }] }, null, 2),
    )
    const fromYaml = await runFlow(await loadFlow(yaml), ws.dir)
    const fromJson = await runFlow(await loadFlow(json), ws.dir)
    expect(artifact(nodes(fromJson)['same/hello'], 'stdout')).toBe('hello json\n')
    expect(artifact(nodes(fromYaml)['same/hello'], 'stdout')).toBe('hello json\n')
  })
})
