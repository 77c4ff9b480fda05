/**
 * @wtflow/db/internal: what benchmarks, the CLI (process identity) and the other wtflow packages' tests need of db and users
 * do not (synthetic histories). No stability promise.
 */
export { syntheticRun, syntheticPlan, insertRuns, type SyntheticRunOptions } from './seed.js'
export { pathKey } from './writes.js'
export { processStart } from './liveness.js'
