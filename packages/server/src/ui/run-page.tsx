import type { NodeDocument, RunDocument } from '@wtflow/core'
import type { RunInfo } from '@wtflow/db'
import { raw } from 'hono/html'
import type { Child } from 'hono/jsx'
import type { Assets } from './assets.js'
import { depthOf, durationOf, encodeNodePath, formatDuration, formatTime, shortId } from './format.js'
import { Layout, StatusBadge } from './layout.js'

export interface RunActions {
  /** A slot machine of this server may run its workflow again. */
  canRunAgain: boolean
  canResume: boolean
}

export interface RunPageProps {
  assets: Assets
  run: RunDocument
  info: RunInfo
  actions: RunActions
  /** The node panel, when a node is selected (its permalink). */
  panel?: Child
  selected?: string
}

const ACTIVE = new Set(['queued', 'running'])
/** Runs with more nodes than this load their timeline after the page. */
const LAZY_TIMELINE_NODES = 200

function treeRows(run: RunDocument, selected: string | undefined): string {
  let html = ''
  for (let i = 0; i < run.nodes.length; i++) html += nodeRowHtml(run.nodes[i]!, i, { selected: run.nodes[i]!.path === selected })
  return html
}

/** `/runs/:id` (and `/runs/:id/nodes/:path`): header, tree, node panel, timeline, updated live. */
export function RunPage({ assets, run, info, actions, panel, selected }: RunPageProps) {
  const live = ACTIVE.has(run.status)
  return (
    <Layout title={`${run.workflow} ${shortId(run.id)}`} assets={assets} section="runs" base={`/runs/${run.id}/`}>
      {live && <div id="run-live" hx-ext="sse" sse-connect={`/ui/stream/runs/${run.id}?shown=${run.status}`} sse-swap="update,reload" hx-swap="none" hidden></div>}
      <RunHeader run={run} info={info} actions={actions} />
      {run.status === 'queued' && (
        <p class="notice" id="queued-notice">
          Queued: waiting for a free slot of a server that runs <b>{run.workflow}</b> ({info.nodeCount} nodes planned). This page follows it.
        </p>
      )}
      <div class="run-body">
        <section class="tree" aria-label="Nodes">
          <h2>Nodes</h2>
          <div class="tree-rows" role="tree" data-panel-base={`/ui/panel/${run.id}/`}>
            {raw(treeRows(run, selected))}
          </div>
        </section>
        <section id="panel" class="panel" aria-label="Node">
          {panel ?? <p class="hint">Select a node to see its error, result, artifacts and log.</p>}
        </section>
      </div>
      <section class="timeline" aria-label="Timeline">
        <h2>
          Timeline <a class="small" href={`/workflows/${encodeURIComponent(run.workflow)}/grid`}>runs × nodes of {run.workflow} →</a>
        </h2>
        {run.nodes.length > LAZY_TIMELINE_NODES ? (
          // A big run's timeline comes right after the page (it is below the tree): the page is usable sooner.
          <div id="gantt" class="gantt" hx-get={`/ui/gantt/${run.id}`} hx-trigger="load" hx-swap="outerHTML">
            <p class="hint">loading the timeline of {run.nodes.length} nodes…</p>
          </div>
        ) : (
          <Gantt run={run} />
        )}
      </section>
    </Layout>
  )
}

