/**
 * Values of expressions never become shell text: hostile inputs pass through run strings (quoted
 * every way), argv arrays, env values and func arguments, and reach a real command (or function)
 * as the same text, while the commands they carry never run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadFlow } from '../src/index.js'
import { parseTemplate } from '../src/expressions.js'
import { renderUrl } from '../src/url.js'
import { toData } from '../src/expressions.js'
import { runFlow, workspace } from './helpers.js'

interface Recorded {
  label: string
  argv: string[]
  env: Record<string, string>
}

describe('hostile inputs', () => {
  const ws = workspace()
  afterAll(() => ws.cleanup())
  const marker = path.join(ws.dir, 'pwned')
  // HOME of the commands: `rm -rf ~` would empty this directory, not a real home.
  const home = path.join(ws.dir, 'home')
  mkdirSync(home)
  writeFileSync(path.join(home, 'canary'), 'still here')
  const inputs = {
    rm: '"; rm -rf ~ #',
    touch: `$(touch ${marker})`,
    other: `it's "quoted" * $HOME \`touch ${marker}\` ;| & > out\nsecond line \\n`,
  }

  it('reach commands and functions as inert text, whatever the quoting', async () => {
    const record = path.join(ws.dir, 'record.jsonl')
    const file = ws.write(
      'inject.yaml',
      `
name: inject
inputs: { rm: {}, touch: {}, other: {} }
env:
  HOME: ${home}
  RECORD_FILE: ${record}
  FLOW_TEST_FLOW_ENV: "\${{ inputs.rm }}"
steps:
  - name: unquoted
    run: node record.mjs unquoted \${{ inputs.rm }} \${{ inputs.touch }} \${{ inputs.other }}
  - name: double-quoted
    run: node record.mjs double "\${{ inputs.rm }}" "pre-\${{ inputs.touch }}-post" "\${{ inputs.other }}"
  - name: single-quoted
    run: node record.mjs single '\${{ inputs.rm }}' 'a \${{ inputs.touch }} b' '\${{ inputs.other }}'
  - name: substitution
    run: node record.mjs subst "$(printf %s \${{ inputs.rm }})" "\`printf %s \${{ inputs.touch }}\`" $(printf %s \${{ inputs.other }} | wc -c)
  - name: argv
    run: [node, record.mjs, argv, "\${{ inputs.rm }}", "--value=\${{ inputs.touch }}", "\${{ inputs.other }}"]
  - name: env
    run: node record.mjs env
    env: { FLOW_TEST_RM: "\${{ inputs.rm }}", FLOW_TEST_TOUCH: "x\${{ inputs.touch }}x", FLOW_TEST_OTHER: "\${{ inputs.other }}" }
  - name: func
    func: { module: ./tasks.ts, export: echoArgs, args: ["\${{ inputs.rm }}", "\${{ inputs.touch }}", "\${{ inputs.other }}"] }
    env: { FLOW_TEST_VALUE: "\${{ inputs.touch }}" }
`,
    )
    const flow = await loadFlow(file, { inputs, env: {} })
    const result = await runFlow(flow, ws.dir)
    expect(result.nodes.map(node => [node.path, node.status, node.error?.message ?? null])).toEqual([
      ['inject', 'succeeded', null],
      ['inject/unquoted', 'succeeded', null],
      ['inject/double-quoted', 'succeeded', null],
      ['inject/single-quoted', 'succeeded', null],
      ['inject/substitution', 'succeeded', null],
      ['inject/argv', 'succeeded', null],
      ['inject/env', 'succeeded', null],
      ['inject/func', 'succeeded', null],
    ])

    const lines = readFileSync(record, 'utf8').trim().split('\n').map(line => JSON.parse(line) as Recorded)
    const byLabel = Object.fromEntries(lines.map(line => [line.label, line]))
    const flowEnv = { FLOW_TEST_FLOW_ENV: inputs.rm }
    expect(byLabel.unquoted).toEqual({ label: 'unquoted', argv: [inputs.rm, inputs.touch, inputs.other], env: flowEnv })
    expect(byLabel.double).toEqual({ label: 'double', argv: [inputs.rm, `pre-${inputs.touch}-post`, inputs.other], env: flowEnv })
    expect(byLabel.single).toEqual({ label: 'single', argv: [inputs.rm, `a ${inputs.touch} b`, inputs.other], env: flowEnv })
    expect(byLabel.subst).toEqual({ label: 'subst', argv: [inputs.rm, inputs.touch, String(Buffer.byteLength(inputs.other))], env: flowEnv })
    expect(byLabel.argv).toEqual({ label: 'argv', argv: [inputs.rm, `--value=${inputs.touch}`, inputs.other], env: flowEnv })
    expect(byLabel.env).toEqual({
      label: 'env',
      argv: [],
      env: { ...flowEnv, FLOW_TEST_RM: inputs.rm, FLOW_TEST_TOUCH: `x${inputs.touch}x`, FLOW_TEST_OTHER: inputs.other },
    })
    const funcResult = result.nodes.find(node => node.path === 'inject/func')!.artifacts.find(a => a.name === 'result')!
    expect(JSON.parse(readFileSync(funcResult.path, 'utf8'))).toEqual({ args: [inputs.rm, inputs.touch, inputs.other], env: inputs.touch })

    expect(existsSync(marker)).toBe(false)
    expect(readFileSync(path.join(home, 'canary'), 'utf8')).toBe('still here')
    expect(existsSync(path.join(ws.dir, 'out'))).toBe(false)
  })

  it('keep a URL to its host, path segment and query value', () => {
    const parsed = parseTemplate('https://api.example.com/items/${{ inputs.id }}?q=${{ inputs.q }}&page=2')
    if (!('template' in parsed)) throw new Error('template did not parse')
    for (const value of [inputs.rm, inputs.touch, inputs.other, '../../admin?x=1#frag', 'evil.example.com/@x', '1&page=9']) {
      const url = new URL(renderUrl(parsed.template, [toData(value), toData(value)]))
      expect(url.host).toBe('api.example.com')
      expect(url.pathname.split('/').slice(1)).toEqual(['items', encodeURIComponent(value)])
      expect(decodeURIComponent(url.pathname.split('/')[2]!)).toBe(value)
      expect(url.searchParams.get('q')).toBe(value)
      expect(url.searchParams.get('page')).toBe('2')
      expect(url.hash).toBe('')
    }
  })

  it('a URL may start with an expression only when its value is an http(s) URL', () => {
    const parsed = parseTemplate('${{ inputs.api }}/v1/items?q=${{ inputs.q }}')
    if (!('template' in parsed)) throw new Error('template did not parse')
    expect(renderUrl(parsed.template, [toData('https://api.example.com/'), toData('a b&c')])).toBe('https://api.example.com/v1/items?q=a%20b%26c')
    expect(() => renderUrl(parsed.template, [toData('file:///etc/passwd'), toData('x')])).toThrow('must be an http(s) URL; got a file: URL')
    expect(() => renderUrl(parsed.template, [toData(inputs.rm), toData('x')])).toThrow('must be an absolute http(s) URL')
  })

  it('secrets are masked in the output of the commands they are given to', async () => {
    const file = ws.write(
      'secret.yaml',
      `
name: secret
secrets: [FLOW_TEST_SECRET]
steps:
  - name: leak
    run: printf 'token=%s\\n' "\${{ secrets.FLOW_TEST_SECRET }}"
  - name: leak-argv
    run: [printf, 'token=%s\\n', "\${{ secrets.FLOW_TEST_SECRET }}"]
`,
    )
    const secret = 's3cr3t-value-42'
    const flow = await loadFlow(file, { env: { FLOW_TEST_SECRET: secret } })
    expect(flow.secrets).toEqual([secret])
    const result = await runFlow(flow, ws.dir)
    expect(result.status).toBe('succeeded')
    for (const node of result.nodes.slice(1)) {
      const stdout = node.artifacts.find(a => a.name === 'stdout')!
      expect(readFileSync(stdout.path, 'utf8')).toBe('token=***\n')
      expect(node.display).not.toContain(secret)
    }
  })
})
