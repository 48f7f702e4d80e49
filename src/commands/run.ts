/**
 * `xstate-lab run [PATHS...] [--matrix] [--cpu ...] [--kernel ...] [--jobs N] [--json | --tap] [--verbose]`:
 * runs scenarios in worker threads and reports, per scenario x CPU x kernel, the observations
 * against the expectations. Without paths it runs the corpus in scenarios/. --cpu and --kernel
 * choose among each scenario's own CPUs and kernels; --matrix runs every scenario on the CPUs and
 * variants named, or all (src/commands/matrix.ts). Exit status 1 when any expectation fails,
 * 2 for an unknown CPU or variant, a bad scenario or nothing to run.
 */
import { resolveKernelName } from '../../kernel-model/cpufeature.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { formatJson, formatTable, formatTap, passed } from '../scenario/report.js';
import type { RunOutcome } from '../scenario/run.js';
import { HOST_CPU } from '../scenario/load.js';
import { ARM64_CPU } from '../scenario/arm64.js';
import { builtinProfileIds, resolveCpu } from '../../emulator/profile.js';
import { KERNEL_VARIANTS, resolveAnyVariant } from '../../kernel-model/variants.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';
import { countCells, formatMatrixJson, formatMatrixTable, formatMatrixTap, type MatrixCell } from './matrix.js';
import type { MatrixAnswer, MatrixJob } from './matrix-worker.js';

export const CORPUS_DIR = join(PACKAGE_ROOT, 'scenarios');

/** Scenario files under the given paths (directories are searched for *.yaml / *.yml), sorted. */
export function scenarioFiles(paths: string[]): string[] {
  const roots = paths.length ? paths : [CORPUS_DIR];
  const out: string[] = [];
  for (const p of roots) {
    const abs = resolve(p);
    if (!existsSync(abs)) throw new InputError(p, undefined, 'no such file or directory');
    if (statSync(abs).isDirectory()) {
      for (const f of readdirSync(abs).sort()) if (/\.ya?ml$/.test(f)) out.push(join(abs, f));
    } else out.push(abs);
  }
  if (!out.length) throw new InputError(paths.join(' ') || CORPUS_DIR, undefined, 'no scenario files (*.yaml)');
  return out;
}

interface WorkerAnswer { file: string; outcomes?: RunOutcome[]; error?: string }

/**
 * The work items on a pool of `jobs` worker threads running `workerFile` (compiled: tests import
 * this module from its TypeScript source). Each worker starts once and takes the next item as it
 * finishes one, so its start-up (loading the model's modules, the first guest's engine) is paid
 * once per worker, not per item. Answers come back in the items' order whatever order the workers
 * finished in, so the output is the same bytes on every run. `progress` hears each item as it
 * finishes. A worker that dies takes only its item with it (reported as that item's error); a
 * fresh worker takes its place while items remain.
 */
async function onWorkers<J extends { file: string }, A extends { file: string; error?: string }>(workerFile: string, work: J[], jobs: number, progress?: (done: number, total: number, file: string) => void): Promise<A[]> {
  let nextItem = 0;
  let done = 0;
  const answers: (A | undefined)[] = new Array(work.length);
  const n = Math.max(1, Math.min(jobs, work.length));
  const worker = (): Promise<void> => new Promise<void>((finished) => {
    const w = new Worker(workerFile);
    let current: number | undefined;
    let died = false;
    const next = (): void => {
      current = nextItem < work.length ? nextItem++ : undefined;
      w.postMessage(current === undefined ? null : work[current]);
    };
    const answer = (i: number, a: A): void => { answers[i] = a; done++; progress?.(done, work.length, a.file); };
    w.on('message', (a: A) => { const i = current!; current = undefined; answer(i, a); next(); });
    w.on('error', (e) => {
      died = true;
      if (current !== undefined) { const f = work[current].file; answer(current, { file: f, error: `${f}: the worker stopped: ${e.message}` } as A); current = undefined; }
    });
    w.on('exit', () => {
      // A replacement for a worker that died while items remain; the pool ends when every worker has.
      if (died && nextItem < work.length) worker().then(finished, finished);
      else finished();
    });
    next();
  });
  await Promise.all(Array.from({ length: n }, worker));
  return answers.filter((a): a is A => a !== undefined);
}

/** Run the files (each on its own CPUs and kernels, optionally only these) on `jobs` worker threads. */
export async function runFiles(files: string[], o: { cpus?: string[]; kernels?: string[]; jobs: number; progress?: (done: number, total: number, file: string) => void }): Promise<{ outcomes: RunOutcome[]; errors: string[] }> {
  const answers = await onWorkers<{ file: string; cpus?: string[]; kernels?: string[] }, WorkerAnswer>(join(PACKAGE_ROOT, 'dist', 'src', 'scenario', 'worker.js'),
    files.map((file) => ({ file, cpus: o.cpus, kernels: o.kernels })), o.jobs, o.progress);
  return { outcomes: answers.flatMap((a) => a.outcomes ?? []), errors: answers.flatMap((a) => (a.error ? [a.error] : [])) };
}

/**
 * Every file on every CPU x kernel variant given (run --matrix), one cell each. A work item is one
 * file on one CPU (its cells on every variant): items of a few hundred milliseconds keep both
 * workers busy to the end, where whole files (a guest program's file costs ten times another's)
 * left one worker idle. A file that cannot be loaded is one error, not one per CPU.
 */
