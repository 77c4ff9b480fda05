/**
 * A real pseudo-terminal of a fixed size: a command run in a detached tmux session on a private
 * server (its own socket), its screen read with `tmux capture-pane`.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { waitFor, WTFLOW_BIN } from './cli.js'

const shellQuote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`

export interface Terminal {
  /** What the screen shows now, one string per row (trailing spaces trimmed). */
  screen(): string[]
  /** The screen and everything that scrolled off it. */
  history(): string
  /** Resolves with the screen once `probe` accepts it. */
  waitForScreen(probe: (lines: string[]) => boolean, what: string, timeoutMs?: number): Promise<string[]>
  close(): void
}

export function tmuxAvailable(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Runs `wtflow ARGS` in a `columns`×`rows` terminal; the pane stays open after it exits (`EXIT=<code>` is printed). */
export function startInTerminal(args: readonly string[], options: { cwd: string; env: Record<string, string>; columns: number; rows: number }): Terminal {
  const socket = `wtflow-test-${randomBytes(4).toString('hex')}`
  // The scrollback must hold a whole final tree; the setting applies to panes made after it.
  const conf = path.join(os.tmpdir(), `${socket}.conf`)
  writeFileSync(conf, 'set -g history-limit 10000\nset -g status off\n')
  const tmux = (...rest: string[]) => execFileSync('tmux', ['-L', socket, '-f', conf, ...rest], { encoding: 'utf8' })
  const env = Object.entries({ ...options.env, TERM: 'xterm-256color' })
    .map(([key, value]) => `${key}=${shellQuote(value)}`)
    .join(' ')
  const command = `cd ${shellQuote(options.cwd)} && env -i ${env} ${shellQuote(WTFLOW_BIN)} ${args.map(shellQuote).join(' ')}; echo EXIT=$?; sleep 3600`
  tmux('new-session', '-d', '-x', String(options.columns), '-y', String(options.rows), '-s', 'test', command)
  const screen = () => tmux('capture-pane', '-p', '-t', 'test').split('\n').slice(0, options.rows).map(line => line.trimEnd())
  return {
    screen,
    history: () => tmux('capture-pane', '-p', '-S', '-', '-t', 'test'),
    waitForScreen: (probe, what, timeoutMs = 30_000) => waitFor(() => {
      const lines = screen()
      return probe(lines) ? lines : undefined
    }, { timeoutMs, intervalMs: 50, what: () => `${what}; the screen:\n${screen().join('\n')}` }),
    close: () => {
      try {
        tmux('kill-server')
      } catch {
        // Already gone.
      }
    },
  }
}
