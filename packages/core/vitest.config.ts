import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests spawn real process trees; two files at a time is what a 2-core machine takes.
    maxWorkers: 2,
    // Type tests (`*.test-d.ts`) are checked by the TypeScript compiler, not run.
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
})