export function RunHeader({ run, info, actions, oob }: { run: RunDocument; info: RunInfo; actions: RunActions; oob?: boolean }) {
  const live = ACTIVE.has(run.status)
  const counts = new Map<string, number>()
  for (const node of run.nodes) counts.set(node.status, (counts.get(node.status) ?? 0) + 1)
  return (
    <div class="run-header" id="run-header" hx-swap-oob={oob ? 'true' : undefined} data-status={run.status} data-started-at={run.startedAt} data-ended-at={run.endedAt ?? ''}>
      <h1>
        <a href={`/?workflow=${encodeURIComponent(run.workflow)}`}>{run.workflow}</a> <span class="mono muted">{run.id}</span> <StatusBadge status={run.status} id="run-status" />
      </h1>
      <p class="facts">
        <span>started {formatTime(run.startedAt)} UTC</span>
        <span data-since={run.status === 'running' ? run.startedAt : undefined}>{formatDuration(durationOf(run.startedAt, run.endedAt))}</span>
        {run.exitCode !== null && <span>exit code {run.exitCode}</span>}
        <span>
          {[...counts].map(([status, n]) => (
            <span class={`count s-${status}`}>
              {n} {status.replace('_', ' ')}{' '}
            </span>
          ))}
        </span>
        <span class="muted">
          pid {info.pid} on {info.host}
        </span>
      </p>
      <div class="actions">
        {live && (
          <button type="button" class="danger" id="cancel-run" hx-post={`/ui/runs/${run.id}/cancel`} hx-swap="none" hx-confirm={`Cancel run ${shortId(run.id)} of ${run.workflow}?`}>
            Cancel
          </button>
        )}
        {!live && (
          <button
            type="button"
            id="resume-run"
            hx-post={`/ui/runs/${run.id}/resume`}
            hx-swap="none"
            disabled={!actions.canResume}
            title={actions.canResume ? 'Start a new run that reuses what succeeded' : 'This server does not run this workflow: resume it with wtflow resume, or serve its script'}
          >
            Resume
          </button>
        )}
        {actions.canRunAgain && (
          <button type="button" id="run-again" hx-post="/ui/runs" hx-vals={JSON.stringify({ workflow: run.workflow })} hx-swap="none">
            Run again
          </button>
        )}
        <a class="button" href={`/api/v1/runs/${run.id}`}>
          JSON
        </a>
      </div>
    </div>
  )
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

function esc(text: string): string {
  return text.replace(/[&<>"']/g, ch => ESCAPES[ch]!)
}

/**
 * A node's row in the tree, as HTML text: a page of 1,000 nodes renders its rows as strings
 * (JSX elements cost ~10× more to build) with short markup (its size is what the page weighs).
 * Links are relative to the run page's `<base href="/runs/ID/">`.
 */
export function nodeRowHtml(node: NodeDocument, ordinal: number, options: { selected?: boolean; oob?: boolean } = {}): string {
  const note = node.skipReason ?? node.error
  const status = node.status
  const running = status === 'running' && node.startedAt !== null ? ` data-since="${node.startedAt}"` : ''
  return (
    `<div class="node${options.selected ? ' selected' : ''}" id="n-${ordinal}" data-path="${esc(node.path)}" data-status="${status}" style="--depth:${depthOf(node.path)}"${options.oob ? ' hx-swap-oob="true"' : ''}>` +
    `<span class="badge s-${status}">${status.replace('_', ' ')}</span><a href="nodes/${esc(encodeNodePath(node.path))}" class="node-name">${esc(node.name)}</a>` +
    (node.attempts > 1 ? `<span class="attempts" title="${node.attempts} attempts">×${node.attempts}</span>` : '') +
    `<span class="dur"${running}>${formatDuration(durationOf(node.startedAt, node.endedAt))}</span>` +
    (note === null ? '' : `<span class="note" title="${esc(note)}">${esc(note)}</span>`) +
    '</div>'
  )
}

/** Bars positioned by CSS from offsets in ms (`--s`, `--e`) over the run's span (`--span`): app.js stretches them while the run goes on. */
export function Gantt({ run, oob }: { run: RunDocument; oob?: boolean }) {
  const t0 = Date.parse(run.startedAt)
  const end = run.endedAt === null ? Date.now() : Date.parse(run.endedAt)
  const span = Math.max(1, end - t0)
  let rows = ''
  for (let i = 0; i < run.nodes.length; i++) rows += ganttRowHtml(run.nodes[i]!, i, t0)
  return (
    <div class="gantt" id="gantt" hx-swap-oob={oob ? 'true' : undefined} style={`--span:${span}`} data-t0={t0} data-running={ACTIVE.has(run.status) ? 'true' : undefined}>
      {raw(rows)}
    </div>
  )
}

export function ganttRowHtml(node: NodeDocument, ordinal: number, t0: number, oob = false): string {
  const start = node.startedAt === null ? null : Date.parse(node.startedAt) - t0
  const end = node.endedAt === null ? null : Date.parse(node.endedAt) - t0
  const bar =
    start === null
      ? ''
      : `<i class="g-bar s-${node.status}" style="--s:${start};--e:${end ?? start}"${node.status === 'running' ? ' data-running="true"' : ''} title="${node.status} ${formatDuration(end === null ? null : end - start)}"></i>`
  return `<div class="g-row" id="g-${ordinal}"${oob ? ' hx-swap-oob="true"' : ''}><span class="g-label" style="--depth:${depthOf(node.path)}">${esc(node.name)}</span><span class="g-track">${bar}</span></div>`
}
