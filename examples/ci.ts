/**
 * A CI pipeline: lint, typecheck and tests run in parallel, then the build. When the tests
 * fail, their failure branch runs (and the build does not).
 *
 *   npx wtflow run examples/ci.ts                  # everything passes
 *   CI_FAIL=test npx wtflow run examples/ci.ts     # the tests fail: exit 1, `report` runs
 *   npx wtflow run examples/ci.ts --dry-run        # the tree, without running it
 *
 * The steps are small shell commands so that the example runs anywhere; put your real ones
 * (`npm run lint`, `tsc --noEmit`, `vitest run`, …) in their place.
 */
import { Command, Node, Workflow } from '@wtflow/core'

/** A step that fails when CI_FAIL names it, to try out the failure paths. */
function step(name: string, script: string): Command {
  return new Command(`if [ "$CI_FAIL" = ${name} ]; then echo "${name}: 1 error" >&2; exit 1; fi; ${script}`)
}

const lint = new Node({ name: 'lint', executable: step('lint', `sleep 0.2; echo 'lint: 4 files, 0 problems'`) })
const typecheck = new Node({ name: 'typecheck', executable: step('typecheck', `sleep 0.3; echo 'typecheck: no errors'`) })
const test = new Node({
  name: 'test',
  executable: step('test', `sleep 0.4; echo '12 tests passed'`),
  timeout: 60_000,
  children: [
    // The failure branch: runs only if `test` fails, even though the failure stops the rest.
    new Node({
      name: 'report',
      runIf: 'failure',
      executable: new Command(`echo 'tests failed: see \`wtflow logs <run id> ci/checks/test --stderr\`'`),
    }),
  ],
})

const checks = new Node({ name: 'checks', parallel: true, children: [lint, typecheck, test] })

const build = new Node({
  name: 'build',
  executable: step('build', `mkdir -p .wtflow/ci-build && echo 'console.log("app")' > .wtflow/ci-build/app.js && echo 'built app.js'`),
  // The bundle is collected into the artifact store next to stdout.log and stderr.log.
  artifacts: ['.wtflow/ci-build/app.js'],
})

export default new Workflow({
  name: 'ci',
  description: 'lint, typecheck and tests in parallel, then build',
  root: new Node({ name: 'ci', children: [checks, build] }),
})
