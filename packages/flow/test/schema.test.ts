/** What ships beside the code agrees with it: schema.json, the README's key table. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { flowJsonSchema, FlowSchema } from '../src/index.js'
import { KEY_TABLE_END, KEY_TABLE_START, keyTable } from '../src/key-table.js'

const read = (relative: string) => readFileSync(new URL(relative, import.meta.url), 'utf8')

function tableIn(readme: string): string | null {
  const start = readme.indexOf(KEY_TABLE_START)
  const end = readme.indexOf(KEY_TABLE_END)
  return start < 0 || end < start ? null : readme.slice(start + KEY_TABLE_START.length, end).trim()
}

describe('shipped schema and docs', () => {
  it('schema.json is what the schema produces (npm run build writes it)', () => {
    expect(JSON.parse(read('../schema.json'))).toEqual(flowJsonSchema())
  })

  it('the JSON Schema describes every key the parser accepts', () => {
    const schema = flowJsonSchema() as { properties: Record<string, unknown>; $defs: { step: { properties: Record<string, unknown>; not: unknown; dependentRequired: unknown } } }
    expect(Object.keys(schema.properties)).toEqual(Object.keys(FlowSchema.shape))
    expect(Object.keys(schema.$defs.step.properties)).toContain('steps')
    expect(schema.$defs.step.dependentRequired).toEqual({ with: ['uses'] })
    expect(JSON.stringify(schema.$defs.step.not)).toContain('"required":["run"]')
  })

  it("the README's key table is the one generated from the schema (npm run docs -w @wtflow/flow writes it)", () => {
    expect(tableIn(read('../README.md'))).toBe(keyTable())
    // The repository's README, once it holds the section.
    const root = tableIn(read('../../../README.md'))
    if (root !== null) expect(root).toBe(keyTable())
  })
})
