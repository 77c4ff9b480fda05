/**
 * Processes that try to get away: a daemon in its own session holding the node's pipes, one that
 * escapes a timeout's group kill, and a wall clock set back while a group is being stopped.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Command, Engine, Node, Workflow } from '../src/index.js'
import { isAlive, tempDir, testConfig, waitFor } from './helpers.js'
import { SPAWN_BACKENDS, useSpawnBackend } from './spawn-backends.js'

const leftovers: number[] = []
afterEach(() => {
  vi.useRealTimers()
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone, as it should be
    }
  }
})

function pidIn(file: string): number {
  const pid = Number(readFileSync(file, 'utf8').trim())
  leftovers.push(pid)
  return pid
}

function engine(killGraceMs = 300): Engine {
  return new Engine({ config: testConfig({ killGraceMs }), handleSignals: false })
}

for (const backend of SPAWN_BACKENDS) describe(`processes that leave the process group (${backend} spawn)`, () => {
  useSpawnBackend(backend)

  it('a daemon started with setsid that keeps stdout open does not hang its node, and does not outlive it', async () => {
    const dir = tempDir()
    // The ordinary "start a daemon" pattern: a new session (out of the group), holding our pipes.
    const command = new Command(`setsid sh -c 'echo $$ > ${dir}/daemon; exec sleep 1060' & while [ ! -s ${dir}/daemon ]; do sleep 0.01; done; echo started`)
    const result = await engine().run(new Workflow({ name: 'daemon', root: new Node({ name: 'start', executable: command }) }))
    expect(result.nodes[0]).toMatchObject({ status: 'succeeded', exitCode: 0 })
    expect(readFileSync(result.nodes[0]!.artifacts.find(a => a.name === 'stdout')!.path, 'utf8')).toBe('started\n')
    expect(isAlive(pidIn(`${dir}/daemon`))).toBe(false)
  })

  it('a process that escapes a timeout’s group kill with setsid is found and stopped', async () => {
    const dir = tempDir()
    const script = `trap "" TERM; setsid sh -c 'echo $$ > ${dir}/escaped; exec sleep 1001' > /dev/null 2>&1 & echo $$ > ${dir}/leader; sleep 1002`
    // (The timeout comes long after the escape: the escaped process is in its own session by then.)
    const node = new Node({ name: 'escape', executable: new Command(['bash', '-c', script]), timeout: 500 })
    const result = await engine().run(new Workflow({ name: 'escape', root: node }))
    expect(result.nodes[0]!.status).toBe('timed_out')
    expect(isAlive(pidIn(`${dir}/leader`))).toBe(false)
    expect(isAlive(pidIn(`${dir}/escaped`))).toBe(false)
  })

  it('a process that left the group and the pipes is stopped when the run ends', async () => {
    const dir = tempDir()
    const command = new Command(`setsid sh -c 'echo $$ > ${dir}/quiet; exec sleep 1003' > /dev/null 2>&1 < /dev/null & while [ ! -s ${dir}/quiet ]; do sleep 0.01; done; echo left`)
    const result = await engine().run(new Workflow({ name: 'quiet', root: new Node({ name: 'start', executable: command }) }))
    expect(result.status).toBe('succeeded')
    expect(isAlive(pidIn(`${dir}/quiet`))).toBe(false)
  })
})

for (const backend of SPAWN_BACKENDS) describe(`clock jumps (${backend} spawn)`, () => {
  useSpawnBackend(backend)

  it('setting the wall clock back an hour during the kill grace does not postpone SIGKILL', async () => {
    const dir = tempDir()
    const script = `trap 'echo term > ${dir}/term' TERM; echo $$ > ${dir}/pid; while :; do sleep 0.05; done`
    const node = new Node({ name: 'stubborn', executable: new Command(['bash', '-c', script]), timeout: 300 })
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() })
    const running = engine(1000).run(new Workflow({ name: 'clock', root: node }))
    await waitFor(() => existsSync(path.join(dir, 'term')), 'the command to get SIGTERM', 30_000)
    vi.setSystemTime(Date.now() - 3_600_000)
    const result = await running
    expect(result.nodes[0]!.status).toBe('timed_out')
    expect(isAlive(pidIn(`${dir}/pid`))).toBe(false)
  })
})
