import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, writeFileSync, writeSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ArtifactSink, ArtifactStore, encodePathSegment } from '../src/artifacts/artifact-store.js'
import { Command, Engine, Node, Workflow } from '../src/index.js'
import { StreamRedactor } from '../src/artifacts/redactor.js'
import { readOr, tempDir, testConfig, waitFor } from './helpers.js'

function redactInPieces(secrets: string[], text: string, pieceSize: number): string {
  const redactor = new StreamRedactor(secrets)
  const input = Buffer.from(text)
  const out: Buffer[] = []
  for (let i = 0; i < input.length; i += pieceSize) out.push(redactor.push(input.subarray(i, i + pieceSize)))
  out.push(redactor.end())
  return Buffer.concat(out).toString()
}

describe('secret redaction', () => {
  const text = 'token=hunter2 and again hunter2hunter2; the api key is s3cr3t-KEY, then hunter2.'
  const expected = 'token=*** and again ******; the api key is ***, then ***.'

  it('masks secrets whatever the chunk boundaries, down to one byte at a time', () => {
    for (const size of [1, 2, 3, 5, 7, 64, 1024]) {
      expect(redactInPieces(['hunter2', 's3cr3t-KEY'], text, size), `chunks of ${size}`).toBe(expected)
    }
  })

  it('prefers the longest secret when secrets overlap, and handles multi-byte text', () => {
    expect(redactInPieces(['abc', 'abcdef'], 'xxabcdefxx abc', 1)).toBe('xx***xx ***')
    expect(redactInPieces(['pässwörd'], 'ünïcode pässwörd ✓', 1)).toBe('ünïcode *** ✓')
  })

  it('passes text through untouched without secrets', () => {
    expect(redactInPieces([], text, 3)).toBe(text)
  })

  it('never writes a secret to disk, even written one byte at a time by a command', async () => {
    const engine = new Engine({ config: testConfig({ secrets: { API_TOKEN: 'tok-123456' } }), secrets: ['other-secret'], handleSignals: false })
    const script = `for c in t o k - 1 2 3 4 5 6; do printf $c; done; echo; printf 'other-' >&2; printf 'secret\\n' >&2`
    const result = await engine.run(new Workflow({ name: 'secrets', root: new Node({ name: 'leak', executable: new Command(script) }) }))
    const [stdout, stderr] = result.nodes[0]!.artifacts
    expect(readFileSync(stdout!.path, 'utf8')).toBe('***\n')
    expect(readFileSync(stderr!.path, 'utf8')).toBe('***\n')
    expect(stdout!.size).toBe(4)
    expect(stdout!.sha256).toBe(createHash('sha256').update('***\n').digest('hex'))
  })
})

