/**
 * `xstate-lab run [PATHS...] [--cpu ...] [--kernel ...] [--jobs N] [--json | --tap] [--verbose]`:
 * runs scenarios in worker threads and reports, per scenario x CPU x kernel, the observations
 * against the expectations. Without paths it runs the corpus in scenarios/. Exit status 1 when
 * any expectation fails.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { formatJson, formatTable, formatTap, passed } from '../scenario/report.js';
import type { RunOutcome } from '../scenario/run.js';

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

/** Run the files on `jobs` worker threads; `progress` hears each file as it finishes. */
export async function runFiles(files: string[], o: { cpus?: string[]; kernels?: string[]; jobs: number; progress?: (done: number, total: number, file: string) => void }): Promise<{ outcomes: RunOutcome[]; errors: string[] }> {
  const queue = [...files];
  const answers: WorkerAnswer[] = [];
  // The compiled worker (tests import this module from its TypeScript source).
  const workerFile = join(PACKAGE_ROOT, 'dist', 'src', 'scenario', 'worker.js');
  const jobs = Math.max(1, Math.min(o.jobs, files.length));
  await Promise.all(Array.from({ length: jobs }, () => new Promise<void>((done) => {
    const w = new Worker(workerFile);
    let current: string | undefined;
    const next = (): void => {
      current = queue.shift();
      if (current === undefined) { w.postMessage(null); return; }
      w.postMessage({ file: current, cpus: o.cpus, kernels: o.kernels });
    };
    w.on('message', (a: WorkerAnswer) => { current = undefined; answers.push(a); o.progress?.(answers.length, files.length, a.file); next(); });
    // A worker that dies takes its file with it: that file is reported, the others go on.
    w.on('error', (e) => { if (current !== undefined) answers.push({ file: current, error: `${current}: the worker stopped: ${e.message}` }); });
    w.on('exit', () => done());
    next();
  })));
  // Report in file order whatever order the workers finished in.
  answers.sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file));
  return { outcomes: answers.flatMap((a) => a.outcomes ?? []), errors: answers.flatMap((a) => (a.error ? [a.error] : [])) };
}

export async function runCommand(paths: string[], o: { cpu?: string[]; kernel?: string[]; jobs?: number; json?: boolean; tap?: boolean; verbose?: boolean }): Promise<number> {
  if (o.json && o.tap) throw new InputError('<command line>', '--json/--tap', 'choose one output format');
  const files = scenarioFiles(paths);
  const tty = process.stderr.isTTY && !o.json && !o.tap;
  const started = Date.now();
  const { outcomes, errors } = await runFiles(files, {
    cpus: o.cpu, kernels: o.kernel, jobs: o.jobs ?? Math.max(1, availableParallelism()),
    progress: tty ? (d, t, f) => process.stderr.write(`\r[${d}/${t}] ${f.split('/').pop()}\x1b[K`) : undefined,
  });
  if (tty) process.stderr.write('\r\x1b[K');
  for (const e of errors) console.error(`xstate-lab: ${e}`);
  if (o.json) console.log(formatJson(outcomes));
  else if (o.tap) console.log(formatTap(outcomes));
  else {
    console.log(formatTable(outcomes, !!o.verbose));
    console.log(`${files.length} scenario files, ${outcomes.length} runs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return errors.length ? 2 : outcomes.every(passed) ? 0 : 1;
}
