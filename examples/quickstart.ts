/**
 * The quickstart: a command, then three Funcs that run in worker threads. Node 2 and Node 3
 * receive Node 1's stdout and stderr as artifacts.
 *
 *   npx wtflow run examples/quickstart.ts
 *   npx wtflow show <run id>          # the tree, statuses and artifact paths
 *   npx wtflow logs <run id> 'Root Node/Node 2'
 */
import { Command, Func, Node, Workflow, type Artifact } from '@wtflow/core'

export function emit() {
  console.log('STDOUT')
  console.error('STDERR')
}
export async function show(artifact: Artifact) {
  console.log(`processing ${artifact.name}: ${await artifact.text()}`)
}

const n1 = new Node({ name: 'Node 1', executable: new Func(emit) })
const n2 = new Node({ name: 'Node 2', executable: new Func(show, { args: [n1.stdout] }) })
const n3 = new Node({ name: 'Node 3', executable: new Func(show, { args: [n1.stderr] }) })

export default new Workflow({
  name: 'example',
  root: new Node({
    name: 'Root Node',
    executable: new Command('echo Starting workflow'),
    children: [n1, n2, n3],
  }),
})
