/** A worker thread of `xstate-lab run --matrix`: one scenario file on every CPU x kernel variant asked for. */
import { resolveKernelName } from '../../kernel-model/cpufeature.js';
import { parentPort } from 'node:worker_threads';
import { resolveAnyVariant } from '../../kernel-model/variants.js';
import { InputError } from '../errors.js';
import { realpathSync } from 'node:fs';
import { builtinProfileIds } from '../../emulator/profile.js';
import { HOST_CPU, loadScenario, scenarioCpuModel, type Scenario } from '../scenario/load.js';
import { runScenario } from '../scenario/run.js';
import { ARM64_CPU } from '../scenario/arm64.js';
import { CellResult, classifyCell, isOwnCell, type MatrixCell } from './matrix.js';

export interface MatrixJob { file: string; cpus: string[]; kernels: string[] }
export interface MatrixAnswer { file: string; cells?: MatrixCell[]; error?: string }

/**
 * The label of `cpu` in the scenario's cells: a file the scenario names itself (the same real
 * path) is the scenario's own CPU under its profile id; any other id, `host` or file is itself.
 */
function cellCpu(s: Scenario, cpu: string): string {
  if (builtinProfileIds().includes(cpu) || cpu === HOST_CPU || cpu === ARM64_CPU) return cpu;
  const id = scenarioCpuModel(cpu).id;
  const own = s.cpuSpecs[id];
  // The scenario's own CPU of that id is a file too, and the same one (a built-in of the same id is not).
  const ownFile = own !== undefined && own !== HOST_CPU && !builtinProfileIds().includes(own);
  return ownFile && realpathSync(own) === realpathSync(cpu) ? id : cpu;
}

function runCell(s: Scenario, cpuArg: string, kernel: string): MatrixCell {
  const cpu = cellCpu(s, cpuArg);
  const own = isOwnCell(s, cpu, kernel);
  try {
    return classifyCell(own, runScenario(s, cpu, s.kernelVariants[kernel] ?? (/^[a-z0-9.-]+\+/i.test(kernel) ? resolveKernelName(kernel) : resolveAnyVariant(kernel))));
  } catch (e) {
    // A field the scenario names that this CPU lacks is refused before any step (checkScenarioOnCpu):
    // on its own CPUs that is bad input, elsewhere the scenario does not apply.
    if (own || !(e instanceof InputError)) throw e;
    return { scenario: s.name, file: s.file, cpu, kernel, result: CellResult.NotApplicable, reason: e.message };
  }
}

parentPort!.on('message', (job: MatrixJob | null) => {
  if (job === null) { parentPort!.close(); return; }
  let answer: MatrixAnswer;
  try {
    const s = loadScenario(job.file);
    const cells: MatrixCell[] = [];
    for (const cpu of job.cpus) for (const k of job.kernels) cells.push(runCell(s, cpu, k));
    answer = { file: job.file, cells };
  } catch (e) {
    answer = { file: job.file, error: e instanceof InputError ? e.message : `${job.file}: ${(e as Error).stack ?? e}` };
  }
  parentPort!.postMessage(answer);
});
