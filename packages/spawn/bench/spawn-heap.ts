/**
 * Benchmark of @wtflow/spawn (issue 19, part 1): `count` spawns of `true` with the native addon,
 * child_process.spawn and execa, each in a fresh process with a small heap and with a large one,
 * beside the shell's floor (a bash loop; `xargs -P` for the parallel rows). Repetitions are
 * interleaved; the table shows medians and ratios to the floor measured in the same run.
 *
 * Environment: BENCH_REPEAT (default 5), BENCH_SPAWN_COUNT (1000), BENCH_SPAWN_HEAP_MB (300),
 * BENCH_SPAWN_PARALLEL (10; 0 skips the parallel rows).
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const repeat = Number(process.env['BENCH_REPEAT'] ?? 5)
const count = Number(process.env['BENCH_SPAWN_COUNT'] ?? 1000)
const bigHeapMb = Number(process.env['BENCH_SPAWN_HEAP_MB'] ?? 300)
const parallel = Number(process.env['BENCH_SPAWN_PARALLEL'] ?? 10)
const side = path.join(path.dirname(fileURLToPath(import.meta.url)), 'spawn-side.js')
const methods = ['native', 'child_process', 'execa'] as const

interface Row {
  label: string
  concurrency: number
  floor: string
  measure(): number
}

function nodeSide(method: string, heapMb: number, concurrency: number): () => number {
  return () => {
    const result = spawnSync(process.execPath, ['--max-old-space-size=4096', side, method, String(heapMb), String(count), String(concurrency)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    if (result.status !== 0) throw new Error(`${method} side failed: ${result.stdout}`)
    return (JSON.parse(result.stdout) as { wallMs: number }).wallMs
  }
}

function shellSide(script: string): () => number {
  return () => {
    const start = process.hrtime.bigint()
    const result = spawnSync('bash', ['-c', script], { stdio: 'ignore' })
    if (result.status !== 0) throw new Error(`bash failed: ${script}`)
    return Number(process.hrtime.bigint() - start) / 1e6
  }
}

const trueBin = spawnSync('bash', ['-c', 'type -P true'], { encoding: 'utf8' }).stdout.trim()
const floors = {
  sequential: { label: `bash loop (${trueBin})`, measure: shellSide(`for ((i = 0; i < ${count}; i++)); do ${trueBin}; done`) },
  parallel: { label: `xargs -P${parallel}`, measure: shellSide(`yes x | head -n ${count} | xargs -P${parallel} -n1 ${trueBin}`) },
}

const rows: Row[] = []
for (const concurrency of parallel > 0 ? [1, parallel] : [1]) {
  const floor = concurrency === 1 ? floors.sequential : floors.parallel
  rows.push({ label: floor.label, concurrency, floor: floor.label, measure: floor.measure })
  for (const heapMb of [0, bigHeapMb]) {
    for (const method of methods) {
      rows.push({ label: `${method}, heap ${heapMb === 0 ? 'small' : `${heapMb} MB`}`, concurrency, floor: floor.label, measure: nodeSide(method, heapMb, concurrency) })
    }
  }
}

const times = new Map<Row, number[]>(rows.map(row => [row, []]))
for (let r = 0; r < repeat; r++) {
  // Alternate the order between repetitions, so that drift of the machine's speed spreads evenly.
  const order = r % 2 === 0 ? rows : [...rows].reverse()
  for (const row of order) {
    times.get(row)!.push(row.measure())
    process.stderr.write('.')
  }
  process.stderr.write(` repetition ${r + 1}/${repeat}\n`)
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const medianOf = (row: Row) => median(times.get(row)!)

console.log(`\n${count} spawns of \`true\`, medians of ${repeat} interleaved repetitions; load average ${os_load()}\n`)
console.log('| concurrency | method, heap | wall (ms) | per spawn (µs) | × floor | × child_process, same heap |')
console.log('|--:|---|--:|--:|--:|--:|')
for (const row of rows) {
  const floorRow = rows.find(other => other.concurrency === row.concurrency && other.label === row.floor)!
  const heapLabel = row.label.split(', ')[1]
  const cpRow = rows.find(other => other.concurrency === row.concurrency && other.label === `child_process, ${heapLabel}`)
  const wall = medianOf(row)
  const vsCp = cpRow === undefined || row.label === row.floor ? '' : `${(wall / medianOf(cpRow)).toFixed(2)}×`
  console.log(`| ${row.concurrency} | ${row.label} | ${wall.toFixed(0)} | ${((wall * 1000) / count).toFixed(0)} | ${(wall / medianOf(floorRow)).toFixed(2)}× | ${vsCp} |`)
}

function os_load(): string {
  return spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 3).join(' ')
}
