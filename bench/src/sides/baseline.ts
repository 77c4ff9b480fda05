/** Baselines: what a user would write by hand with execa or tinypool, no engine. */
import { execa } from 'execa'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Tinypool } from 'tinypool'
import { pool, timed } from '../measure.js'
import type { Side } from './types.js'
import { num, outputCommand } from './params.js'

/** (a) `count` sequential `await execa('true')`. */
export const execaSeq: Side = async params => {
  const count = num(params, 'count')
  return timed(async () => {
    for (let i = 0; i < count; i++) await execa('true')
  })
}

/** (b) `count` `execa('true')` on `concurrency` workers pulling from a queue. */
export const execaPool: Side = async params => {
  const count = num(params, 'count')
  const concurrency = num(params, 'concurrency')
  return timed(() =>
    pool(count, concurrency, async () => {
      await execa('true')
    }),
  )
}

/** (d) the output pipeline redirected to a file by the shell, in the same scratch directory. */
export const shellRedirect: Side = async (params, tmpDir) => {
  const bytes = num(params, 'bytes')
  const file = path.join(tmpDir, 'redirected.log')
  const timing = await timed(() => execa(`${outputCommand(bytes)} > '${file}'`, { shell: true }))
  const { size } = await fs.stat(file)
  if (size !== bytes) throw new Error(`expected ${bytes} bytes in ${file}, got ${size}`)
  await fs.rm(file)
  return { ...timing, extra: { bytes: size } }
}

/**
 * (c) `count` calls of the fixture's `noop` on a tinypool of `threads` threads, `concurrency`
 * at a time (the engine's maxParallel). Pool start and stop are measured, as in the engine.
 */
export const tinypoolLoop: Side = async params => {
  const count = num(params, 'count')
  const concurrency = num(params, 'concurrency')
  const threads = num(params, 'threads')
  const filename = new URL('../fixtures/noop.js', import.meta.url).href
  return timed(async () => {
    const tinypool = new Tinypool({ filename, minThreads: threads, maxThreads: threads })
    await pool(count, concurrency, async () => {
      await tinypool.run(undefined, { name: 'noop' })
    })
    await tinypool.destroy()
  })
}
