/**
 * Bench part 6: start-up. CPU time (user + system, bench/tools.ts timed) of `node -e 0`, of `exec`
 * of a trivial static program (bench/guest-plain-hash.c hashing 0 MiB, part 5's start-up run) and
 * of `--help`, the three taking turns in each round; the fastest of the rounds (noise only adds
 * time) and the ratios to `node -e 0`. The issue's goal is 4x for both. `node dist/bench/startup.js`
 * runs this part alone (BENCH_STARTUP_ROUNDS rounds, default 7).
 */
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';
import { buildGuest, timed } from './tools.js';
import { recordRatio } from './goals.js';

/** The profile part 5 runs exec with (2696 bytes of state, as qemu-user's -cpu max). */
const PROFILE = 'intel-alder-lake';
const rounds = Number(process.env.BENCH_STARTUP_ROUNDS ?? 7);
const cli = join(PACKAGE_ROOT, 'dist', 'src', 'cli.js');
const guest = buildGuest('guest-plain-hash');
const runs: { name: string; args: string[] }[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: `xstate-lab exec --cpu ${PROFILE} (0 MiB)`, args: [cli, 'exec', '--cpu', PROFILE, guest, '0'] },
  { name: 'xstate-lab --help', args: [cli, '--help'] },
];
const best = new Map<string, number>();
for (let k = 0; k < rounds; k++) {
  for (const r of runs) {
    const t = timed(process.execPath, r.args);
    if (t.status !== 0) throw new Error(`${r.name}: exit status ${t.status}`);
    best.set(r.name, Math.min(best.get(r.name) ?? Infinity, t.cpuNs));
  }
}
const base = best.get('node -e 0')!;
console.log(`\nStart-up: CPU time (user+system), fastest of ${rounds} rounds, the runs taking turns`);
for (const r of runs) {
  const ns = best.get(r.name)!;
  console.log(`  ${r.name.padEnd(44)} ${(ns / 1e6).toFixed(0).padStart(5)} ms${r.name === 'node -e 0' ? '' : `  ${(ns / base).toFixed(1)}x node -e 0`}`);
  if (r.name !== 'node -e 0') recordRatio(`start-up: ${r.name}`, ns / base, 4, '`node -e 0`');
}
