/**
 * Retries: `flaky` hangs on its first attempt (the timeout stops it), fails on its second, and
 * succeeds on its third. A counter file makes this deterministic; `reset` clears it first.
 * Between attempts wtflow waits retryDelay × backoff^(n-1), spread by ±jitter.
 *
 *   npx wtflow run examples/retry.ts
 *   npx wtflow show <run id>            # 3 attempts; the earlier ones' output is kept
 */
import { Command, Node, Workflow } from '@wtflow/core'

const COUNTER = process.env.RETRY_COUNTER ?? '.wtflow/retry-demo.count'

const flaky = new Node({
  name: 'flaky',
  executable: new Command(
    [
      `n=$(cat '${COUNTER}' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '${COUNTER}'`,
      `if [ $n -eq 1 ]; then echo "attempt $n: the service does not answer"; exec sleep 30; fi`,
      `if [ $n -eq 2 ]; then echo "attempt $n: 503 Service Unavailable" >&2; exit 1; fi`,
      `echo "attempt $n: 200 OK"`,
    ].join('\n'),
  ),
  timeout: 1_000,
  retries: 3,
  retryDelay: 200,
  backoff: 2,
  jitter: 0.25,
})

export default new Workflow({
  name: 'retry',
  description: 'a flaky command with a timeout, retries, backoff and jitter',
  root: new Node({
    name: 'reset',
    executable: new Command(`mkdir -p "$(dirname '${COUNTER}')" && rm -f '${COUNTER}'`),
    children: [flaky],
  }),
})
