import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FileArtifact } from '../src/index.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'wtflow-artifact-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function file(name: string, content: string | Uint8Array): Promise<string> {
  const target = path.join(dir, name)
  await writeFile(target, content)
  return target
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const line of lines) out.push(line)
  return out
}

describe('FileArtifact', () => {
  it('reads text, bytes and JSON lazily', async () => {
    const target = await file('result.json', '{"sum":5,"text":"é"}')
    const artifact = await FileArtifact.fromPath(target, 'result')
    expect(artifact).toMatchObject({ name: 'result', path: target, size: 21 })
    expect(await artifact.text()).toBe('{"sum":5,"text":"é"}')
    expect(await artifact.json<{ sum: number }>()).toEqual({ sum: 5, text: 'é' })
    const bytes = await artifact.bytes()
    expect(bytes).toBeInstanceOf(Uint8Array)
    expect(bytes.byteLength).toBe(21)
    expect(String(artifact)).toBe(target)
    expect(JSON.stringify(artifact)).toBe(JSON.stringify({ name: 'result', path: target, size: 21 }))
  })

  it('streams lines without their line endings', async () => {
    const artifact = await FileArtifact.fromPath(await file('log.txt', 'one\r\ntwo\n\nfour\nlast without newline'))
    expect(artifact.name).toBe('log.txt')
    expect(await collect(artifact.lines())).toEqual(['one', 'two', '', 'four', 'last without newline'])
    expect(await collect((await FileArtifact.fromPath(await file('empty.txt', ''))).lines())).toEqual([])
    expect(await collect((await FileArtifact.fromPath(await file('nl.txt', 'a\n'))).lines())).toEqual(['a'])
  })

  it('streams big files line by line, and stops reading when the loop breaks', async () => {
    const lineCount = 100_000
    const target = await file('big.txt', Array.from({ length: lineCount }, (_, i) => `line ${i}`).join('\n') + '\n')
    const artifact = await FileArtifact.fromPath(target)
    let count = 0
    for await (const line of artifact.lines()) {
      if (count === 0) expect(line).toBe('line 0')
      count++
    }
    expect(count).toBe(lineCount)
    for await (const line of artifact.lines()) {
      expect(line).toBe('line 0')
      break
    }
  })

  it('fails reading a file that does not exist', async () => {
    const artifact = new FileArtifact('gone', path.join(dir, 'missing.txt'), 0)
    await expect(artifact.text()).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(collect(artifact.lines())).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
