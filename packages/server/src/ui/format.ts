/** Text helpers of the pages. */

export function nodeUrl(runId: string, nodePath: string): string {
  return `/runs/${runId}/nodes/${encodeNodePath(nodePath)}`
}

/** Each name percent-encoded, joined by `/`: readable, and a name's `%`, `?` or `#` stay inside it. */
export function encodeNodePath(nodePath: string): string {
  return nodePath.split('/').map(encodeURIComponent).join('/')
}

export function apiNodeUrl(runId: string, nodePath: string, tail: string): string {
  return `/api/v1/runs/${runId}/nodes/${encodeNodePath(nodePath)}/${tail}`
}

export function shortId(id: string): string {
  return id.slice(0, 8)
}

export function depthOf(nodePath: string): number {
  let depth = 0
  for (let i = 0; i < nodePath.length; i++) if (nodePath.charCodeAt(i) === 47) depth++
  return depth
}

/** `1.2 s`, `3 min 4 s`, `2 h 5 min`. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return ''
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`
  const s = Math.round(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

export function durationOf(startedAt: string | null, endedAt: string | null): number | null {
  if (startedAt === null || endedAt === null) return null
  return Date.parse(endedAt) - Date.parse(startedAt)
}

/** `2026-12-03 14:05:09` in UTC (the pages show UTC, and say so). */
export function formatTime(iso: string | null): string {
  return iso === null ? '' : iso.replace('T', ' ').slice(0, 19)
}
