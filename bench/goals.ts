/**
 * Issue 13's goals as `npm run bench` measures them: each part records its figure here and
 * bench/run-all.ts prints them together at the end of the run, so that one run shows every goal.
 * A part run alone (XSTATE_LAB_BENCH_GOALS unset) records nothing.
 */
import { appendFileSync, readFileSync } from 'node:fs';

/** One goal's figure in this run: what was measured, the target, and whether it is met (undefined: not measured). */
export interface GoalRecord { goal: string; measured: string; target: string; met: boolean | undefined }

/** The file the parts of one run append to (set by bench/run-all.ts). */
export const GOALS_FILE_ENV = 'XSTATE_LAB_BENCH_GOALS';

export function recordGoal(r: GoalRecord): void {
  const file = process.env[GOALS_FILE_ENV];
  if (file) appendFileSync(file, `${JSON.stringify(r)}\n`);
}

/** A ratio goal: met when `ratio` is at most `limit`. */
export function recordRatio(goal: string, ratio: number, limit: number, unit: string): void {
  recordGoal({ goal, measured: `${ratio.toFixed(2)}x ${unit}`, target: `<= ${limit}x`, met: ratio <= limit });
}

export function readGoals(file: string): GoalRecord[] {
  let text = '';
  try { text = readFileSync(file, 'utf8'); } catch { return []; }
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as GoalRecord);
}
