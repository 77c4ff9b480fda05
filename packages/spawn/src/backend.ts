import { addonPath, loadAddon } from './native-backend.js'
import type { SpawnBackendName } from './types.js'

type Addon = ReturnType<typeof loadAddon>

/** A setup problem with the spawn path (not a failure of one child). `code` is stable. */
export class SpawnSetupError extends Error {
  readonly code: 'WTFLOW_SPAWN_SETTING' | 'WTFLOW_SPAWN_UNAVAILABLE'

  constructor(code: SpawnSetupError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SpawnSetupError'
    this.code = code
    // The brand @wtflow/core's isWtflowError() recognises (this package cannot import core).
    Object.defineProperty(this, Symbol.for('wtflow.error'), { value: true })
  }
}

let addon: { ok: true; addon: Addon } | { ok: false; reason: string } | undefined
let noticeShown = false

function tryAddon(): typeof addon & object {
  if (addon === undefined) {
    try {
      addon = { ok: true, addon: loadAddon() }
    } catch (error) {
      const reason =
        (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND'
          ? `the addon is not built: no ${addonPath}`
          : error instanceof Error
            ? error.message.split('\n')[0]!
            : String(error)
      addon = { ok: false, reason }
    }
  }
  return addon
}

export type Backend = { name: 'native'; addon: Addon } | { name: 'node' }

/**
 * The backend for a spawn: the one asked for, else `WTFLOW_SPAWN` (`native`, `node`, or
 * unset/`auto`: native when the addon loads, else node with a one-line notice on stderr).
 */
export function selectBackend(requested: SpawnBackendName | undefined): Backend {
  const setting = requested ?? process.env['WTFLOW_SPAWN'] ?? 'auto'
  if (setting === 'node') return { name: 'node' }
  if (setting !== 'native' && setting !== 'auto' && setting !== '') {
    throw new SpawnSetupError('WTFLOW_SPAWN_SETTING', `WTFLOW_SPAWN=${setting} is not a spawn backend; use native, node or auto (the default)`)
  }
  const state = tryAddon()
  if (state.ok) return { name: 'native', addon: state.addon }
  if (setting === 'native') {
    throw new SpawnSetupError(
      'WTFLOW_SPAWN_UNAVAILABLE',
      `the native spawn path was asked for (WTFLOW_SPAWN=native or backend: 'native') but cannot be used: ${state.reason}. Build it with \`npm rebuild @wtflow/spawn\` (needs python3, make and a C compiler), or use WTFLOW_SPAWN=node`,
    )
  }
  if (!noticeShown) {
    noticeShown = true
    process.stderr.write(
      `wtflow: native spawn unavailable (${state.reason}); using child_process.spawn, slower in a large process. Build it with \`npm rebuild @wtflow/spawn\` (python3, make, a C compiler); WTFLOW_SPAWN=node silences this\n`,
    )
  }
  return { name: 'node' }
}

/** Which backend a spawn without `backend` would use now, and why not native if it is not. */
export function spawnBackend(): { name: SpawnBackendName; reason: string | null } {
  const setting = process.env['WTFLOW_SPAWN'] ?? 'auto'
  if (setting === 'node') return { name: 'node', reason: 'WTFLOW_SPAWN=node' }
  const state = tryAddon()
  return state.ok ? { name: 'native', reason: null } : { name: 'node', reason: state.reason }
}
