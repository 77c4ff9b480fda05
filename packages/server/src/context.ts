import type { WtflowConfig } from '@wtflow/core'
import type { HistoryDatabase } from '@wtflow/db'
import type { SseRegistry } from './http/sse.js'
import type { EventHub } from './service/event-hub.js'
import type { RunService } from './service/run-service.js'

/** What every route needs: built once by `startServer`. */
export interface ServerContext {
  db: HistoryDatabase
  config: WtflowConfig
  hub: EventHub
  runs: RunService
  sse: SseRegistry
  version: string
  allowInlineFlows: boolean
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number
  /** True when bound to loopback (read-only requests need no token). */
  loopback: boolean
}
