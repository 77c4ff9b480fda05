import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests use a real SQLite file and a real PostgreSQL; two files at a time suits a 2-core machine.
    maxWorkers: 2,
  },
})
