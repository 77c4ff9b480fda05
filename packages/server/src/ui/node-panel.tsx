import type { NodeRecord } from '@wtflow/db'
import { apiNodeUrl, formatDuration, formatTime, nodeUrl } from './format.js'
import { StatusBadge } from './layout.js'

export interface NodePanelProps {
  node: NodeRecord
  /** The parsed result.json, `undefined` when there is none, or a note when it is not shown. */
  result: { value: unknown } | { note: string } | undefined
  stream: 'stdout' | 'stderr'
}

const LIVE = new Set(['pending', 'running'])

/** The node panel: what ran, how it ended, error, attempts, result, artifacts and the log. */
export function NodePanel({ node, result, stream }: NodePanelProps) {
  const permalink = nodeUrl(node.runId, node.path)
  const live = LIVE.has(node.status)
  const failedAttempts = node.attempts.filter(a => a.status !== 'succeeded')
  return (
    <div class="node-panel" data-path={node.path}>
      <h2>
        {node.name} <StatusBadge status={node.status} />
        <a class="small permalink" href={permalink} title="Permalink to this node">
          #
        </a>
      </h2>
      <p class="mono muted path">{node.path}</p>
      <dl class="facts-grid">
        <dt>kind</dt>
        <dd>{node.kind}</dd>
        {node.display !== null && (
          <>
            <dt>{node.kind === 'command' ? 'command' : 'function'}</dt>
            <dd class="mono">{node.display}</dd>
          </>
        )}
        <dt>started</dt>
        <dd class="mono">{node.startedAt === null ? '—' : `${formatTime(node.startedAt.toISOString())} UTC`}</dd>
        <dt>duration</dt>
        <dd class="mono" data-since={node.status === 'running' && node.startedAt !== null ? node.startedAt.toISOString() : undefined}>
          {node.startedAt !== null && node.endedAt !== null ? formatDuration(node.endedAt.getTime() - node.startedAt.getTime()) : '—'}
        </dd>
        {node.exitCode !== null && (
          <>
            <dt>exit code</dt>
            <dd class="mono">{node.exitCode}</dd>
          </>
        )}
        {node.signal !== null && (
          <>
            <dt>signal</dt>
            <dd class="mono">{node.signal}</dd>
          </>
        )}
        <dt>attempts</dt>
        <dd>{node.attemptCount}</dd>
      </dl>
      {node.skipReason !== null && <p class="notice">Skipped: {node.skipReason}</p>}
      {node.error !== null && (
        <div class="error-box">
          <p>
            <b>{node.error.code ?? node.error.name}</b>: {node.error.message}
          </p>
          {node.error.stack !== undefined && (
            <details>
              <summary>stack</summary>
              <pre>{node.error.stack}</pre>
            </details>
          )}
        </div>
      )}
      {failedAttempts.length > 0 && (
        <table class="attempts-table">
          <thead>
            <tr>
              <th>attempt</th>
              <th>status</th>
              <th>exit</th>
              <th>duration</th>
              <th>error</th>
            </tr>
          </thead>
          <tbody>
            {node.attempts.map(a => (
              <tr>
                <td>{a.attempt}</td>
                <td>
                  <StatusBadge status={a.status} />
                </td>
                <td class="mono">{a.exitCode ?? a.signal ?? ''}</td>
                <td class="mono">{formatDuration(a.endedAt.getTime() - a.startedAt.getTime())}</td>
                <td>{a.error?.message ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {result !== undefined && (
        <details class="result" open>
          <summary>result</summary>
          {'value' in result ? <pre class="json">{JSON.stringify(result.value, null, 2)}</pre> : <p class="muted">{result.note}</p>}
        </details>
      )}
      {node.artifacts.length > 0 && (
        <details class="artifacts" open>
          <summary>artifacts ({node.artifacts.length})</summary>
          <table>
            <tbody>
              {node.artifacts.map(a => (
                <tr>
                  <td>
                    <a href={`${apiNodeUrl(node.runId, node.path, `artifacts/${encodeURIComponent(a.name)}`)}?download=1`} download>
                      {a.name}
                    </a>
                  </td>
                  <td class="mono">{formatBytes(a.size)}</td>
                  <td class="mono muted" title={a.sha256}>
                    {a.sha256.slice(0, 12)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      {node.kind !== 'group' && (
        <div class="log">
          <div class="log-tabs">
            {(['stdout', 'stderr'] as const).map(s => (
              <a
                href={`${permalink}?stream=${s}`}
                class={s === stream ? 'active' : ''}
                hx-get={`/ui/panel/${node.runId}/${permalink.slice(permalink.indexOf('/nodes/') + 7)}?stream=${s}`}
                hx-target="#panel"
                hx-push-url={`${permalink}?stream=${s}`}
              >
                {s}
              </a>
            ))}
            <a class="small" href={`${apiNodeUrl(node.runId, node.path, 'logs')}?stream=${stream}`} target="_blank">
              raw
            </a>
          </div>
          <wtflow-log data-src={apiNodeUrl(node.runId, node.path, 'logs')} data-stream={stream} data-live={live ? 'true' : 'false'}></wtflow-log>
        </div>
      )}
    </div>
  )
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`
  return `${(size / 1024 / 1024).toFixed(1)} MB`
}
