import { defineConfig } from 'vitest/config'

// End-to-end tests start real `wtflow` processes (and their children) on a small machine:
// generous timeouts, and at most two test files at once.
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // A flake here is a bug to fix, not to retry.
    retry: 0,
  },
})
