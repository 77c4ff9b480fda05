/**
 * Preloaded (`node --import rss-probe.js …`) into whole processes the orchestrator times:
 * writes the process's peak RSS (KB) and CPU time (ms, whole life) to $BENCH_RSS_FILE as JSON
 * when it exits.
 */
import { writeFileSync } from 'node:fs'
import { peakRssKb } from './measure.js'

const file = process.env.BENCH_RSS_FILE
if (file) {
  process.on('exit', () => {
    try {
      const cpu = process.cpuUsage()
      writeFileSync(file, JSON.stringify({ rssKb: peakRssKb(), cpuMs: (cpu.user + cpu.system) / 1000 }))
    } catch {
      // The measurement is lost, not the process.
    }
  })
}
