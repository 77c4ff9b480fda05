import { Command, Node, Workflow } from '@wtflow/core'
import { describe, expect, it } from 'vitest'
import { describeOutcome } from '../src/display/progress.js'
import { cleanLine } from '../src/display/summary.js'
import { layoutTree, parentOf } from '../src/display/tree.js'
import { CliError, ExitCode, formatError } from '../src/errors.js'
import { selectWorkflows, type LoadedScript } from '../src/script.js'
import { formatDuration, oneLine, shellQuote, stripAnsi, truncate, visibleWidth } from '../src/terminal.js'

describe('formatting', () => {
  it('durations read as people read them', () => {
    expect([0, 849.6, 1000, 12_345, 61_000, 3_600_000 + 180_000].map(formatDuration)).toEqual(['0ms', '850ms', '1.00s', '12.3s', '1m01s', '1h03m'])
    expect(formatDuration(-1)).toBe('-')
  })

  it('widths ignore escape codes; truncation ends with an ellipsis', () => {
    expect(visibleWidth('\x1b[32m✓\x1b[39m ok')).toBe(4)
    expect(stripAnsi('\x1b[1mbold\x1b[22m')).toBe('bold')
    expect(truncate('abcdef', 4)).toBe('abc…')
    expect(truncate('abc', 4)).toBe('abc')
  })

  it('wide characters take two columns, and truncation never splits one', () => {
    expect(visibleWidth('日本語')).toBe(6)
    expect(visibleWidth('✅ ok')).toBe(5)
    expect(visibleWidth('👩‍💻')).toBe(2)
    expect(truncate('日本語のテキスト', 7)).toBe('日本語…')
    expect(truncate('a👩‍💻b👩‍💻c', 5)).toBe('a👩‍💻b…')
  })

  it('commands are shown on one line and quoted only when needed', () => {
    expect(oneLine('a\n  b\nc')).toBe('a ⏎ b ⏎ c')
    expect(shellQuote('Root Node/Node 1')).toBe(`'Root Node/Node 1'`)
    expect(shellQuote('ci/checks/test')).toBe('ci/checks/test')
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`)
  })

  it('output replayed in a summary loses colors, cursor moves and progress-bar redraws', () => {
    expect(cleanLine('\x1b[31merror\x1b[0m: bad\tthing')).toBe('error: bad  thing')
    expect(cleanLine('10%\r50%\r100%')).toBe('100%')
    expect(cleanLine('\x1b]0;title\x07text\x00')).toBe('text')
  })

  it('outcomes say what went wrong', () => {
    expect(describeOutcome({ exitCode: 2, signal: null, error: { name: 'NodeFailure', message: 'exited with code 2' } })).toBe('exit code 2')
    expect(describeOutcome({ exitCode: null, signal: 'SIGKILL', error: null })).toBe('killed by SIGKILL')
    expect(describeOutcome({ status: 'timed_out', exitCode: null, signal: 'SIGTERM', error: { name: 'NodeFailure', message: 'timed out after 500 ms' } })).toBe(
      'timed out after 500 ms',
    )
    expect(describeOutcome({ exitCode: null, signal: null, error: { name: 'TypeError', message: 'x is not a function' } })).toBe('TypeError: x is not a function')
  })
})

describe('tree layout', () => {
  it('draws guides for nested children and continuation lines', () => {
    const paths = ['r', 'r/a', 'r/a/x', 'r/b', 'r/b/y', 'r/b/z']
    const lines = layoutTree(paths.map(path => ({ path, parentPath: parentOf(path) })))
    expect(lines.map(line => `${line.prefix}${line.item.path.split('/').pop()}`)).toEqual(['r', '├─ a', '│  └─ x', '└─ b', '   ├─ y', '   └─ z'])
    expect(lines.map(line => line.continuation)).toEqual(['│  ', '│  │  ', '│        ', '   │  ', '   │     ', '         '])
  })
})

describe('errors', () => {
  it('are one paragraph; the stack only with debug', () => {
    const error = new CliError('the thing is broken. Fix it.')
    expect(formatError(error, false)).toBe('the thing is broken. Fix it.')
    expect(formatError(error, true)).toMatch(/^the thing is broken\. Fix it\.\n\nCliError: the thing is broken\. Fix it\.\n {4}at /)
    expect(formatError(new Error('oops'), false)).toBe(
      'unexpected error: oops Set WTFLOW_DEBUG=1 to see the stack trace; if it looks like a bug in wtflow, please report it.',
    )
    expect(error.exitCode).toBe(ExitCode.usage)
  })
})

describe('selecting workflows', () => {
  const make = (name: string) => new Workflow({ name, root: new Node({ name: 'n', executable: new Command('true') }) })
  const script: LoadedScript = {
    file: '/x/flow.ts',
    shown: 'flow.ts',
    workflows: [
      { exportName: 'default', workflow: make('build') },
      { exportName: 'deploy', workflow: make('ship') },
    ],
  }

  it('by workflow name, then by export name; all of them without a name', () => {
    expect(selectWorkflows(script, undefined)).toHaveLength(2)
    expect(selectWorkflows(script, 'ship')[0]!.exportName).toBe('deploy')
    expect(selectWorkflows(script, 'deploy')[0]!.workflow.name).toBe('ship')
    expect(() => selectWorkflows(script, 'test')).toThrow('flow.ts has no workflow named "test"; it has "build", "ship". `wtflow list flow.ts` shows them.')
  })
})
