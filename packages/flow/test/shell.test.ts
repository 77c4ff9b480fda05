/** run strings: each expression becomes one word of the shell command, whatever the quoting around it. */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { parseTemplate } from '../src/expressions.js'
import { expressionVariable, shellText } from '../src/shell.js'

/** Runs the rewritten command with each expression's value in its variable; returns the words printf saw. */
function words(run: string, values: string[]): string[] {
  const parsed = parseTemplate(run)
  if (!('template' in parsed)) throw new Error('did not parse')
  const env = Object.fromEntries(values.map((value, i) => [expressionVariable(i), value]))
  const out = execFileSync('/bin/sh', ['-c', shellText(parsed.template.literals)], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' })
  return out.split('\0').slice(0, -1)
}

const P = "printf '%s\\0'"

describe('run strings', () => {
  it('reference each expression as an environment variable, quoted for where it is', () => {
    const literals = (text: string) => {
      const parsed = parseTemplate(text)
      if (!('template' in parsed)) throw new Error('did not parse')
      return shellText(parsed.template.literals)
    }
    expect(literals('echo ${{ inputs.a }} "${{ inputs.b }}x" \'${{ inputs.c }}\'')).toBe('echo "$WTFLOW_EXPR_0" "${WTFLOW_EXPR_1}x" \'\'"$WTFLOW_EXPR_2"\'\'')
    expect(literals('echo "$(cat ${{ inputs.a }})" `echo ${{ inputs.b }}` # ${{ inputs.c }}')).toBe('echo "$(cat "$WTFLOW_EXPR_0")" `echo "$WTFLOW_EXPR_1"` # "$WTFLOW_EXPR_2"')
  })

  it('give the shell each value as one word, unparsed', () => {
    const evil = ['"; touch pwned #', "it's", '$(id) `id` $HOME * ?', 'a\nb', '\\"\\\'']
    for (const value of evil) {
      expect(words(`${P} \${{ inputs.x }}`, [value])).toEqual([value])
      expect(words(`${P} "\${{ inputs.x }}"`, [value])).toEqual([value])
      expect(words(`${P} '\${{ inputs.x }}'`, [value])).toEqual([value])
      expect(words(`${P} "pre \${{ inputs.x }}post" 'a \${{ inputs.x }} b'`, [value, value])).toEqual([`pre ${value}post`, `a ${value} b`])
      expect(words(`${P} "$(printf %s \${{ inputs.x }})"`, [value])).toEqual([value.replace(/\n+$/, '')])
      expect(words(`${P} \\'\${{ inputs.x }}\\'`, [value])).toEqual([`'${value}'`])
    }
  })

  it('follow nesting: quotes inside $( ) inside double quotes, comments with quotes', () => {
    expect(words(`${P} "$(printf '%s' "\${{ inputs.x }}")" # don't \${{ inputs.y }}`, ['a b', 'ignored'])).toEqual(['a b'])
    expect(words(`${P} "a $(printf '(%s)' '\${{ inputs.x }}') b" \${{ inputs.y }}`, ['1 2', '3 4'])).toEqual(['a (1 2) b', '3 4'])
  })
})
