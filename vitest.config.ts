import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Tests run the built CLI and host probes, one file at a time. No test measures speed and
    // concurrent builds into the shared cache are safe (temporary file renamed into place), but
    // two forks on two cores made vitest's worker RPC time out ("Timeout calling onTaskUpdate":
    // a fixed 60 s, which a test's long synchronous run of spawnSync calls outlasts when it gets
    // half the CPU), failing runs whose tests all passed. Concurrency is inside files instead.
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    // Tests marked concurrent (exec's guest runs) run two at a time in their file.
    maxConcurrency: 2,
    reporters: ['default'],
  },
});
