/** A worker thread of `xstate-lab run`: loads one scenario file and runs it on every CPU and kernel asked for. */
import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { loadScenario } from './load.js';
import { runAll } from './run.js';

interface Job { file: string; cpus?: string[]; kernels?: string[] }

parentPort!.on('message', (job: Job | null) => {
  if (job === null) { parentPort!.close(); return; }
  try {
    const s = loadScenario(job.file);
    parentPort!.postMessage({ file: job.file, outcomes: runAll(s, job.cpus, job.kernels) });
  } catch (e) {
    parentPort!.postMessage({ file: job.file, error: e instanceof InputError ? e.message : `${job.file}: ${(e as Error).stack ?? e}` });
  }
});
void workerData;
