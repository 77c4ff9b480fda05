import { describe, expect, it } from 'vitest'
import * as cli from '../src/index.js'

describe('the public contract of @wtflow/cli', () => {
  it('exports exactly these values (types aside)', () => {
    expect(Object.keys(cli).sort()).toMatchInlineSnapshot(`
      [
        "CliError",
        "ExitCode",
        "main",
      ]
    `)
  })
})
