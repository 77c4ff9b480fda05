/**
 * Extract, transform, load with Funcs: each step is an exported function run in a worker
 * thread; results flow from one to the next, typed (`transform` takes what `extract`
 * returns), and artifacts (a node's stdout) can be handed to a Func or to a command.
 *
 *   npx wtflow run examples/etl.ts
 *   ETL_OUT=/tmp/warehouse.json npx wtflow run examples/etl.ts
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Command, Func, Node, Workflow, type Artifact } from '@wtflow/core'

export interface Reading {
  city: string
  celsius: number
}

export interface CityAverage {
  city: string
  readings: number
  average: number
}

export function extract(): Reading[] {
  const readings: Reading[] = [
    { city: 'Lisbon', celsius: 21.5 },
    { city: 'Oslo', celsius: 4.0 },
    { city: 'Lisbon', celsius: 23.1 },
    { city: 'Nairobi', celsius: 19.8 },
    { city: 'Oslo', celsius: 6.2 },
  ]
  for (const r of readings) console.log(`${r.city},${r.celsius}`)
  return readings
}

export function transform(readings: Reading[]): CityAverage[] {
  const byCity = new Map<string, number[]>()
  for (const { city, celsius } of readings) byCity.set(city, [...(byCity.get(city) ?? []), celsius])
  const averages = [...byCity].map(([city, values]) => ({
    city,
    readings: values.length,
    average: Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 10) / 10,
  }))
  for (const a of averages) console.log(`${a.city}: ${a.average} °C over ${a.readings} readings`)
  return averages
}

export async function load(averages: CityAverage[], rawLog: Artifact): Promise<{ file: string; cities: number; rawLines: number }> {
  const file = path.resolve(process.env.ETL_OUT ?? '.wtflow/etl/warehouse.json')
  await mkdir(path.dirname(file), { recursive: true })
  let rawLines = 0
  for await (const _ of rawLog.lines()) rawLines++
  await writeFile(file, `${JSON.stringify({ loadedAt: new Date().toISOString(), averages }, null, 2)}\n`)
  console.log(`loaded ${averages.length} cities (from ${rawLines} raw lines in ${rawLog.name}) into ${file}`)
  return { file, cities: averages.length, rawLines }
}

const extractNode = new Node({ name: 'extract', executable: new Func(extract) })
const transformNode = new Node({ name: 'transform', executable: new Func(transform, { args: [extractNode.result] }) })
const loadNode = new Node({ name: 'load', executable: new Func(load, { args: [transformNode.result, extractNode.stdout] }) })
// A command gets an artifact as one argument: its file path.
const audit = new Node({ name: 'audit', executable: new Command(['wc', '-l', extractNode.stdout]) })

export default new Workflow({
  name: 'etl',
  description: 'extract → transform → load with Funcs passing results and artifacts',
  root: new Node({
    name: 'etl',
    children: [extractNode, transformNode, loadNode, audit],
  }),
})
