/**
 * One side of one scenario, in a fresh process: `node child.js '<SideRequest JSON>'`.
 * Prints one MARKER line with the SideResult on stdout; progress and errors go to stderr.
 */
import fs from 'node:fs/promises'
import { peakRssKb } from './measure.js'
import { MARKER, type SideRequest, type SideResult } from './protocol.js'
import { loadSide } from './sides/index.js'

const request = JSON.parse(process.argv[2] ?? '{}') as SideRequest
try {
  await fs.mkdir(request.tmpDir, { recursive: true })
  const side = await loadSide(request.side)
  const outcome = await side(request.params, request.tmpDir)
  const { wallMs, cpuMs, childCpuMs, memory, extra } = outcome
  const result: SideResult = { wallMs, rssKb: peakRssKb(), cpuMs, childCpuMs, extra: memory === undefined ? extra : { ...memory, ...extra } }
  await fs.rm(request.tmpDir, { recursive: true, force: true })
  process.stdout.write(`\n${MARKER}${JSON.stringify(result)}\n`)
  // Nothing of the measured work may linger (pools, handles): exit explicitly.
  process.exit(0)
} catch (error) {
  process.stderr.write(`bench side ${request.side} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  await fs.rm(request.tmpDir, { recursive: true, force: true }).catch(() => {})
  process.exit(1)
}
