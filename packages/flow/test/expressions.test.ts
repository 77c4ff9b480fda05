/** Templates, what expressions read, and their values (GitHub Actions semantics). */
import { describe, expect, it } from 'vitest'
import { asText, evaluate, fromData, parseBareExpression, parseTemplate, toData, type Template } from '../src/expressions.js'
import { durationMs, durationProblem, isDurationText } from '../src/duration.js'

function template(text: string): Template {
  const parsed = parseTemplate(text)
  if (!('template' in parsed)) throw new Error(JSON.stringify(parsed.problems))
  return parsed.template
}

describe('templates', () => {
  it('split into literals and expressions; }} inside a string literal does not end one', () => {
    const t = template("a ${{ inputs.x }} b ${{ format('{{0}}}}', 'y') }}${{ 'it''s' }}")
    expect(t.literals).toEqual(['a ', ' b ', '', ''])
    expect(t.expressions.map(e => e.text)).toEqual([' inputs.x ', " format('{{0}}}}', 'y') ", " 'it''s' "])
    expect(asText(evaluate(t.expressions[1]!, toData({}) as never))).toBe('{0}}')
    expect(asText(evaluate(t.expressions[2]!, toData({}) as never))).toBe("it's")
  })

  it('report every problem of a string with its place', () => {
    expect(parseTemplate('${{ inputs.a == }} and ${{ 1 + 2 }} and ${{ foo.bar }}')).toEqual({
      problems: [
        { index: 0, offset: 10, message: 'unexpected end of expression "==" in expression "inputs.a =="' },
        { index: 1, offset: 3, message: 'unexpected symbol "+" in expression "1 + 2"' },
        { index: 2, offset: 1, message: 'unknown context "foo" in expression "foo.bar"; expressions read inputs, env, secrets, steps, run' },
      ],
    })
    expect(parseTemplate('x ${{ inputs.a')).toEqual({ problems: [{ index: 0, offset: 0, message: '"${{" is not closed by "}}"' }] })
    expect(parseTemplate('${{   }}')).toEqual({ problems: [{ index: 0, offset: 0, message: 'the expression is empty' }] })
  })

  it('know what each expression reads, and when a key is computed', () => {
    const t = template("${{ steps.build['my step'].result.items[0] == inputs.Day && contains(env.PATH, secrets.token) }}${{ steps[inputs.which].stdout }}${{ toJSON(steps) }}")
    expect(t.expressions.map(e => e.reads)).toEqual([
      [
        { context: 'steps', keys: ['build', 'my step', 'result', 'items', 0], computed: false, offset: 1 },
        { context: 'inputs', keys: ['Day'], computed: false, offset: 43 },
        { context: 'env', keys: ['PATH'], computed: false, offset: 66 },
        { context: 'secrets', keys: ['token'], computed: false, offset: 76 },
      ],
      [
        { context: 'steps', keys: [], computed: true, offset: 1 },
        { context: 'inputs', keys: ['which'], computed: false, offset: 7 },
      ],
      [{ context: 'steps', keys: [], computed: false, offset: 8 }],
    ])
  })

  it('bare expressions (when) take ${{ }} around all of them, or none', () => {
    const plain = parseBareExpression("inputs.a == 'x'")
    const wrapped = parseBareExpression("  ${{ inputs.a == 'x' }}  ")
    expect('expression' in plain && plain.expression.text).toBe("inputs.a == 'x'")
    expect('expression' in wrapped && wrapped.expression.text).toBe(" inputs.a == 'x' ")
    expect(parseBareExpression("${{ inputs.a }} == 'x'")).toEqual({
      problem: { index: -1, offset: 0, message: 'write one expression, with or without ${{ }} around all of it (text around it would make it always true)' },
    })
    expect(parseBareExpression('${{ inputs.a == }}')).toMatchObject({ problem: { offset: 13 } })
  })
})

describe('values', () => {
  const contexts = toData({ inputs: { Day: 'monday', n: '3' }, steps: { a: { result: { body: [1, { ok: true }], none: null } } } }) as never
  const value = (text: string) => evaluate(template(`\${{ ${text} }}`).expressions[0]!, contexts)

  it('follow GitHub Actions: case-insensitive keys, loose equality, text of values', () => {
    expect(asText(value('inputs.day'))).toBe('monday')
    expect(fromData(value("inputs.n == 3"))).toBe(true)
    expect(fromData(value('steps.a.result.body'))).toEqual([1, { ok: true }])
    expect(asText(value('steps.a.result.none'))).toBe('')
    expect(asText(value('steps.a.result.missing'))).toBe('')
    expect(asText(value('steps.a.result.body[1].ok'))).toBe('true')
    expect(asText(value('toJSON(steps.a.result.body[1])'))).toBe('{\n  "ok": true\n}')
    expect(asText(value("format('{0}-{1}', inputs.day, 2)"))).toBe('monday-2')
  })
})

describe('durations', () => {
  it('are milliseconds, or text with units', () => {
    expect([durationMs(2500), durationMs('500ms'), durationMs('30s'), durationMs('10m'), durationMs('1h30m'), durationMs('1d'), durationMs('1.5s')]).toEqual([
      2500, 500, 30_000, 600_000, 5_400_000, 86_400_000, 1500,
    ])
    expect(['10 minutes', '10min', '1 hour', '30', 'soon', '5 secs'].map(text => [isDurationText(text), durationProblem(text)])).toEqual([
      [false, '"10 minutes" is not a duration (try 10m)'],
      [false, '"10min" is not a duration (try 10m)'],
      [false, '"1 hour" is not a duration (try 1h)'],
      [false, '"30" is not a duration: add a unit (30s, 30m) or write a number of milliseconds without quotes'],
      [false, '"soon" is not a duration (use a number of milliseconds, or 500ms, 30s, 10m, 1h, 1h30m, 1d)'],
      [false, '"5 secs" is not a duration (try 5s)'],
    ])
  })
})
