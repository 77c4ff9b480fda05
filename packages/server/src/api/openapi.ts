import { RUN_STATUSES } from './run-routes.js'

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } })
const error = (description: string) => json(ref('Error'), description)
const runId = { name: 'id', in: 'path', required: true, description: 'A run id or any unique prefix of one', schema: { type: 'string' } }
const nodePath = {
  name: 'path',
  in: 'path',
  required: true,
  description: 'The node path (names from the root joined by `/`), percent-encoded as one segment or with its slashes',
  schema: { type: 'string' },
}
const notFound = error('No such run, node or artifact (also for a path that tries to leave the artifact store)')
const unauthorized = error('Missing or wrong token (no detail given)')
const nullable = (type: string) => ({ type: [type, 'null'] })

/** The OpenAPI 3.1 document of the server's API (`GET /api/v1/openapi.json`). */
export function openApiDocument(version: string): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'wtflow server',
      version,
      description:
        'Run history, live logs and run control of `wtflow serve`. JSON documents are the CLI\'s `--json` documents. ' +
        'Authentication: `Authorization: Bearer TOKEN` (or the cookie set by `/?token=`). On a loopback address, GET requests need no token; anywhere else every request needs it.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, {}],
    paths: {
      '/health': {
        get: {
          summary: 'Liveness and database reachability',
          security: [{ bearer: [] }, {}],
          responses: { 200: json(ref('Health'), 'Up, database reachable'), 503: json(ref('Health'), 'The database does not answer') },
        },
      },
      '/api/v1/runs': {
        get: {
          summary: 'Run summaries, newest first',
          parameters: [
            { name: 'workflow', in: 'query', schema: { type: 'string' } },
            { name: 'status', in: 'query', description: 'One status or several separated by commas', schema: { type: 'string' }, example: 'failed,crashed' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
            { name: 'before', in: 'query', description: 'The id of the last run of the previous page, or a time (ISO-8601 or epoch ms)', schema: { type: 'string' } },
          ],
          responses: { 200: json({ type: 'array', items: ref('RunSummary') }, 'Run summaries'), 400: error('A bad filter'), 401: unauthorized },
        },
        post: {
          summary: 'Start a run of a workflow this server runs, or of a posted flow',
          requestBody: { required: true, content: { 'application/json': { schema: ref('RunRequest') } } },
          responses: {
            202: json(ref('Accepted'), 'Queued (it starts when one of `[server] max_runs` slots is free)'),
            400: error('Invalid body, flow or inputs (the message is the CLI\'s)'),
            401: unauthorized,
            403: error('Inline flows are off (start the server with --allow-inline-flows), or a foreign Origin'),
            404: error('No such workflow'),
            413: error('Body over the size limit'),
            501: error('Inline flows are not available in this build'),
          },
        },
      },
      '/api/v1/runs/{id}': {
        get: { summary: 'One run (the `wtflow show --json` document)', parameters: [runId], responses: { 200: json(ref('RunDocument'), 'The run'), 400: error('Ambiguous id prefix'), 401: unauthorized, 404: notFound } },
      },
      '/api/v1/runs/{id}/cancel': {
        post: {
          summary: 'Cancel a run this server executes, or one still queued',
          parameters: [runId],
          responses: {
            202: json({ type: 'object', properties: { id: { type: 'string' }, status: { const: 'cancelling' } } }, 'Cancelling'),
            401: unauthorized,
            404: notFound,
            409: error('Already ended, or executed by another process'),
          },
        },
      },
      '/api/v1/runs/{id}/resume': {
        post: {
          summary: 'Start a new run that resumes this one',
          parameters: [runId],
          requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { rerun: { type: 'array', items: { type: 'string' } } } } } } },
          responses: { 202: json(ref('Accepted'), 'The new run'), 401: unauthorized, 404: notFound, 409: error('Still running'), 501: error('Not available in this build') },
        },
      },
      '/api/v1/runs/{id}/nodes/{path}/logs': {
        get: {
          summary: "A node's stdout or stderr: bytes, or followed live as server-sent events",
          description:
            'With `Accept: text/event-stream`: one event per chunk, `data` a JSON string of the text, `id` the byte offset just after it; ' +
            '`Last-Event-ID` (or `offset`) resumes without loss or repeat. With `view=tail` (what the web UI asks), a reader more than 64 KB behind skips ahead to the newest output (a `skip` event `{from, to}`, id = `to`). An `attempt` event (id 0) marks a retry (the next events are the new attempt\'s file); an `end` event `{status}` closes the stream when the node ended.',
          parameters: [
            runId,
            nodePath,
            { name: 'stream', in: 'query', schema: { enum: ['stdout', 'stderr'], default: 'stdout' } },
            { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0 } },
            { name: 'limit', in: 'query', description: 'At most this many bytes', schema: { type: 'integer', minimum: 0 } },
            { name: 'tail', in: 'query', description: 'The last N bytes', schema: { type: 'integer', minimum: 0 } },
            { name: 'view', in: 'query', description: 'Event stream: `tail` lets a reader that fell behind skip to the newest output', schema: { enum: ['tail'] } },
          ],
          responses: {
            200: {
              description: 'The bytes (headers X-Log-Offset: first byte sent, X-Log-Size: size now, X-Node-Status), or the event stream',
              content: { 'text/plain': { schema: { type: 'string' } }, 'text/event-stream': { schema: { type: 'string' } } },
            },
            400: error('Bad parameter'),
            401: unauthorized,
            404: notFound,
          },
        },
      },
      '/api/v1/runs/{id}/nodes/{path}/artifacts/{name}': {
        get: {
          summary: 'Download an artifact (stdout, stderr, result, a declared file, `stdout.attempt-1`…)',
          parameters: [runId, nodePath, { name: 'name', in: 'path', required: true, schema: { type: 'string' } }, { name: 'download', in: 'query', schema: { type: 'string' } }],
          responses: { 200: { description: 'The file (header X-Artifact-Sha256)', content: { 'application/octet-stream': {} } }, 401: unauthorized, 404: notFound },
        },
      },
      '/api/v1/events': {
        get: {
          summary: 'Lifecycle events of every run the history records (server-sent events)',
          description: 'Each `data` is a LifecycleEvent; `id` its sequence number (`Last-Event-ID` replays missed ones while kept; a `gap` event says some were lost). Runs of other processes sharing the history arrive within the poll interval.',
          parameters: [{ name: 'run', in: 'query', description: 'Only this run (id or prefix)', schema: { type: 'string' } }],
          responses: { 200: { description: 'The stream', content: { 'text/event-stream': { schema: ref('LifecycleEvent') } } }, 401: unauthorized },
        },
      },
      '/api/v1/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': {} } } } } },
      '/api/v1/flows/execute': {
        post: {
          summary: 'Flow Manager compatibility: run a posted flow document (as `{ "flow": … }`)',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
          responses: { 202: json(ref('Accepted'), 'Queued'), 400: error('Invalid flow'), 401: unauthorized, 403: error('Inline flows are off'), 413: error('Too large'), 501: error('Not available') },
        },
      },
      '/api/v1/flows/executions': { get: { summary: 'Flow Manager compatibility: run summaries (as /api/v1/runs)', responses: { 200: json({ type: 'array', items: ref('RunSummary') }, 'Runs') } } },
      '/api/v1/flows/executions/{id}': { get: { summary: 'Flow Manager compatibility: one run', parameters: [runId], responses: { 200: json(ref('RunDocument'), 'The run'), 404: notFound } } },
      '/status': {
        get: {
          summary: "flowtoy compatibility: the latest run's status and each node's",
          responses: { 200: json({ type: 'object', properties: { run: nullable('string'), workflow: { type: 'string' }, status: nullable('string'), nodes: { type: 'object', additionalProperties: { type: 'string' } } } }, 'Latest run') },
        },
      },
      '/outputs': {
        get: {
          summary: "flowtoy compatibility: the latest run's results by node path",
          responses: { 200: json({ type: 'object', properties: { run: nullable('string'), outputs: { type: 'object' } } }, 'Results (those over 1 MiB are left out)') },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: { type: 'object', required: ['error'], properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', example: 'WTFLOW_RUN_NOT_FOUND' }, message: { type: 'string' } } } } },
        Health: { type: 'object', properties: { status: { enum: ['ok', 'error'] }, version: { type: 'string' }, database: { enum: ['ok', 'unreachable'] } } },
        RunRequest: {
          type: 'object',
          properties: { workflow: { type: 'string', description: 'A workflow of the scripts given to `wtflow serve`' }, flow: { type: 'object', description: 'A flow document (needs --allow-inline-flows)' }, inputs: { type: 'object' } },
        },
        Accepted: { type: 'object', required: ['id', 'url'], properties: { id: { type: 'string' }, url: { type: 'string', format: 'uri', description: "The run's page" } } },
        RunSummary: {
          type: 'object',
          required: ['id', 'workflow', 'status', 'startedAt', 'endedAt', 'durationMs'],
          properties: { id: { type: 'string' }, workflow: { type: 'string' }, status: { enum: RUN_STATUSES }, startedAt: { type: 'string', format: 'date-time' }, endedAt: { type: ['string', 'null'], format: 'date-time' }, durationMs: nullable('number') },
        },
        Artifact: { type: 'object', properties: { name: { type: 'string' }, path: { type: 'string' }, size: { type: 'integer' }, sha256: { type: 'string' } } },
        Node: {
          type: 'object',
          properties: {
            path: { type: 'string' },
            name: { type: 'string' },
            status: { enum: ['pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'cached'] },
            exitCode: nullable('integer'),
            signal: nullable('string'),
            attempts: { type: 'integer' },
            error: nullable('string'),
            skipReason: nullable('string'),
            startedAt: { type: ['string', 'null'], format: 'date-time' },
            endedAt: { type: ['string', 'null'], format: 'date-time' },
            artifacts: { type: 'array', items: ref('Artifact') },
          },
        },
        RunDocument: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            workflow: { type: 'string' },
            status: { enum: RUN_STATUSES },
            exitCode: nullable('integer'),
            startedAt: { type: 'string', format: 'date-time' },
            endedAt: { type: ['string', 'null'], format: 'date-time' },
            nodes: { type: 'array', items: ref('Node') },
          },
        },
        LifecycleEvent: {
          type: 'object',
          required: ['seq', 'ts', 'event', 'runId', 'status', 'source'],
          properties: {
            seq: { type: 'integer' },
            ts: { type: 'string', format: 'date-time' },
            event: { enum: ['run:queued', 'run:start', 'node:start', 'node:attempt', 'node:end', 'run:end'] },
            runId: { type: 'string' },
            workflow: nullable('string'),
            path: nullable('string'),
            status: { type: 'string' },
            attempt: { type: 'integer' },
            exitCode: nullable('integer'),
            error: nullable('string'),
            node: ref('Node'),
            source: { enum: ['local', 'history'] },
          },
        },
      },
    },
  }
}
