import type { RunSummary } from '@wtflow/core'
import type { RunListQuery } from '../api/run-routes.js'
import { RUN_STATUSES } from '../api/run-routes.js'
import type { Assets } from './assets.js'
import { formatDuration, formatTime, shortId } from './format.js'
import { Layout, StatusBadge } from './layout.js'

export interface RunsPageProps {
  assets: Assets
  runs: RunSummary[]
  query: RunListQuery
  workflows: string[]
  /** Query string of the live stream (the filters), or null when not on the first page. */
  live: string | null
}

/** `/`: runs, newest first, filtered by workflow and status (in the URL), updated live. */
export function RunsPage({ assets, runs, query, workflows, live }: RunsPageProps) {
  const status = query.status?.[0] ?? ''
  const last = runs.at(-1)
  const next = new URLSearchParams()
  if (query.workflow !== undefined) next.set('workflow', query.workflow)
  if (query.status !== undefined) next.set('status', query.status.join(','))
  if (last !== undefined) next.set('before', last.id)
  return (
    <Layout title="Runs" assets={assets} section="runs">
      <div class="toolbar">
        <h1>Runs</h1>
        <form method="get" action="/" class="filters" id="filters">
          <label>
            Workflow{' '}
            <input name="workflow" list="workflow-names" value={query.workflow ?? ''} placeholder="any" />
            <datalist id="workflow-names">
              {workflows.map(name => (
                <option value={name} />
              ))}
            </datalist>
          </label>
          <label>
            Status{' '}
            <select name="status">
              <option value="">any</option>
              {RUN_STATUSES.map(s => (
                <option value={s} selected={s === status}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Filter</button>
          {(query.workflow !== undefined || query.status !== undefined) && <a href="/">clear</a>}
        </form>
      </div>
      <table class="runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Workflow</th>
            <th>Status</th>
            <th>Started (UTC)</th>
            <th>Duration</th>
          </tr>
        </thead>
        {live === null ? (
          <tbody id="runs-body">
            <RunRows runs={runs} />
          </tbody>
        ) : (
          <tbody id="runs-body" hx-ext="sse" sse-connect={`/ui/stream/runs${live}`} sse-swap="runs" hx-swap="innerHTML">
            <RunRows runs={runs} />
          </tbody>
        )}
      </table>
      {runs.length === 0 && <p class="empty">No runs{query.workflow !== undefined || query.status !== undefined ? ' match these filters' : ' yet: start one from Workflows'}.</p>}
      {last !== undefined && runs.length >= query.limit && (
        <p class="pager">
          <a href={`/?${next.toString()}`}>Older runs →</a>
        </p>
      )}
    </Layout>
  )
}

export function RunRows({ runs }: { runs: RunSummary[] }) {
  return (
    <>
      {runs.map(run => (
        <tr id={`run-${run.id}`} data-status={run.status}>
          <td>
            <a href={`/runs/${run.id}`} class="mono">
              {shortId(run.id)}
            </a>
          </td>
          <td>
            <a href={`/?workflow=${encodeURIComponent(run.workflow)}`}>{run.workflow}</a>
          </td>
          <td>
            <StatusBadge status={run.status} />
          </td>
          <td class="mono">{formatTime(run.startedAt)}</td>
          <td class="mono" data-since={run.status === 'running' ? run.startedAt : undefined}>
            {formatDuration(run.durationMs)}
          </td>
        </tr>
      ))}
    </>
  )
}
