import { describe, expect, it } from 'vitest'
import { isLoopbackHost } from '../src/index.js'
import { tokenMatches } from '../src/http/security.js'
import { utf8Boundary } from '../src/service/artifact-files.js'
import { parseInputLines } from '../src/ui/ui-routes.js'

describe('small pieces', () => {
  it('finds the last whole UTF-8 character of a chunk', () => {
    const text = Buffer.from('a€😀', 'utf8') // 1 + 3 + 4 bytes
    expect(utf8Boundary(text)).toBe(8)
    for (const [cut, boundary] of [[1, 1], [2, 1], [3, 1], [4, 4], [5, 4], [6, 4], [7, 4], [8, 8]] as const) {
      expect(utf8Boundary(text, cut), `cut at ${cut}`).toBe(boundary)
    }
    // Bytes that are not UTF-8 at all pass through (they become U+FFFD, as in the raw log view).
    expect(utf8Boundary(Buffer.from([0xff, 0xfe, 0x41]))).toBe(3)
  })

  it('tells loopback addresses from others', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(host), host).toBe(true)
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1']) expect(isLoopbackHost(host), host).toBe(false)
  })

  it('compares tokens whatever their lengths', () => {
    expect(tokenMatches('s3cret', 's3cret')).toBe(true)
    for (const given of [undefined, '', 's3cre', 's3cret ', 'S3CRET', 's3cret'.repeat(100)]) expect(tokenMatches(given, 's3cret')).toBe(false)
  })

  it('reads the trigger form’s NAME=value lines', () => {
    expect(parseInputLines('day = 2026-12-01\n\n# a comment\nurl=https://x/?a=b\r\n')).toEqual({ day: '2026-12-01', url: 'https://x/?a=b' })
    expect(() => parseInputLines('day\n')).toThrow('inputs, line 1: "day" is not NAME=value')
  })
})
