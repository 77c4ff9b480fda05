import os from 'node:os'

/** BENCH_NICE: the scheduling priority of the measured processes, if set. */
export const nice = process.env.BENCH_NICE ? Number(process.env.BENCH_NICE) : undefined
if (nice !== undefined && !(Number.isInteger(nice) && nice >= -20 && nice <= 19)) {
  throw new Error(`BENCH_NICE must be an integer from -20 to 19, got "${process.env.BENCH_NICE}"`)
}

/** Gives a measured process the BENCH_NICE priority (the processes it starts inherit it). */
export function applyNice(pid: number | undefined): void {
  if (nice === undefined || pid === undefined) return
  try {
    os.setPriority(pid, nice)
  } catch (error) {
    throw new Error(`BENCH_NICE=${nice}: cannot set the priority of the bench processes (${error instanceof Error ? error.message : String(error)})`)
  }
}
