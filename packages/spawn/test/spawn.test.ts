import { spawn as nodeSpawn } from 'node:child_process'
import { once } from 'node:events'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, realpathSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { Worker } from 'node:worker_threads'
import { describe, expect, it } from 'vitest'
import { killGroup, spawnProcess, SpawnError, type SpawnBackendName, type SpawnOptions } from '../src/index.js'
import { addonPath } from '../src/native-backend.js'
import { inheritableFds, isRunning, killAtEnd, openFds, procStat, tempDir, text, zombieChildren } from './helpers.js'

// WTFLOW_SPAWN=node runs only the fallback (a machine without a compiler); otherwise both paths
// run and the native one must be built: a missing addon fails here instead of hiding.
const BACKENDS: SpawnBackendName[] = process.env['WTFLOW_SPAWN'] === 'node' ? ['node'] : ['native', 'node']
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' }

for (const backend of BACKENDS) {
  describe(`${backend} backend`, () => {
    const run = (options: SpawnOptions) => spawnProcess({ env, ...options, backend })

    describe('exit status', () => {
      it('reports the exit code', async () => {
        const ok = await run({ file: 'true', stdout: 'ignore', stderr: 'ignore' })
        expect(ok.backend).toBe(backend)
        expect(await ok.exited).toEqual({ exitCode: 0, signal: null })
        const failed = await run({ file: 'exit 7', shell: true, stdout: 'ignore', stderr: 'ignore' })
        expect(await failed.exited).toEqual({ exitCode: 7, signal: null })
      })

      it('reports the signal that killed the child', async () => {
        const self = await run({ file: 'kill -TERM $$', shell: true, stdout: 'ignore', stderr: 'ignore' })
        expect(await self.exited).toEqual({ exitCode: null, signal: 'SIGTERM' })
        const sleeper = await run({ file: 'sleep', args: ['300'], stdout: 'ignore', stderr: 'ignore' })
        killAtEnd(sleeper.pid)
        expect(killGroup(sleeper.pid, 'SIGKILL')).toBe(true)
        expect(await sleeper.exited).toEqual({ exitCode: null, signal: 'SIGKILL' })
        expect(killGroup(sleeper.pid, 'SIGKILL')).toBe(false)
      })

      it('resolves exited when the child ends even if a grandchild keeps its pipes open', async () => {
        const child = await run({ file: 'sleep 300 & echo started', shell: true, stdout: 'pipe', stderr: 'pipe' })
        killAtEnd(child.pid)
        expect(await child.exited).toEqual({ exitCode: 0, signal: null })
        const stdout = text(child.stdout)
        // The grandchild still holds stdout; killing the group is what ends the stream.
        expect(killGroup(child.pid, 'SIGKILL')).toBe(true)
        expect(await stdout).toBe('started\n')
      })
    })

    describe('argv, shell, cwd and environment', () => {
      it('passes argv elements as they are, with no shell', async () => {
        const args = ['%s|', 'a b', "c'd", '$HOME', '*', '', 'é']
        const child = await run({ file: 'printf', args, stderr: 'ignore' })
        expect(await text(child.stdout)).toBe("a b|c'd|$HOME|*||é|")
        expect(await child.exited).toEqual({ exitCode: 0, signal: null })
      })

      it('runs a command line through /bin/sh -c', async () => {
        const child = await run({ file: 'echo $((1 + 2)) | tr 3 x; echo oops >&2', shell: true })
        const [stdout, stderr] = await Promise.all([text(child.stdout), text(child.stderr)])
        expect({ stdout, stderr }).toEqual({ stdout: 'x\n', stderr: 'oops\n' })
        expect(await child.exited).toEqual({ exitCode: 0, signal: null })
      })

      it('runs in the given directory, where a relative program path is resolved', async () => {
        const dir = realpathSync(tempDir())
        writeFileSync(path.join(dir, 'here.sh'), '#!/bin/sh\npwd\n', { mode: 0o755 })
        const child = await run({ file: './here.sh', cwd: dir, stderr: 'ignore' })
        expect(await text(child.stdout)).toBe(`${dir}\n`)
        expect(await child.exited).toEqual({ exitCode: 0, signal: null })
      })

      it('gives the child exactly the environment it is given', async () => {
        const child = await run({ file: 'env', env: { ...env, ONE: '1', EMPTY: '', SKIPPED: undefined }, stderr: 'ignore' })
        const lines = (await text(child.stdout)).trim().split('\n').sort()
        expect(lines).toEqual([`EMPTY=`, `LC_ALL=C`, `ONE=1`, `PATH=${env.PATH}`])
      })

      it("looks the program up in the child's PATH, not this process's", async () => {
        const dir = tempDir()
        writeFileSync(path.join(dir, 'only-here'), '#!/bin/sh\necho found me\n', { mode: 0o755 })
        const child = await run({ file: 'only-here', env: { PATH: `/nonexistent:${dir}` }, stderr: 'ignore' })
        expect(await text(child.stdout)).toBe('found me\n')
        await expect(run({ file: 'only-here', stdout: 'ignore' })).rejects.toMatchObject({ code: 'ENOENT' })
      })

      it('runs a script without a #! line through /bin/sh, as execvp does', async () => {
        const dir = tempDir()
        writeFileSync(path.join(dir, 'plain'), 'echo "plain script $1"\n', { mode: 0o755 })
        const child = await run({ file: path.join(dir, 'plain'), args: ['ran'], stderr: 'ignore' })
        expect(await text(child.stdout)).toBe('plain script ran\n')
        expect(await child.exited).toEqual({ exitCode: 0, signal: null })
      })

      it('starts the child with default signal dispositions and no blocked signal (Node ignores SIGPIPE)', async () => {
        const child = await run({ file: 'grep -E "^Sig(Ign|Blk)" /proc/self/status', shell: true, stderr: 'ignore' })
        expect(await text(child.stdout)).toBe('SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n')
      })

      it('refuses a NUL byte in an argument or variable instead of cutting it short', async () => {
        await expect(run({ file: 'echo', args: ['a\0b'] })).rejects.toThrow('an argument contains a NUL byte')
        await expect(run({ file: 'true', env: { X: 'a\0b' } })).rejects.toThrow('invalid environment variable "X"')
        await expect(run({ file: 'true', args: ['x'], shell: true })).rejects.toThrow('`args` cannot be used with `shell: true`')
      })
    })

    describe('output', () => {
      it('writes stdout straight into a given file descriptor', async () => {
        const file = path.join(tempDir(), 'out.txt')
        const fd = openSync(file, 'w')
        try {
          const child = await run({ file: 'printf "one\\ntwo\\n"; echo err >&2', shell: true, stdout: fd })
          expect(child.stdout).toBeNull()
          expect(await text(child.stderr)).toBe('err\n')
          expect(await child.exited).toEqual({ exitCode: 0, signal: null })
        } finally {
          closeSync(fd)
        }
        expect(readFileSync(file, 'utf8')).toBe('one\ntwo\n')
      })

      it('sends stderr where stdout goes when given fd 1 of the child', async () => {
        const file = path.join(tempDir(), 'both.txt')
        const fd = openSync(file, 'w')
        try {
          const child = await run({ file: 'echo out; echo err >&2', shell: true, stdout: fd, stderr: fd })
          expect(await child.exited).toEqual({ exitCode: 0, signal: null })
        } finally {
          closeSync(fd)
        }
        expect(readFileSync(file, 'utf8')).toBe('out\nerr\n')
      })

      it('streams large output through both pipes at once, with no loss', async () => {
        const file = path.join(tempDir(), 'random')
        const data = randomBytes(32 * 1024 * 1024)
        writeFileSync(file, data)
        const child = await run({ file: `cat ${file} & cat ${file} >&2; wait`, shell: true })
        const digest = async (stream: Readable | null) => {
          const hash = createHash('sha256')
          let bytes = 0
          for await (const chunk of stream!) {
            hash.update(chunk as Buffer)
            bytes += (chunk as Buffer).length
          }
          return { bytes, sha256: hash.digest('hex') }
        }
        const expected = { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') }
        expect(await Promise.all([digest(child.stdout), digest(child.stderr)])).toEqual([expected, expected])
        expect(await child.exited).toEqual({ exitCode: 0, signal: null })
      })

      it('applies backpressure: a paused reader blocks the child in write(), and nothing is lost', async () => {
        const size = 8 * 1024 * 1024
        const child = await run({ file: 'head', args: ['-c', String(size), '/dev/zero'], stderr: 'ignore' })
        killAtEnd(child.pid)
        child.stdout!.pause()
        // The pipe (or socket pair, for Node) and the stream's buffer fill up; then the child
        // sleeps in the kernel's write.
        await expect.poll(() => readFileSync(`/proc/${child.pid}/wchan`, 'utf8'), { timeout: 20_000 }).toMatch(/pipe_write|sock_alloc_send|unix_stream/)
        let exited = false
        void child.exited.then(() => (exited = true))
        expect(exited).toBe(false)
        expect(child.stdout!.readableLength).toBeLessThan(size)
        let bytes = 0
        child.stdout!.on('data', (chunk: Buffer) => (bytes += chunk.length))
        child.stdout!.resume()
        await new Promise(resolve => child.stdout!.once('close', resolve))
        expect(bytes).toBe(size)
        expect(await child.exited).toEqual({ exitCode: 0, signal: null })
      })
    })

    describe('process group and descriptors', () => {
      it('makes the child a session and group leader; a grandchild in its group dies with kill(-pgid)', async () => {
        const dir = tempDir()
        const child = await run({ file: `sleep 300 & echo $! > ${dir}/grandchild; exec sleep 300`, shell: true, stdout: 'ignore', stderr: 'ignore' })
        killAtEnd(child.pid)
        expect(procStat(child.pid)).toMatchObject({ pgrp: child.pid, session: child.pid, ppid: process.pid })
        await expect.poll(() => readFileSync(`${dir}/grandchild`, 'utf8').trim()).toMatch(/^\d+$/)
        const grandchild = Number(readFileSync(`${dir}/grandchild`, 'utf8'))
        expect(procStat(grandchild)).toMatchObject({ pgrp: child.pid, session: child.pid })
        expect(killGroup(child.pid, 'SIGTERM')).toBe(true)
        expect(await child.exited).toEqual({ exitCode: null, signal: 'SIGTERM' })
        await expect.poll(() => isRunning(grandchild)).toBe(false)
      })

      it('leaves the child no descriptor but 0, 1 and 2, stdin being /dev/null', async () => {
        // The shell lists its own descriptors while it waits for ls (right after exec, the
        // dynamic loader of a new program holds one for a moment: not a leak).
        const child = await run({ file: 'ls /proc/$$/fd; readlink /proc/$$/fd/0', shell: true, stdout: 'pipe', stderr: 'pipe' })
        // Node's child_process cannot close what this process holds without close-on-exec (the
        // native path closes everything from 3 up); the test host may hold such descriptors.
        const leaked = backend === 'node' ? inheritableFds() : []
        expect((await text(child.stdout)).trim().split('\n')).toEqual(['0', '1', '2', ...leaked, '/dev/null'])
        expect(await child.exited).toEqual({ exitCode: 0, signal: null })
      })

      it('reports exits right while child_process children come and go (libuv reaps only its own)', async () => {
        const ours = Array.from({ length: 20 }, (_, i) => run({ file: `exit ${i}`, shell: true, stdout: 'ignore', stderr: 'ignore' }))
        const theirs = Array.from({ length: 20 }, (_, i) =>
          new Promise<number | null>(resolve => nodeSpawn('sh', ['-c', `exit ${i + 100}`]).once('exit', resolve)),
        )
        const statuses = await Promise.all(ours.map(async child => (await (await child).exited).exitCode))
        expect(statuses).toEqual(Array.from({ length: 20 }, (_, i) => i))
        expect(await Promise.all(theirs)).toEqual(Array.from({ length: 20 }, (_, i) => i + 100))
      })

      it('100 spawns at once, each with its own output and status', async () => {
        const children = await Promise.all(
          Array.from({ length: 100 }, (_, i) => run({ file: `echo ${i}; echo e${i} >&2; exit $((${i} % 7))`, shell: true })),
        )
        const results = await Promise.all(
          children.map(async child => ({ out: await text(child.stdout), err: await text(child.stderr), status: await child.exited })),
        )
        expect(results).toEqual(
          Array.from({ length: 100 }, (_, i) => ({ out: `${i}\n`, err: `e${i}\n`, status: { exitCode: i % 7, signal: null } })),
        )
        expect(new Set(children.map(child => child.pid)).size).toBe(100)
      })

      it('1,000 spawns in a row leak no descriptor and leave no zombie', async () => {
        const file = path.join(tempDir(), 'out')
        const fd = openSync(file, 'w')
        const before = openFds()
        try {
          for (let i = 0; i < 1000; i++) {
            const child = await run({ file: 'true', stdout: fd, stderr: 'pipe' })
            child.stderr!.resume()
            await Promise.all([child.exited, new Promise(resolve => child.stderr!.once('close', resolve))])
          }
        } finally {
          closeSync(fd)
        }
        // Earlier tests' sockets may close meanwhile: fewer is fine, none may be added.
        expect(openFds().length).toBeLessThanOrEqual(before.length - 1)
        expect(zombieChildren()).toEqual([])
      })
    })

    describe('spawn errors', () => {
      it('a missing program: ENOENT, like spawn /nonexistent ENOENT', async () => {
        const error = await run({ file: '/nonexistent/program', args: ['x'] }).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(SpawnError)
        expect(error).toMatchObject({
          code: 'ENOENT',
          errno: -2,
          syscall: 'spawn /nonexistent/program',
          path: '/nonexistent/program',
          spawnargs: ['x'],
          message: 'spawn /nonexistent/program ENOENT: no such file /nonexistent/program',
        })
        await expect(run({ file: 'no-such-program-anywhere', env: { PATH: '/usr/bin:/bin' } })).rejects.toThrow(
          'spawn no-such-program-anywhere ENOENT: no program no-such-program-anywhere in PATH (/usr/bin:/bin); install it, or give its full path',
        )
      })

      it('a file that is not executable, or a directory: EACCES', async () => {
        const dir = tempDir()
        const file = path.join(dir, 'data.txt')
        writeFileSync(file, 'not a program\n')
        chmodSync(file, 0o644)
        for (const target of [file, dir]) {
          await expect(run({ file: target })).rejects.toMatchObject({
            code: 'EACCES',
            path: target,
            message: `spawn ${target} EACCES: ${target} is not an executable file (a directory, no execute permission, or a noexec mount); chmod +x it or run it through its interpreter`,
          })
        }
        // Found in PATH but not executable there, and nowhere else: EACCES too, as execvp says.
        await expect(run({ file: 'data.txt', env: { PATH: dir } })).rejects.toMatchObject({ code: 'EACCES' })
      })

      it('a missing working directory or one that is a file: the error names the directory', async () => {
        const dir = tempDir()
        const missing = path.join(dir, 'missing')
        await expect(run({ file: 'true', cwd: missing })).rejects.toMatchObject({
          code: 'ENOENT',
          path: missing,
          message: `spawn true ENOENT: the working directory ${missing} does not exist; create it or run from another directory`,
        })
        writeFileSync(path.join(dir, 'file'), '')
        await expect(run({ file: 'true', cwd: path.join(dir, 'file') })).rejects.toMatchObject({
          code: 'ENOTDIR',
          path: path.join(dir, 'file'),
        })
      })

      it('a 1 MB environment variable: E2BIG, naming the variable and the limit', async () => {
        await expect(run({ file: 'true', env: { ...env, HUGE: 'x'.repeat(1024 * 1024) } })).rejects.toMatchObject({
          code: 'E2BIG',
          message:
            "spawn true E2BIG: the environment variable HUGE is 1,048,582 bytes, over Linux's limit of 131,072 bytes for one argument or variable; pass large values in a file (an artifact) instead",
        })
        const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`V${i}`, 'y'.repeat(100_000)]))
        await expect(run({ file: 'true', env: { ...env, ...many } })).rejects.toThrow(
          /^spawn true E2BIG: the arguments and environment take 4,\d{3},\d{3} bytes, over the system's limit/,
        )
      })

      it('leaves no child and no descriptor behind after failures', async () => {
        const before = openFds().length
        for (let i = 0; i < 50; i++) {
          await expect(run({ file: '/nonexistent', stdout: 'pipe', stderr: 'pipe' })).rejects.toThrow(SpawnError)
          await expect(run({ file: 'true', cwd: '/nonexistent', stdout: 'pipe', stderr: 'pipe' })).rejects.toThrow(SpawnError)
        }
        // Earlier tests' sockets may close meanwhile: fewer is fine, a leak would add a hundred.
        expect(openFds().length).toBeLessThanOrEqual(before)
        expect(zombieChildren()).toEqual([])
      })
    })
  })
}

