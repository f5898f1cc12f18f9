import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'engine/**/*.test.ts',
      'hub/**/*.test.ts',
      'sim/**/*.test.ts',
      'scenarios/**/*.test.ts',
      'chaos/**/*.test.ts',
      'reports/**/*.test.ts',
      'cli/**/*.test.ts',
      'compose.test.ts',
    ],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    setupFiles: ['test/setup.ts'],
  },
});
