export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`
}

export function formatKb(kb: number): string {
  return `${(kb / 1024).toFixed(0)} MB`
}
