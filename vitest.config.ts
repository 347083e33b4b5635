import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites spawn brokers and child processes; on a loaded 2-core box keep parallelism modest.
    maxWorkers: 2,
    pool: 'forks',
  },
})
