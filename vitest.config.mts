import { defineConfig } from 'vitest/config';

// The Temporal SDK's native bridge and workflow sandbox have crashed under worker threads:
// every test file runs in a forked process instead. Two cores: at most two forks at once.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
