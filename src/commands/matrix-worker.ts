/** A worker thread of `xstate-lab run --matrix`: one scenario file on every CPU x kernel variant asked for. */
import { parentPort } from 'node:worker_threads';
import { resolveKernelVariant } from '../../kernel-model/variants.js';
import { InputError } from '../errors.js';
import { loadScenario } from '../scenario/load.js';
import { runScenario } from '../scenario/run.js';
import { classifyCell, isOwnCell, type MatrixCell } from './matrix.js';

export interface MatrixJob { file: string; cpus: string[]; kernels: string[] }
export interface MatrixAnswer { file: string; cells?: MatrixCell[]; error?: string }

parentPort!.on('message', (job: MatrixJob | null) => {
  if (job === null) { parentPort!.close(); return; }
  let answer: MatrixAnswer;
  try {
    const s = loadScenario(job.file);
    const cells: MatrixCell[] = [];
    for (const cpu of job.cpus) {
      for (const k of job.kernels) cells.push(classifyCell(isOwnCell(s, cpu, k), runScenario(s, cpu, resolveKernelVariant(k))));
    }
    answer = { file: job.file, cells };
  } catch (e) {
    answer = { file: job.file, error: e instanceof InputError ? e.message : `${job.file}: ${(e as Error).stack ?? e}` };
  }
  parentPort!.postMessage(answer);
});
