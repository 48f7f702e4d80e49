import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take the most time (CPU with their children, measured: README "Tests"). They start
 * first, one per fork, so that the other files fill the second core around them instead of the
 * run ending on one long file. A file not named here keeps vitest's own order (longest first when
 * its results cache knows the durations, larger files first on a fresh clone).
 */
const LONGEST_FIRST = ['test/real-programs.test.ts', 'test/exec.test.ts'];

/** Test files run at a time: one per core of the 2-core machine CI runs on. */
const FORKS = Math.max(1, Number(process.env.XSTATE_LAB_TEST_FORKS ?? 2) || 2);

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification): number => {
      const i = LONGEST_FIRST.findIndex((name) => f.moduleId.endsWith(`/${name}`));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    const sorted = await super.sort(files);
    return sorted.map((f, k) => ({ f, k })).sort((a, b) => rank(a.f) - rank(b.f) || a.k - b.k).map((x) => x.f);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Two forks, one per core: files run two at a time. Nothing is shared between files but
    // content-addressed caches (probes, guests and bench guests are built into a temporary file
    // named by process and thread and renamed into place) and temporary folders of their own.
    // vitest 3's worker RPC gives up after a fixed 60 s ("Timeout calling onTaskUpdate") when a
    // test blocks its event loop that long, which two forks sharing two cores make more likely:
    // no test blocks for long (child processes run asynchronously: bench/program-corpus.ts
    // runProcess; long in-process loops yield: test/yield.ts).
    // XSTATE_LAB_TEST_FORKS=1 runs the files one at a time again (as before issue 13's suite work).
    pool: 'forks',
    maxWorkers: FORKS,
    minWorkers: 1,
    sequence: { sequencer: LongestFirst },
    // Tests marked concurrent (exec's guest runs) run two at a time in their file.
    maxConcurrency: 2,
    reporters: ['default'],
  },
});
