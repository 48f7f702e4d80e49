/**
 * `npm run bench`: the three bench scripts in turn (bench.js: parts 1-3 and 5, corpus.js: part 4,
 * startup.js: part 6), then issue 13's goals as this run measured them, side by side. The exit
 * status is the first failing script's, else 0 (a goal not met is a figure, not a failure).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GOALS_FILE_ENV, readGoals } from './goals.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'xstate-lab-bench-'));
const file = join(dir, 'goals.jsonl');
let status = 0;
for (const script of ['bench.js', 'corpus.js', 'startup.js']) {
  const r = spawnSync(process.execPath, [join(here, script)], { stdio: 'inherit', env: { ...process.env, [GOALS_FILE_ENV]: file } });
  if (r.status !== 0 && status === 0) status = r.status ?? 1;
}
const goals = readGoals(file);
rmSync(dir, { recursive: true, force: true });
console.log('\nIssue 13\'s goals, as measured in this run:');
if (!goals.length) console.log('  (no part recorded a goal: parts left out by BENCH_* variables)');
for (const g of goals) console.log(`  ${g.goal.padEnd(64)} ${g.measured.padStart(22)}   target ${g.target.padEnd(8)} ${g.met === undefined ? 'not measured' : g.met ? 'met' : 'NOT MET'}`);
process.exit(status);
