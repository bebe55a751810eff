import { defineConfig } from 'vitest/config';

// Tests fork real supervisors, workers and Chromium: run files one at a time on these 2-core
// machines so their timing bounds stay meaningful.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
