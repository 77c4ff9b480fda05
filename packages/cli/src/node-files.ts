import path from 'node:path'
import { nodeArtifactDir } from '@wtflow/core/internal'

/**
 * Where a node's `stdout.log`/`stderr.log` is while it runs (history records artifact paths
 * only once a node ends, and `wtflow logs --follow` must find the file before that).
 */
export function liveArtifactPath(runDir: string, nodePath: string, stream: 'stdout' | 'stderr'): string {
  return path.join(nodeArtifactDir(runDir, nodePath), `${stream}.log`)
}
