import { INI_SECTIONS, KEY_FIELDS, KEY_SPECS, type KeySpec } from './keys.js'

const WIDTH = 92

/**
 * The text of `config.example.ini`: every key of the table with its documentation, environment
 * variable and default. The repository's file is this text (a test compares them).
 */
export function renderExampleIni(): string {
  const lines = [
    '; wtflow configuration. Copy to ./wtflow.ini (read automatically), or point to a file',
    '; with WTFLOW_CONFIG=path or `wtflow run --config path`.',
    '; Precedence: built-in defaults < this file < WTFLOW_* environment variables < CLI flags.',
    '; Relative paths in this file are resolved from the file\'s own directory. Quote values that',
    '; contain ; or # (they start a comment otherwise): key = "a;b".',
  ]
  for (const section of INI_SECTIONS) {
    lines.push('', `[${section}]`)
    if (section === 'secrets') {
      lines.push(
        ...comment('NAME = value: every value listed here is written as *** in every artifact, even when a command prints it one byte at a time. Names are only labels.'),
        '; api_token = s3cr3t',
      )
      continue
    }
    for (const field of KEY_FIELDS) {
      const spec = KEY_SPECS[field] as KeySpec<unknown>
      if (spec.section !== section) continue
      lines.push(...comment(spec.doc))
      if (spec.accepts !== undefined) lines.push(...comment(`Accepts ${spec.accepts}.`))
      lines.push(`; Environment: ${spec.env}. Default: ${spec.default}`)
      lines.push(`${spec.key} = ${spec.default}`)
    }
  }
  return `${lines.join('\n')}\n`
}

/** Text as `; ` comment lines of at most WIDTH characters. */
function comment(text: string): string[] {
  const lines: string[] = []
  let line = ';'
  for (const word of text.split(' ')) {
    if (line.length + 1 + word.length > WIDTH && line !== ';') {
      lines.push(line)
      line = ';'
    }
    line += ` ${word}`
  }
  lines.push(line)
  return lines
}
