import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Tests run the built CLI and host probes. Two files at a time, one per core of the test
    // machine: no test measures speed (the only clocks are hang guards of seconds per case, and
    // the logged unicorn trap cost, which no assertion uses), and host probes and guests are
    // compiled into the shared cache through a temporary file renamed into place.
    pool: 'forks',
    poolOptions: { forks: { minForks: 1, maxForks: 2 } },
    // Tests marked concurrent (exec's guest runs) run two at a time in their file.
    maxConcurrency: 2,
    reporters: ['default'],
  },
});
