/**
 * Fan-out and fan-in by references (Flowkit's parallel-processing example): `fetch` makes a
 * dataset, three batches each sum a third of it, and `aggregate` takes all three results. The
 * nodes are siblings of one parallel group: what orders them is what they take. A node that
 * takes another's result (or stdout, or artifact) waits for it; `after` adds an order without
 * data (`report` runs once `aggregate` has succeeded).
 *
 *   npx wtflow run examples/fan-in.ts
 *   npx wtflow run examples/fan-in.ts --dry-run     # shows each node's dependencies
 */
import { Command, Func, Node, Workflow } from '@wtflow/core'

export function fetchData(): number[] {
  const data = Array.from({ length: 1000 }, (_, i) => i)
  console.log(`fetched ${data.length} numbers`)
  return data
}

export function processBatch(data: number[], from: number, to: number): number {
  const sum = data.slice(from, to).reduce((a, b) => a + b, 0)
  console.log(`batch [${from}, ${to}): ${sum}`)
  return sum
}

export function aggregateResults(data: number[], ...batches: number[]): string {
  const total = batches.reduce((a, b) => a + b, 0)
  if (total !== data.reduce((a, b) => a + b, 0)) throw new Error('the batches do not cover the data')
  console.log(`Total: ${total}`)
  return `Total: ${total}`
}

const fetch = new Node({ name: 'fetch', executable: new Func(fetchData) })
const batches = [
  [0, 333],
  [333, 666],
  [666, 1000],
].map(([from, to], i) => new Node({ name: `batch-${i + 1}`, executable: new Func(processBatch, { args: [fetch.result, from!, to!] }) }))
const aggregate = new Node({
  name: 'aggregate',
  executable: new Func(aggregateResults, { args: [fetch.result, ...batches.map(batch => batch.result)] }),
})
const report = new Node({ name: 'report', executable: new Command(['cat', aggregate.stdout]), after: [aggregate] })

export default new Workflow({
  name: 'parallel-processing',
  description: 'fetch → three batches at once → aggregate taking all three',
  root: new Node({ name: 'pipeline', parallel: true, children: [report, aggregate, ...batches, fetch] }),
})