describe.skipIf(!BACKENDS.includes('native'))('the addon in a worker thread', () => {
  it('survives the worker ending while its child runs, and while a spawn is under way', async () => {
    // The raw addon (the package's TypeScript cannot load in a worker here): spawn a quick child
    // and wait for it, then a sleeper, and a third spawn that is still in the pool when the
    // worker is terminated. Node must wait for the addon's handles; nothing may crash.
    const code = `
      const { parentPort, workerData } = require('node:worker_threads')
      const addon = require(workerData.addonPath)
      const env = 'PATH=' + process.env.PATH
      const spawn = (file, args) => new Promise((resolve, reject) => {
        let exited
        const done = new Promise(r => (exited = r))
        addon.spawn(file, [file, ...args].join('\\0'), env, '', -2, -1, (code, signal) => exited({ code, signal }),
          (error, result) => (error ? reject(error) : resolve({ pid: result[0], done })))
      })
      ;(async () => {
        const quick = await spawn('true', [])
        const status = await quick.done
        const sleeper = await spawn('sleep', ['300'])
        void spawn('sleep', ['1'])
        parentPort.postMessage({ status, pid: sleeper.pid })
      })()
    `
    const worker = new Worker(code, { eval: true, workerData: { addonPath } })
    const message = (await once(worker, 'message')) as [{ status: unknown; pid: number }]
    const { status, pid } = message[0]
    killAtEnd(pid)
    expect(status).toEqual({ code: 0, signal: null })
    expect(await worker.terminate()).toBe(1)
    // The sleeper outlives its worker (nobody is left to wait for it); the host goes on spawning.
    expect(isRunning(pid)).toBe(true)
    killGroup(pid, 'SIGKILL')
    const child = await spawnProcess({ file: 'true', env, stdout: 'ignore', stderr: 'ignore', backend: 'native' })
    expect(await child.exited).toEqual({ exitCode: 0, signal: null })
  })
})

