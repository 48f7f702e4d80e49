/**
 * Bench part 3: the scenario corpus (`xstate-lab run` on scenarios/), wall time of the whole run
 * and per scenario run, median of three, with all the host's cores as worker threads.
 */
import { availableParallelism } from 'node:os';
import { runFiles, scenarioFiles } from '../src/commands/run.js';
import { passed } from '../src/scenario/report.js';

const ROUNDS = 3;
const files = scenarioFiles([]);
const times: number[] = [];
let runs = 0, ok = true;
for (let r = 0; r < ROUNDS; r++) {
  const t0 = performance.now();
  const { outcomes, errors } = await runFiles(files, { jobs: availableParallelism() });
  times.push(performance.now() - t0);
  runs = outcomes.length;
  ok &&= errors.length === 0 && outcomes.every(passed);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(ROUNDS / 2)];
console.log(`\nScenario corpus: ${files.length} files, ${runs} runs (scenario x CPU x kernel), ${availableParallelism()} worker threads, median of ${ROUNDS}`);
console.log(`  xstate-lab run   ${(median / 1000).toFixed(2)} s   ${(median / runs).toFixed(0)} ms per run   ${ok ? 'all passed' : 'FAILURES'}`);
