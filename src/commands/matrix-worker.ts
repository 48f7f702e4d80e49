/**
 * A worker thread of `xstate-lab run --matrix`: it lives for the whole run and takes items, each a
 * scenario file on CPUs x kernel variants (src/commands/run.ts runMatrix gives one CPU per item).
 */
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
/** `loadError`: the file itself could not be loaded (the same for each of its items). */
export interface MatrixAnswer { file: string; cells?: MatrixCell[]; error?: string; loadError?: boolean }

/** The scenarios this worker has loaded, or why one could not be: each file is loaded once however many of its items come here. */
const loaded = new Map<string, Scenario | InputError>();

function scenario(file: string): Scenario {
  let s = loaded.get(file);
  if (s === undefined) {
    try { s = loadScenario(file); } catch (e) {
      if (!(e instanceof InputError)) throw e;
      s = e;
    }
    loaded.set(file, s);
  }
  if (s instanceof InputError) throw s;
  return s;
}

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
  let s: Scenario | undefined;
  try {
    s = scenario(job.file);
    const cells: MatrixCell[] = [];
    for (const cpu of job.cpus) for (const k of job.kernels) cells.push(runCell(s, cpu, k));
    answer = { file: job.file, cells };
  } catch (e) {
    answer = { file: job.file, error: e instanceof InputError ? e.message : `${job.file}: ${(e as Error).stack ?? e}`, loadError: s === undefined };
  }
  parentPort!.postMessage(answer);
});
