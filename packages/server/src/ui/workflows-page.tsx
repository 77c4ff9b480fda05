import type { NodeDocument, RunDocument } from '@wtflow/core'
import type { Assets } from './assets.js'
import { nodeUrl, shortId } from './format.js'
import { Layout } from './layout.js'

export interface WorkflowEntry {
  name: string
  file: string
  description: string | null
  nodes: number
}

/** `/workflows`: what this server runs, each with a form to start it with inputs. */
export function WorkflowsPage({ assets, workflows, authenticated }: { assets: Assets; workflows: WorkflowEntry[]; authenticated: boolean }) {
  return (
    <Layout title="Workflows" assets={assets} section="workflows">
      <h1>Workflows</h1>
      {!authenticated && (
        <p class="notice">
          Starting or cancelling runs needs the server's token: open the URL <code>wtflow serve</code> printed (it ends in <code>?token=…</code>) once in this browser.
        </p>
      )}
      {workflows.length === 0 && (
        <p class="empty">
          This server runs no workflow: start it with a script, <code>wtflow serve wtfile.ts</code>.
        </p>
      )}
      <div class="cards">
        {workflows.map(w => (
          <form class="card trigger" hx-post="/ui/runs" hx-swap="none" data-workflow={w.name}>
            <h2>{w.name}</h2>
            {w.description !== null && <p>{w.description}</p>}
            <p class="muted small">
              {w.file} · {w.nodes} nodes ·{' '}
              <a href={`/?workflow=${encodeURIComponent(w.name)}`}>runs</a> · <a href={`/workflows/${encodeURIComponent(w.name)}/grid`}>grid</a>
            </p>
            <input type="hidden" name="workflow" value={w.name} />
            <label>
              Inputs <span class="muted small">(NAME=value, one a line)</span>
              <textarea name="inputs" rows={2} placeholder="day=2026-12-01"></textarea>
            </label>
            <button type="submit" class="primary">
              Run {w.name}
            </button>
          </form>
        ))}
      </div>
    </Layout>
  )
}

/** `/workflows/:name/grid`: the last runs of a workflow (columns, newest first) × its nodes (rows). */
export function GridPage({ assets, workflow, runs }: { assets: Assets; workflow: string; runs: RunDocument[] }) {
  const paths: string[] = []
  const seen = new Set<string>()
  for (const run of runs) {
    for (const node of run.nodes) {
      if (!seen.has(node.path)) {
        seen.add(node.path)
        paths.push(node.path)
      }
    }
  }
  const byRun = runs.map(run => new Map<string, NodeDocument>(run.nodes.map(n => [n.path, n])))
  return (
    <Layout title={`${workflow} grid`} assets={assets} section="workflows">
      <h1>
        {workflow} <span class="muted">· last {runs.length} runs × {paths.length} nodes</span>
      </h1>
      <div class="grid-wrap">
        <table class="grid">
          <thead>
            <tr>
              <th></th>
              {runs.map(run => (
                <th class="mono">
                  <a href={`/runs/${run.id}`} title={`${run.status}, ${run.startedAt}`} class={`s-${run.status}`}>
                    {shortId(run.id)}
                  </a>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {paths.map(p => (
              <tr>
                <th class="mono" title={p}>
                  {p}
                </th>
                {runs.map((run, i) => {
                  const node = byRun[i]!.get(p)
                  return <td>{node === undefined ? '' : <a class={`cell s-${node.status}`} href={nodeUrl(run.id, p)} title={`${p}: ${node.status}`}></a>}</td>
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Layout>
  )
}
