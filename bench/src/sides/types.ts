import type { Timing } from '../measure.js'

/** What a side reports: the timing of its measured operation (setup excluded). */
export type SideOutcome = Timing & { extra?: Record<string, unknown> }

/** A measured operation: runs in its own process. */
export type Side = (params: Record<string, unknown>, tmpDir: string) => Promise<SideOutcome>
