import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Some tests run real processes; two files at a time is what a 2-core machine takes.
    maxWorkers: 2,
  },
})
