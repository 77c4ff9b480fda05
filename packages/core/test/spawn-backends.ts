import { afterAll, beforeAll } from 'vitest'

/**
 * Commands spawn through the native addon or Node's child_process (`WTFLOW_SPAWN`): the
 * process-tree guarantees are tested on both.
 */
export const SPAWN_BACKENDS = ['native', 'node'] as const

/** Runs the enclosing suite's commands (and the engine processes it starts) with this backend. */
export function useSpawnBackend(backend: (typeof SPAWN_BACKENDS)[number]): void {
  let previous: string | undefined
  beforeAll(() => {
    previous = process.env.WTFLOW_SPAWN
    process.env.WTFLOW_SPAWN = backend
  })
  afterAll(() => {
    if (previous === undefined) delete process.env.WTFLOW_SPAWN
    else process.env.WTFLOW_SPAWN = previous
  })
}