describe('artifact store', () => {
  it('encodes node names so that none reaches outside the run directory', () => {
    const names = ['..', '.', '../../x', '..\\..\\x', 'a/b', '.hidden', 'spaces and ünïcødé ✓', 'stdout.log', 'x'.repeat(400), '%2E', '\u0000nul']
    const store = new ArtifactStore(tempDir())
    const runDir = store.runDir('run')
    const dirs = names.map(name => store.nodeDir(runDir, ['root', name]))
    for (const dir of dirs) {
      expect(path.resolve(dir).startsWith(path.join(runDir, 'root') + path.sep)).toBe(true)
      expect(path.basename(dir)).not.toMatch(/^\.\.?$/)
      expect(Buffer.byteLength(path.basename(dir))).toBeLessThanOrEqual(255)
    }
    expect(new Set(dirs).size).toBe(names.length)
    expect(encodePathSegment('spaces and ünïcødé ✓')).toBe('spaces and ünïcødé ✓')
    expect(encodePathSegment('..')).toBe('%2E.')
    expect(encodePathSegment('../../x')).toBe('%2E.%2F..%2Fx')
    expect(encodePathSegment('stdout.log')).toBe('%73tdout.log')
  })

  it('stores odd node names of a real run inside the run directory', async () => {
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    const names = ['spaces and ünïcødé ✓', '...', '.env', '%41']
    const result = await engine.run(
      new Workflow({ name: 'names', root: new Node({ name: 'root', children: names.map(name => new Node({ name, executable: new Command(['echo', name]) })) }) }),
    )
    expect(result.status).toBe('succeeded')
    const dirs = readdirSync(path.join(result.runDir, 'root')).filter(entry => !entry.endsWith('.log'))
    expect(dirs.sort()).toEqual(['%2E..', '%2Eenv', '%2541', 'spaces and ünïcødé ✓'].sort())
    for (const name of names) {
      const n = result.nodes.find(x => x.name === name)!
      expect(readFileSync(n.artifacts[0]!.path, 'utf8')).toBe(`${name}\n`)
    }
  })

  it('computes size and sha256 while streaming', async () => {
    const file = path.join(tempDir(), 'out.log')
    const sink = new ArtifactSink('stdout', file, [])
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 'abc')
    for (let i = 0; i < data.length; i += 65536) sink.write(data.subarray(i, i + 65536))
    const info = await sink.finish()
    expect(info).toEqual({ name: 'stdout', path: file, size: data.length, sha256: createHash('sha256').update(data).digest('hex') })
  })

  it('hashes a direct-mode file that grew far past one pass of its tail before the tail ran', async () => {
    const dir = tempDir()
    const sink = new ArtifactSink('stdout', path.join(dir, 'node', 'stdout.log'), [])
    const fd = sink.openDirect(path.join(dir, 'spooled'))
    // 40 MB before the event loop turns: the tail reads it in several passes (16 MB each), yielding between them.
    const data = Buffer.alloc(40 * 1024 * 1024 + 3, 'xyz\n')
    for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset)
    let turns = 0
    const ticker = setInterval(() => turns++, 0)
    const info = await sink.finish()
    clearInterval(ticker)
    expect(info).toEqual({ name: 'stdout', path: path.join(dir, 'node', 'stdout.log'), size: data.length, sha256: createHash('sha256').update(data).digest('hex') })
    expect(readFileSync(info!.path).equals(data)).toBe(true)
    expect(turns).toBeGreaterThan(0) // the event loop ran while the tail worked through the file
  })

  for (const mode of ['direct to the file', 'through a pipe'] as const) {
    it(`captures large output exactly, ${mode}`, async () => {
      const engine = new Engine({ config: testConfig(), handleSignals: false })
      // An output listener makes the engine pass the bytes through itself.
      if (mode === 'through a pipe') engine.on('node:output', () => {})
      const command = `yes "$(printf '%063d' 7)" | head -c 20000000`
      const result = await engine.run(new Workflow({ name: 'large', root: new Node({ name: 'large', executable: new Command(command) }) }))
      const stdout = result.nodes[0]!.artifacts.find(a => a.name === 'stdout')!
      const expected = Buffer.alloc(20_000_000, `${'0'.repeat(62)}7\n`)
      expect(stdout.size).toBe(expected.length)
      expect(stdout.sha256).toBe(createHash('sha256').update(expected).digest('hex'))
      expect(createHash('sha256').update(readFileSync(stdout.path)).digest('hex')).toBe(stdout.sha256)
    })
  }

  it('leaves nothing behind for silent nodes: no stdout.log, no spooled file', async () => {
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    const children = [
      new Node({ name: 'silent', executable: new Command(['true']) }),
      new Node({ name: 'talks', executable: new Command('echo hi') }),
      new Node({ name: 'silent-too', executable: new Command('exit 0') }),
    ]
    const result = await engine.run(new Workflow({ name: 'quiet', root: new Node({ name: 'root', parallel: true, children }) }))
    expect(result.status).toBe('succeeded')
    expect(readdirSync(result.runDir)).toEqual(['root'])
    expect(readdirSync(path.join(result.runDir, 'root')).sort()).toEqual(['talks'])
    expect(readFileSync(path.join(result.runDir, 'root', 'talks', 'stdout.log'), 'utf8')).toBe('hi\n')
    expect(result.nodes.find(n => n.name === 'silent')!.artifacts).toEqual([])
  })

  it('keeps output it cannot move into the node directory in the spool, and fails the node', async () => {
    const dir = tempDir()
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    let runDir = ''
    engine.on('run:start', e => (runDir = e.runDir))
    // The command prints only once the test has put a file where the node's directory goes.
    const command = `while [ ! -f ${dir}/go ]; do sleep 0.01; done; echo precious`
    const running = engine.run(new Workflow({ name: 'blocked', root: new Node({ name: 'n', executable: new Command(command), timeout: 20_000 }) }))
    await waitFor(() => runDir, 'the run to start')
    writeFileSync(path.join(runDir, 'n'), 'not a directory')
    writeFileSync(`${dir}/go`, '')
    const result = await running
    expect(result.nodes[0]!.status).toBe('failed')
    expect(result.nodes[0]!.error?.code).toBe('WTFLOW_ARTIFACT_WRITE')
    expect(readdirSync(path.join(runDir, '%spool')).map(name => readFileSync(path.join(runDir, '%spool', name), 'utf8'))).toEqual(['precious\n'])
  })

  it('streams output to disk while the node runs, so another process can tail it', async () => {
    const dir = tempDir()
    const engine = new Engine({ config: testConfig(), handleSignals: false })
    let stdoutPath = ''
    engine.on('run:start', e => (stdoutPath = path.join(e.runDir, 'live', 'stdout.log')))
    // Prints a line, then waits until the test has seen it in the file.
    const command = `echo first line; while [ ! -f ${dir}/seen ]; do sleep 0.01; done; echo second line`
    const running = engine.run(new Workflow({ name: 'live', root: new Node({ name: 'live', executable: new Command(command), timeout: 20_000 }) }))
    await waitFor(() => readOr(stdoutPath) === 'first line\n', 'the first line on disk')
    writeFileSync(`${dir}/seen`, '')
    const result = await running
    expect(result.nodes[0]!.status).toBe('succeeded')
    expect(readFileSync(stdoutPath, 'utf8')).toBe('first line\nsecond line\n')
    expect(existsSync(path.join(path.dirname(stdoutPath), 'stderr.log'))).toBe(false) // nothing was printed on stderr, so no file was created
  })
})
