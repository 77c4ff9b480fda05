import fs from 'node:fs/promises'
import type { RunDocument } from '@wtflow/core'
import type { NodeRecord } from '@wtflow/db'
import { Hono, type Context } from 'hono'
import { listRuns, parseRunListQuery } from '../api/run-routes.js'
import type { ServerContext } from '../context.js'
import { ServerError } from '../errors.js'
import type { AuthVariables } from '../http/security.js'
import { sseResponse } from '../http/sse.js'
import { insideStore } from '../service/artifact-files.js'
import type { LifecycleEvent } from '../service/event-hub.js'
import type { Assets } from './assets.js'
import { NodePanel } from './node-panel.js'
import { Gantt, ganttRowHtml, nodeRowHtml, RunHeader, RunPage, type RunActions } from './run-page.js'
import { RunRows, RunsPage } from './runs-page.js'
import { GridPage, WorkflowsPage } from './workflows-page.js'

type Env = { Variables: AuthVariables }

const MAX_RESULT_SHOWN = 256 * 1024
/** The runs list is re-sent at most this often while runs change. */
const LIST_THROTTLE_MS = 500
/** Node changes of a run page are sent in batches this far apart. */
const RUN_THROTTLE_MS = 200

/** The web UI: pages, the node panel fragment, the live streams and the buttons' POSTs. */
export function uiRoutes(ctx: ServerContext, assets: Assets): Hono<Env> {
  const app = new Hono<Env>()

  app.get('/assets/:name{.+}', c => assets.respond(c, c.req.param('name')))

  app.get('/', async c => {
    const query = parseRunListQuery(c.req.query())
    const runs = await listRuns(ctx, query)
    const live = query.before === undefined ? liveQuery(c) : null
    return c.html(<RunsPage assets={assets} runs={runs} query={query} workflows={ctx.runs.workflows.map(w => w.workflow.name)} live={live} />)
  })

  app.get('/workflows', async c => {
    const workflows = await Promise.all(
      ctx.runs.workflows.map(async ({ workflow, file }) => ({
        name: workflow.name,
        file,
        description: workflow.description ?? null,
        nodes: (await ctx.runs.plan(workflow).catch(() => null))?.nodes.length ?? 0,
      })),
    )
    return c.html(<WorkflowsPage assets={assets} workflows={workflows} authenticated={c.get('authenticated')} />)
  })

  app.get('/workflows/:name/grid', async c => {
    const n = Math.min(50, Math.max(1, Number(c.req.query('n') ?? 20) || 20))
    const summaries = await ctx.db.listRuns({ workflow: c.req.param('name'), limit: n })
    const runs = await Promise.all(summaries.map(s => ctx.db.getRun(s.id)))
    return c.html(<GridPage assets={assets} workflow={c.req.param('name')} runs={runs} />)
  })

  app.get('/runs/:id', async c => c.html(await runPage(c, c.req.param('id'), null)))
  app.get('/runs/:id/nodes/:path{.+}', async c => c.html(await runPage(c, c.req.param('id'), c.req.param('path'))))

  app.get('/ui/panel/:id/:path{.+}', async c => {
    const node = await ctx.db.getNode(c.req.param('id'), c.req.param('path'))
    return c.html(await panelFor(node, streamOf(c)))
  })

  app.get('/ui/gantt/:id', async c => c.html(<Gantt run={await ctx.db.getRun(c.req.param('id'))} />))
  app.get('/ui/stream/runs', c => runsStream(c))
  app.get('/ui/stream/runs/:id', async c => runStream(c, await ctx.db.getRun(c.req.param('id')), c.req.query('shown')))

  app.post('/ui/runs', async c => {
    const form = await c.req.parseBody()
    const inputs = parseInputLines(typeof form.inputs === 'string' ? form.inputs : '')
    const { id } = await ctx.runs.submit({ workflow: form.workflow, inputs }, false)
    c.header('HX-Redirect', `/runs/${id}`)
    return c.body(null, 204)
  })
  app.post('/ui/runs/:id/cancel', async c => {
    await ctx.runs.cancel(c.req.param('id'))
    return c.body(null, 204)
  })
  app.post('/ui/runs/:id/resume', async c => {
    const { id } = await ctx.runs.resume(c.req.param('id'), [])
    c.header('HX-Redirect', `/runs/${id}`)
    return c.body(null, 204)
  })

  async function runPage(c: Context<Env>, id: string, nodePath: string | null) {
    const run = await ctx.db.getRun(id)
    const info = await ctx.db.getRunInfo(run.id)
    const node = nodePath === null ? null : await ctx.db.getNode(run.id, nodePath)
    const panel = node === null ? undefined : await panelFor(node, streamOf(c))
    return <RunPage assets={assets} run={run} info={info} actions={actionsFor(run)} panel={panel} selected={node?.path} />
  }

  function actionsFor(run: RunDocument): RunActions {
    const served = ctx.runs.workflow(run.workflow) !== undefined
    return { canRunAgain: served, canResume: served || ctx.runs.resumeSupported }
  }

  async function panelFor(node: NodeRecord, stream: 'stdout' | 'stderr') {
    return <NodePanel node={node} result={await resultOf(node)} stream={stream} />
  }

  async function resultOf(node: NodeRecord): Promise<{ value: unknown } | { note: string } | undefined> {
    const artifact = node.artifacts.find(a => a.name === 'result')
    if (artifact === undefined) return undefined
    if (artifact.size > MAX_RESULT_SHOWN) return { note: `${artifact.size} bytes: download it below` }
    if (!(await insideStore(ctx.config.artifactsDir, artifact.path))) return { note: 'not in this server’s artifact store' }
    try {
      return { value: JSON.parse(await fs.readFile(artifact.path, 'utf8')) as unknown }
    } catch (error) {
      return { note: `cannot be read: ${error instanceof Error ? error.message : String(error)}` }
    }
  }

  /** The runs list's rows, sent again (throttled) whenever a run matching the filters changes. */
  function runsStream(c: Context<Env>) {
    const query = parseRunListQuery(c.req.query())
    return sseResponse(c, ctx.sse, async (send, signal) => {
      let dirty = false
      let wake: (() => void) | null = null
      const unsubscribe = ctx.hub.subscribe(event => {
        if (!event.event.startsWith('run:')) return
        if (query.workflow !== undefined && event.workflow !== query.workflow) return
        dirty = true
        wake?.()
      })
      const onAbort = () => wake?.()
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        while (!signal.aborted) {
          await new Promise<void>(resolve => {
            wake = resolve
            if (dirty || signal.aborted) resolve()
          })
          wake = null
          if (signal.aborted) break
          dirty = false
          const runs = await listRuns(ctx, query)
          await send({ event: 'runs', data: String(await (<RunRows runs={runs} />)) })
          await sleep(LIST_THROTTLE_MS, signal)
        }
      } finally {
        signal.removeEventListener('abort', onAbort)
        unsubscribe()
      }
    })
  }

  /**
   * A run page's changes: node rows and timeline bars (out-of-band swaps), the header when the
   * run's status changes, and `reload` when a queued run starts (its tree appears).
   */
  function runStream(c: Context<Env>, run: RunDocument, shown: string | undefined) {
    // What the page shows: it was rendered a moment before this stream opened.
    const shownQueued = shown === 'queued'
    const ordinals = new Map(run.nodes.map((n, i) => [n.path, i]))
    const t0 = Date.parse(run.startedAt)
    return sseResponse(c, ctx.sse, async (send, signal) => {
      const pending = new Map<string, LifecycleEvent>()
      let runChanged: LifecycleEvent | null = null
      let reload = false
      let wake: (() => void) | null = null
      const take = (event: LifecycleEvent) => {
        if (event.runId !== run.id) return
        if (event.event === 'run:start' && shownQueued) reload = true
        else if (event.event.startsWith('run:')) runChanged = event
        else if (event.node !== undefined && ordinals.has(event.node.path)) pending.set(event.node.path, event)
        else return
        wake?.()
      }
      const unsubscribe = ctx.hub.subscribe(take)
      // The page was rendered from history, which lags the engine's events by a moment: what
      // the hub already told about this run is applied again (each change is idempotent).
      for (const event of ctx.hub.eventsOf(run.id)) take(event)
      const onAbort = () => wake?.()
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        // A run that moved on between the page's load and this stream: catch up at once.
        if (shownQueued && run.status !== 'queued') reload = true
        const now = await ctx.db.getRun(run.id)
        if (now.status !== run.status) {
          if (shownQueued) reload = true
          else runChanged = { event: 'run:end' } as LifecycleEvent
        }
        while (!signal.aborted) {
          await new Promise<void>(resolve => {
            wake = resolve
            if (reload || runChanged !== null || pending.size > 0 || signal.aborted) resolve()
          })
          wake = null
          if (signal.aborted) break
          if (reload) {
            // Once history has the started run (its tree), or gave up waiting.
            for (let i = 0; i < 50 && !signal.aborted && (await ctx.db.getRunInfo(run.id)).status === 'queued'; i++) await sleep(100, signal)
            await send({ event: 'reload', data: '' })
            break
          }
          let html = ''
          for (const event of pending.values()) {
            const ordinal = ordinals.get(event.node!.path)!
            html += nodeRowHtml(event.node!, ordinal, { oob: true })
            html += ganttRowHtml(event.node!, ordinal, t0, true)
          }
          pending.clear()
          if (runChanged !== null) {
            const event: LifecycleEvent = runChanged
            runChanged = null
            // History is written a moment after the engine's event: wait for it (briefly) to say the same.
            let doc = await ctx.db.getRun(run.id)
            for (let i = 0; i < 30 && doc.status !== event.status && event.status !== undefined && !signal.aborted; i++) {
              await sleep(100, signal)
              doc = await ctx.db.getRun(run.id)
            }
            const info = await ctx.db.getRunInfo(run.id)
            html += String(await (<RunHeader run={doc} info={info} actions={actionsFor(doc)} oob />))
            // Ended: the timeline's final span and every bar as history has them.
            if (doc.status !== 'running' && doc.status !== 'queued') html += String(await (<Gantt run={doc} oob />))
          }
          if (html !== '') await send({ event: 'update', data: html })
          await sleep(RUN_THROTTLE_MS, signal)
        }
      } finally {
        signal.removeEventListener('abort', onAbort)
        unsubscribe()
      }
    })
  }

  return app
}

function streamOf(c: Context): 'stdout' | 'stderr' {
  return c.req.query('stream') === 'stderr' ? 'stderr' : 'stdout'
}

/** The filters of the page, for its live stream's URL. */
function liveQuery(c: Context): string {
  const params = new URLSearchParams()
  for (const key of ['workflow', 'status', 'limit']) {
    const value = c.req.query(key)
    if (value !== undefined && value !== '') params.set(key, value)
  }
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

/** `NAME=value` lines of the trigger form. */
export function parseInputLines(text: string): Record<string, string> {
  const inputs: Record<string, string> = {}
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq <= 0) throw new ServerError('WTFLOW_SERVER_BAD_REQUEST', `inputs, line ${index + 1}: "${line}" is not NAME=value`)
    inputs[line.slice(0, eq).trim()] = line.slice(eq + 1).trim()
  }
  return inputs
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
