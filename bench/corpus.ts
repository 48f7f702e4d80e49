/**
 * Bench part 4: the scenario corpus (`xstate-lab run` on scenarios/), wall time of the whole run
 * and per scenario run, median of three, with all the host's cores as worker threads; then the
 * corpus as a matrix (`run --matrix`: every scenario on every built-in CPU and kernel variant),
 * once, wall time, CPU time (every thread: the workers run the guests in-process) and the peak
 * resident memory of the process and its worker threads (the goal: under 30 s on 2 cores, under
 * 300 MB), with the load average seen before it (the machine is shared). BENCH_MATRIX=0 leaves the
 * matrix out.
 */
import { availableParallelism, loadavg } from 'node:os';
import { builtinProfileIds } from '../emulator/profile.js';
import { KERNEL_VARIANTS } from '../kernel-model/variants.js';
import { countCells } from '../src/commands/matrix.js';
import { runFiles, runMatrix, scenarioFiles } from '../src/commands/run.js';
import { passed } from '../src/scenario/report.js';
import { recordGoal } from './goals.js';

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

if (process.env.BENCH_MATRIX !== '0') {
  const cpus = builtinProfileIds(), kernels = KERNEL_VARIANTS.map((v) => v.id);
  const load = loadavg()[0];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { cells, errors } = await runMatrix(files, { cpus, kernels, jobs: availableParallelism() });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const n = countCells(cells);
  // process.resourceUsage().maxRSS is in KiB, for the whole process (worker threads share it, and run the scenarios' guests in-process).
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  recordGoal({ goal: `corpus as a matrix (${cells.length} cells), wall time`, measured: `${(ms / 1000).toFixed(1)} s (load ${load.toFixed(1)})`, target: '< 30 s', met: ms < 30_000 });
  recordGoal({ goal: 'corpus as a matrix, peak memory', measured: `${peakMiB.toFixed(0)} MiB`, target: '< 300 MB', met: peakMiB * 1.048576 < 300 });
  console.log(`  xstate-lab run --matrix   ${files.length} files x ${cpus.length} CPUs x ${kernels.length} kernel variants = ${cells.length} cells in ${(ms / 1000).toFixed(1)} s (${(ms / cells.length).toFixed(1)} ms per cell), ` +
    `CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, peak RSS ${peakMiB.toFixed(0)} MiB, load average ${load.toFixed(1)} before; ` +
    `${n.pass} passed, ${n.fail} failed, ${n.observed} observed, ${n.notApplicable} not applicable${errors.length ? `, ${errors.length} ERRORS` : ''}`);
}
