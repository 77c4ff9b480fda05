/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`, or BENCH_PROFILE=1 npm run bench):
 * the functions and files with the most self time, and the functions with the most
 * inclusive time. `npx tsx profile.ts results/profiles/x.cpuprofile [--top 25] [--filter core]`
 */
import fs from 'node:fs'
import path from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface ProfileSummary {
  totalMs: number
  selfByFunction: Array<[string, number]>
  selfByFile: Array<[string, number]>
  inclusiveByFunction: Array<[string, number]>
}

export function summarize(file: string, filter?: string): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))

  const label = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame
    return `${functionName || '(anonymous)'} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ''}`
  }
  const selfByFunction = new Map<string, number>()
  const selfByFile = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!
    add(selfByFunction, label(node), us)
    add(selfByFile, shortUrl(node.callFrame.url) || `(${node.callFrame.functionName})`, us)
    // Inclusive: charge every distinct function on the stack once.
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = label(byId.get(at)!)
      if (!seen.has(name)) {
        seen.add(name)
        add(inclusive, name, us)
      }
    }
  }
  const sorted = (map: Map<string, number>) =>
    [...map]
      .filter(([name]) => filter === undefined || name.includes(filter))
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]): [string, number] => [name, us / 1000])
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    selfByFunction: sorted(selfByFunction),
    selfByFile: sorted(selfByFile),
    inclusiveByFunction: sorted(inclusive),
  }
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value)
}

function shortUrl(url: string): string {
  if (url === '') return ''
  const clean = url.replace(/^file:\/\//, '')
  const nm = clean.lastIndexOf('/node_modules/')
  if (nm !== -1) return clean.slice(nm + '/node_modules/'.length)
  const pkg = clean.indexOf('/packages/')
  if (pkg !== -1) return clean.slice(pkg + 1)
  return clean.startsWith('node:') ? clean : path.basename(clean)
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const args = process.argv.slice(2)
  const top = Number(args[args.indexOf('--top') + 1]) || 25
  const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1] : undefined
  for (const file of args.filter(a => a.endsWith('.cpuprofile'))) {
    const s = summarize(file, filter)
    const table = (title: string, rows: Array<[string, number]>) =>
      `${title}\n${rows
        .slice(0, top)
        .map(([name, ms]) => `  ${ms.toFixed(1).padStart(9)} ms ${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%  ${name}`)
        .join('\n')}`
    console.log(`# ${file}: ${s.totalMs.toFixed(0)} ms profiled\n`)
    console.log(table('self time by file', s.selfByFile), '\n')
    console.log(table('self time by function', s.selfByFunction), '\n')
    console.log(table('inclusive time by function', s.inclusiveByFunction), '\n')
  }
}
