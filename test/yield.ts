/**
 * Long in-process loops in tests let the event loop run now and then. vitest 3's worker waits at
 * most a fixed 60 s for the answer to its own progress messages ("Timeout calling onTaskUpdate");
 * the answer arrives at once but is read only when the test's event loop turns, so a test that
 * computes for a minute without turning it fails a run whose tests all pass. Two test files run
 * at a time on two cores (vitest.config.ts), so a loop of 20 s alone can take twice that.
 */

/** Synchronous work between two turns of the event loop at most (well under the 60 s above). */
const TURN_EVERY_MS = 1000;

/**
 * A function to await inside a long loop: it turns the event loop (setImmediate: the poll phase,
 * where the answer is read, runs first) when TURN_EVERY_MS have passed since the last turn, and
 * costs nothing otherwise. Keep it outside what a test times.
 */
export function breather(): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < TURN_EVERY_MS) return;
    await new Promise<void>((r) => setImmediate(r));
    last = performance.now();
  };
}
