/**
 * The real-program corpus over any profiles (bench/program-corpus.ts): every build of
 * test/programs/ on every profile that has the features it needs, judged against the native
 * output, then the histogram of the instructions that stopped runs as "not emulated".
 *
 *   node dist/bench/programs.js [--cpu host,intel-alder-lake,...|all] [--only NAME,...] [--jobs N] [--json]
 *
 * Default: host and every built-in profile. Exit 0 when every cell is natively-equal, 1 otherwise.
 */
import { availableParallelism } from 'node:os';
import { builtinProfileIds, loadBuiltinQuietly } from '../emulator/profile.js';
import { hostCpuModel } from '../src/host/capture.js';
import {
  type Cell, Verdict, buildExecutable, corpusBuilds, describeCell, expectedOutput, judge, notEmulatedHistogram, pool, runModel, usableFeatures,
} from './program-corpus.js';

function usage(msg: string): never {
  process.stderr.write(`programs: ${msg}\nusage: node dist/bench/programs.js [--cpu IDS|all] [--only PROGRAMS] [--jobs N] [--json]\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
let cpus: string[] = ['host', ...builtinProfileIds()];
let only: string[] | undefined;
let jobs = Math.max(1, availableParallelism());
let json = false;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = (): string => { const v = argv[++i]; if (v === undefined || v === '') usage(`${a} needs a value`); return v; };
  if (a === '--cpu') { const v = val(); cpus = v === 'all' ? ['host', ...builtinProfileIds()] : v.split(','); }
  else if (a === '--only') only = val().split(',');
  else if (a === '--jobs') { const v = val(); if (!/^[1-9][0-9]*$/.test(v)) usage(`--jobs: expected a positive whole number, got '${v}'`); jobs = Number(v); }
  else if (a === '--json') json = true;
  else usage(`unknown argument '${a}'`);
}
for (const c of cpus) if (c !== 'host' && !builtinProfileIds().includes(c)) usage(`--cpu: unknown profile '${c}' (known: host, ${builtinProfileIds().join(', ')})`);

const host = usableFeatures(hostCpuModel());
const builds = corpusBuilds().filter((b) => !only || only.includes(b.program));
if (only) for (const o of only) if (!builds.some((b) => b.program === o)) usage(`--only: no program '${o}' in test/programs/`);
const features = new Map(cpus.map((c) => [c, c === 'host' ? host : usableFeatures(loadBuiltinQuietly(c))]));

interface Planned { build: (typeof builds)[number]; cpu: string }
const planned: Planned[] = [];
const skipped: string[] = [];
for (const cpu of cpus) for (const build of builds) planned.push({ build, cpu });
const t0 = performance.now();
const results = await pool(planned, jobs, async (p): Promise<Cell | undefined> => {
  const exp = await expectedOutput(p.build, p.cpu, features.get(p.cpu)!, host);
  if (typeof exp === 'string') { skipped.push(`${p.build.id} on ${p.cpu}: not run (${exp})`); return undefined; }
  const cell = judge(p.build, p.cpu, exp, await runModel(buildExecutable(p.build), p.cpu));
  if (!json) process.stdout.write(`${describeCell(cell)}\n`);
  return cell;
});
const cells = results.filter((c): c is Cell => c !== undefined);
const secs = (performance.now() - t0) / 1000;
const count = (v: Verdict): number => cells.filter((c) => c.verdict === v).length;
const hist = notEmulatedHistogram(cells);
if (json) {
  process.stdout.write(`${JSON.stringify({
    format: 'xstate-lab.program-corpus/1',
    cells: cells.map((c) => ({ build: c.build.id, cpu: c.cpu, verdict: c.verdict, mnemonic: c.mnemonic, instruction: c.instruction, detail: c.detail, expectedFrom: c.expectedFrom })),
    skipped,
    histogram: Object.fromEntries(hist.map(([m, cs]) => [m, cs.length])),
  }, null, 2)}\n`);
} else {
  for (const s of skipped) process.stdout.write(`${s}\n`);
  process.stdout.write(`\nPrograms x profiles: ${cells.length} runs (${skipped.length} not run: a feature missing), ${secs.toFixed(0)} s with ${jobs} job(s)\n`);
  process.stdout.write(`  natively-equal ${count(Verdict.Equal)}, different ${count(Verdict.Different)}, stopped ${count(Verdict.Stopped)}, tool errors ${count(Verdict.ToolError)}\n`);
  process.stdout.write('\nPer profile (equal / different / stopped / tool error):\n');
  for (const cpu of cpus) {
    const cs = cells.filter((c) => c.cpu === cpu);
    const n = (v: Verdict): number => cs.filter((c) => c.verdict === v).length;
    process.stdout.write(`  ${cpu.padEnd(26)} ${String(n(Verdict.Equal)).padStart(3)} / ${String(n(Verdict.Different)).padStart(3)} / ${String(n(Verdict.Stopped)).padStart(3)} / ${n(Verdict.ToolError)}\n`);
  }
  process.stdout.write('\nNot-emulated mnemonics (runs stopped by each, first stop per run):\n');
  if (!hist.length) process.stdout.write('  none\n');
  for (const [m, cs] of hist) {
    const where = [...new Set(cs.map((c) => c.cpu))].join(', ');
    process.stdout.write(`  ${m.padEnd(16)} ${String(cs.length).padStart(4)}  e.g. ${cs[0]!.instruction}; on ${where}\n`);
  }
  const diffs = cells.filter((c) => c.verdict === Verdict.Different);
  if (diffs.length) {
    process.stdout.write('\nDifferent outputs by program:\n');
    const byProgram = new Map<string, number>();
    for (const c of diffs) byProgram.set(c.build.program, (byProgram.get(c.build.program) ?? 0) + 1);
    for (const [p, n] of byProgram) process.stdout.write(`  ${p.padEnd(16)} ${n}\n`);
  }
}
process.exitCode = cells.every((c) => c.verdict === Verdict.Equal) ? 0 : 1;
