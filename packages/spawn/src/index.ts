/**
 * @wtflow/spawn: starts the processes of wtflow's Commands. On Linux, a small addon calls
 * posix_spawn (a vfork-style clone whose cost does not grow with this process's heap, unlike
 * child_process.spawn's fork) and learns of the exit through a pidfd on the event loop; where
 * the addon is not built, Node's child_process.spawn does the same job. Every child leads its
 * own session and process group, reads /dev/null, and writes to a descriptor or a pipe.
 */
export { spawnProcess, killGroup } from './spawn.js'
export { spawnBackend, SpawnSetupError } from './backend.js'
export { SpawnError } from './errors.js'
export type { ExitStatus, OutputTarget, SpawnBackendName, SpawnOptions, Subprocess } from './types.js'
