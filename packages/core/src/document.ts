import type { NodeResult, NodeStatus, ReusedFrom, RunResult, RunStatus } from './interfaces.js'

/** An artifact in the JSON document of a run. */
export interface ArtifactDocument {
  name: string
  path: string
  size: number
  sha256: string
}

/** A node in the JSON document of a run (`wtflow run --json`, `wtflow show --json`). */
export interface NodeDocument {
  path: string
  name: string
  status: NodeStatus
  exitCode: number | null
  signal: string | null
  attempts: number
  /** The error message, or null. */
  error: string | null
  /** Why a skipped node did not run, or null. */
  skipReason: string | null
  /** Present (true) only on a failure `continueOnFailure` tolerated. */
  tolerated?: true
  startedAt: string | null
  endedAt: string | null
  artifacts: ArtifactDocument[]
  /** A `cached` node: the run and node whose outcome it reused (absent otherwise). */
  reusedFrom?: ReusedFrom
}

/** The JSON document of a run, as DESIGN.md fixes it. */
export interface RunDocument {
  id: string
  workflow: string
  status: RunStatus
  exitCode: number | null
  startedAt: string
  endedAt: string | null
  /** The run this one resumed (`wtflow resume`); absent otherwise. */
  resumedFrom?: string
  nodes: NodeDocument[]
}

/** A line of `wtflow runs --json`. */
export interface RunSummary {
  id: string
  workflow: string
  status: RunStatus
  startedAt: string
  endedAt: string | null
  durationMs: number | null
  /** The run this one resumed; absent otherwise. */
  resumedFrom?: string
}

/** The JSON document of a finished run, straight from the engine's result (no database needed). */
export function toRunDocument(result: RunResult): RunDocument {
  const document: RunDocument = {
    id: result.id,
    workflow: result.workflow,
    status: result.status,
    exitCode: result.exitCode,
    startedAt: result.startedAt.toISOString(),
    endedAt: result.endedAt.toISOString(),
    nodes: result.nodes.map(toNodeDocument),
  }
  if (result.resumedFrom != null) document.resumedFrom = result.resumedFrom
  return document
}

export function toNodeDocument(node: NodeResult): NodeDocument {
  return {
    path: node.path,
    name: node.name,
    status: node.status,
    exitCode: node.exitCode,
    signal: node.signal,
    attempts: node.attempts.length,
    error: node.error?.message ?? null,
    skipReason: node.skipReason,
    ...(node.tolerated === true ? { tolerated: true as const } : {}),
    startedAt: node.startedAt?.toISOString() ?? null,
    endedAt: node.endedAt?.toISOString() ?? null,
    artifacts: node.artifacts.map(({ name, path, size, sha256 }) => ({ name, path, size, sha256 })),
    ...(node.reusedFrom == null ? {} : { reusedFrom: { runId: node.reusedFrom.runId, path: node.reusedFrom.path } }),
  }
}
