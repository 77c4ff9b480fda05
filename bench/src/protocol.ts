/** What a child process reports back to the orchestrator (one line on stdout, after MARKER). */
export const MARKER = '@@WTFLOW_BENCH@@'

export interface SideResult {
  /** Wall time of the measured operation, in ms (imports and setup excluded). */
  wallMs: number
  /** Peak resident set size of the child process, in KB (VmHWM, or getrusage maxRSS). */
  rssKb: number
  /** CPU time of the child process during the measured operation (all threads), in ms. */
  cpuMs?: number | undefined
  /** CPU time of the processes it spawned (reaped) during the operation, in ms (10 ms ticks). */
  childCpuMs?: number | undefined
  /** Scenario-specific numbers (bytes captured, per-query latencies…). */
  extra?: Record<string, unknown> | undefined
}

/** Arguments of one child: which scenario side to run, with which parameters. */
export interface SideRequest {
  side: string
  params: Record<string, unknown>
  /** Scratch directory for this child (artifacts, output files); deleted by the child. */
  tmpDir: string
}