export async function runMatrix(files: string[], o: { cpus: string[]; kernels: string[]; jobs: number; progress?: (done: number, total: number, file: string) => void }): Promise<{ cells: MatrixCell[]; errors: string[] }> {
  const work: MatrixJob[] = files.flatMap((file) => o.cpus.map((cpu) => ({ file, cpus: [cpu], kernels: o.kernels })));
  const answers = await onWorkers<MatrixJob, MatrixAnswer>(join(PACKAGE_ROOT, 'dist', 'src', 'commands', 'matrix-worker.js'), work, o.jobs, o.progress);
  const errors: string[] = [];
  const failed = new Set<string>();
  for (const a of answers) {
    if (a.error === undefined) continue;
    // The same load error comes back for each of the file's CPUs; a worker that stopped is its own error.
    if (a.loadError && failed.has(a.file)) continue;
    if (a.loadError) failed.add(a.file);
    errors.push(a.error);
  }
  return { cells: answers.flatMap((a) => a.cells ?? []), errors };
}

export interface RunOptions { cpu?: string[]; kernel?: string[]; matrix?: boolean; jobs?: number; json?: boolean; tap?: boolean; verbose?: boolean }

/**
 * The --cpu arguments checked (exit 2 naming an unknown one): a built-in id or `host` stays as it
 * is, a profile or dump file becomes an absolute path (scenario guests run from the scenario's folder).
 */
export function selectedCpus(args: string[] | undefined): string[] | undefined {
  if (!args?.length) return undefined;
  return args.map((a) => {
    if (a === '') throw new InputError('<command line>', '--cpu', 'empty CPU id');
    if (builtinProfileIds().includes(a) || a === HOST_CPU || a === ARM64_CPU) return a;
    resolveCpu(a); // an InputError naming the argument or the place in the file
    return resolve(a);
  });
}

export function selectedKernels(args: string[] | undefined): string[] | undefined {
  if (!args?.length) return undefined;
  // A variant id of either architecture, or a booted kernel's default name (linux-6.18+nopku); an `as` name is not selectable here.
  return args.map((k) => (/^[a-z0-9.-]+\+/i.test(k) ? resolveKernelName(k).id : resolveAnyVariant(k, '<command line>', '--kernel').id));
}

export async function runCommand(paths: string[], o: RunOptions): Promise<number> {
  if (o.json && o.tap) throw new InputError('<command line>', '--json/--tap', 'choose one output format');
  const cpus = selectedCpus(o.cpu);
  const kernels = selectedKernels(o.kernel);
  const files = scenarioFiles(paths);
  const tty = process.stderr.isTTY && !o.json && !o.tap;
  const started = Date.now();
  const jobs = o.jobs ?? Math.max(1, availableParallelism());
  const progress = tty ? (d: number, t: number, f: string): void => { process.stderr.write(`\r[${d}/${t}] ${f.split('/').pop()}\x1b[K`); } : undefined;
  const seconds = (): string => ((Date.now() - started) / 1000).toFixed(1);
  if (o.matrix) {
    const allCpus = cpus ?? builtinProfileIds();
    const allKernels = kernels ?? KERNEL_VARIANTS.map((v) => v.id);
    const { cells, errors } = await runMatrix(files, { cpus: allCpus, kernels: allKernels, jobs, progress });
    if (tty) process.stderr.write('\r\x1b[K');
    for (const e of errors) console.error(`xstate-lab: ${e}`);
    const n = countCells(cells);
    if (errors.length && !cells.length) return EXIT_USAGE;
    if (!errors.length && n.pass + n.fail + n.observed === 0) throw new InputError('<command line>', '--matrix', `nothing to run: no scenario applies on ${allCpus.join(', ')} with ${allKernels.join(', ')}`);
    if (o.json) console.log(formatMatrixJson(cells, allCpus, allKernels));
    else if (o.tap) console.log(formatMatrixTap(cells));
    else {
      console.log(formatMatrixTable(cells, !!o.verbose));
      console.log(`${files.length} scenario files x ${allCpus.length} CPUs x ${allKernels.length} kernel variants, ${cells.length} cells in ${seconds()} s`);
    }
    // A scenario file that could not be loaded is bad input, whatever the others did.
    return errors.length ? EXIT_USAGE : n.fail ? EXIT_FAILED : EXIT_OK;
  }
  const { outcomes, errors } = await runFiles(files, { cpus, kernels, jobs, progress });
  if (tty) process.stderr.write('\r\x1b[K');
  for (const e of errors) console.error(`xstate-lab: ${e}`);
  if (errors.length && !outcomes.length) return EXIT_USAGE;
  if (!outcomes.length) {
    const asked = [cpus ? `CPU ${cpus.join(', ')}` : '', kernels ? `kernel ${kernels.join(', ')}` : ''].filter(Boolean).join(' and ');
    throw new InputError('<command line>', cpus && kernels ? '--cpu/--kernel' : cpus ? '--cpu' : '--kernel',
      `nothing to run: no scenario of ${files.length} lists ${asked} (--cpu and --kernel choose among a scenario's own; --matrix runs scenarios on others)`);
  }
  if (o.json) console.log(formatJson(outcomes));
  else if (o.tap) console.log(formatTap(outcomes));
  else {
    console.log(formatTable(outcomes, !!o.verbose));
    console.log(`${files.length} scenario files, ${outcomes.length} runs in ${seconds()} s`);
  }
  return errors.length ? EXIT_USAGE : outcomes.every(passed) ? EXIT_OK : EXIT_FAILED;
}
