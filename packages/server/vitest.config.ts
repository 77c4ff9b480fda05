import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real servers, processes, PostgreSQL and a browser: two files at a time suits a 2-core machine.
    maxWorkers: 2,
    // UI assertions wait for live updates; a loaded machine may take seconds.
    expect: { poll: { timeout: 20_000, interval: 50 } },
  },
})
