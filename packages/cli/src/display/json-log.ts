import { StringDecoder } from 'node:string_decoder'
import type { ArtifactInfo, AttemptResult, EngineEventMap, EngineEventName, NodeStatus, TypedEmitter } from '@wtflow/core'
import type { RunDisplay } from './display.js'

/** The lifecycle events a JSON log follows, in their order within a run. */
const EVENTS = ['run:start', 'node:start', 'node:output', 'node:attempt', 'node:end', 'run:end'] as const satisfies readonly EngineEventName[]

type Listeners = { [K in EngineEventName]?: (event: EngineEventMap[K]) => void }

/**
 * `wtflow run --log-format json`: every lifecycle event as one JSON line,
 * `{ ts, event, runId, path, status, … }`, instead of the tree or plain lines. Every string in a
 * line goes through the run's mask (secrets as `***`); output chunks are decoded as UTF-8 per
 * node and stream, so a character split across chunks stays whole.
 *
 * @example
 * wtflow run ci.ts --log-format json 2>&1 >/dev/null | jq -c 'select(.event == "node:end") | {path, status}'
 */
export class JsonLog implements RunDisplay {
  readonly #write: (line: string) => void
  #mask: (text: string) => string = text => text
  #runId: string | null = null
  readonly #decoders = new Map<string, StringDecoder>()

  constructor(write: (line: string) => void) {
    this.#write = write
  }

  /** Subscribes to the engine; returns what unsubscribes. */
  follow(engine: Pick<TypedEmitter, 'on' | 'off'>): () => void {
    const listeners: Listeners = {
      'run:start': event => {
        this.#mask = event.mask
        this.#runId = event.runId
        this.#decoders.clear()
        const { plan } = event
        this.#line('run:start', { runId: event.runId, path: null, status: 'running', workflow: event.workflow, inputs: event.inputs, digest: plan.digest, nodes: plan.nodes.length, runDir: event.runDir, startedAt: event.startedAt })
      },
      'node:start': event => {
        this.#line('node:start', { runId: event.runId, path: event.path, status: 'running', ordinal: event.ordinal, attempt: event.attempt })
      },
      'node:output': event => {
        const key = `${event.ordinal}:${event.stream}`
        let decoder = this.#decoders.get(key)
        if (decoder === undefined) this.#decoders.set(key, (decoder = new StringDecoder('utf8')))
        const text = decoder.write(Buffer.from(event.chunk.buffer, event.chunk.byteOffset, event.chunk.byteLength))
        if (text !== '') this.#line('node:output', { runId: event.runId, path: event.path, status: 'running', ordinal: event.ordinal, stream: event.stream, text })
      },
      'node:attempt': event => {
        this.#line('node:attempt', { runId: event.runId, path: event.path, status: event.attempt.status, ordinal: event.ordinal, ...attemptFields(event.attempt), retryInMs: event.retryInMs })
      },
      'node:end': ({ runId, ordinal, node }) => {
        for (const stream of ['stdout', 'stderr'] as const) {
          const rest = this.#decoders.get(`${ordinal}:${stream}`)?.end()
          if (rest) this.#line('node:output', { runId, path: node.path, status: 'running', ordinal, stream, text: rest })
        }
        this.#line('node:end', {
          runId,
          path: node.path,
          status: node.status,
          ordinal,
          kind: node.kind,
          exitCode: node.exitCode,
          signal: node.signal,
          error: node.error === null ? null : { code: node.error.code ?? null, message: node.error.message },
          skipReason: node.skipReason,
          ...(node.tolerated === true ? { tolerated: true } : {}),
          attempts: node.attempts.length,
          durationMs: durationMs(node.startedAt, node.endedAt),
          artifacts: node.artifacts.map(artifactFields),
        })
      },
      'run:end': ({ result }) => {
        // Executables, not groups; tolerated failures are counted apart (`tolerated`), not as failed.
        const counts: Partial<Record<NodeStatus | 'tolerated', number>> = {}
        for (const node of result.nodes) {
          if (node.kind === 'group') continue
          const key = node.tolerated === true ? 'tolerated' : node.status
          counts[key] = (counts[key] ?? 0) + 1
        }
        this.#line('run:end', { runId: result.id, path: null, status: result.status, workflow: result.workflow, exitCode: result.exitCode, durationMs: durationMs(result.startedAt, result.endedAt), counts })
      },
    }
    for (const name of EVENTS) engine.on(name, listeners[name] as never)
    return () => {
      for (const name of EVENTS) engine.off(name, listeners[name] as never)
    }
  }

  #line(event: string, fields: Record<string, unknown>): void {
    const mask = this.#mask
    const text = JSON.stringify({ ts: new Date().toISOString(), event, ...fields }, (_key, value: unknown) => (typeof value === 'string' ? mask(value) : value))
    this.#write(`${text}\n`)
  }

  /** A message about the run as a whole (`cancelling…`), as a `note` line. */
  note(text: string): void {
    this.#line('note', { runId: this.#runId, path: null, status: null, message: text })
  }

  /** Output is in the node:output lines already. */
  print(): void {}

  runStarted(): void {}
  nodeStarted(): void {}
  attemptEnded(): void {}
  nodeEnded(): void {}
  runEnded(): void {}
  close(): void {}
}

function attemptFields(attempt: AttemptResult): Record<string, unknown> {
  return {
    attempt: attempt.attempt,
    exitCode: attempt.exitCode,
    signal: attempt.signal,
    error: attempt.error === null ? null : { code: attempt.error.code ?? null, message: attempt.error.message },
    durationMs: durationMs(attempt.startedAt, attempt.endedAt),
  }
}

function artifactFields(artifact: ArtifactInfo): Record<string, unknown> {
  return { name: artifact.name, path: artifact.path, size: artifact.size, sha256: artifact.sha256 }
}

function durationMs(start: Date | null, end: Date | null): number | null {
  return start === null || end === null ? null : end.getTime() - start.getTime()
}