describe('descriptors without close-on-exec in the host', () => {
  it.skipIf(!BACKENDS.includes('native'))('are closed in the child on the native path', async () => {
    // A host that inherited a descriptor without FD_CLOEXEC: fd 3 of a node process started with
    // an extra stdio pipe. It spawns a shell that lists its own descriptors.
    const dir = tempDir()
    mkdirSync(dir, { recursive: true })
    const script = path.join(dir, 'host.mts')
    writeFileSync(
      script,
      `import { readdirSync } from 'node:fs'
import { spawnProcess } from ${JSON.stringify(path.resolve(import.meta.dirname, '../src/index.ts'))}
const host = readdirSync('/proc/self/fd')
const child = await spawnProcess({ file: 'ls /proc/$$/fd', shell: true, stdout: 'pipe', stderr: 'ignore', backend: 'native' })
let listing = ''
for await (const chunk of child.stdout!) listing += chunk
await child.exited
console.log(JSON.stringify({ host, fds: listing.trim().split('\\n') }))
`,
    )
    const host = nodeSpawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] })
    const [output, errors, code] = await Promise.all([text(host.stdout), text(host.stderr), new Promise(resolve => host.once('exit', resolve))])
    expect({ code, errors }).toEqual({ code: 0, errors: '' })
    const { host: hostFds, fds } = JSON.parse(output) as { host: string[]; fds: string[] }
    expect(hostFds).toContain('3')
    expect(fds.sort()).toEqual(['0', '1', '2'])
  })
})
