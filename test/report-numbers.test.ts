/**
 * Numbers in run reports (issue 14: "observations mix hex and decimal"): one rule. A guest's
 * printed whole number is a number like a step's observation; JSON keeps hex, the table shows hex
 * with the decimal where it differs.
 */
import { describe, expect, it } from 'vitest';
import { guestValue } from '../src/scenario/world.js';
import { showForPeople, type RunOutcome } from '../src/scenario/run.js';
import { formatJson, formatTable } from '../src/scenario/report.js';

const outcome = (observed: Record<string, bigint | string>): RunOutcome => ({
  scenario: 's', file: 'f', cpu: 'c', variant: 'v', buffers: {},
  observations: Object.fromEntries(Object.entries(observed).map(([k, v]) => [k, typeof v === 'bigint' ? `0x${v.toString(16)}` : v])),
  checks: [{ name: 'g.len', expected: 2696n, observed: observed['g.len'], pass: true }],
});

describe('numbers by one rule', () => {
  it('a guest prints decimal or hex: both are the same number; words and negatives stay text', () => {
    expect(guestValue('2696')).toBe(2696n);
    expect(guestValue('0xa88')).toBe(2696n);
    expect(guestValue('0XA88')).toBe(2696n);
    expect(guestValue('-1')).toBe('-1');
    expect(guestValue('EINVAL')).toBe('EINVAL');
    expect(guestValue('12 bytes')).toBe('12 bytes');
  });
  it('the table shows hex with the decimal (where they differ); JSON hex alone', () => {
    expect(showForPeople(2696n)).toBe('0xa88 (2696)');
    expect(showForPeople('2696')).toBe('0xa88 (2696)');
    expect(showForPeople(7n)).toBe('0x7');
    expect(showForPeople('ok')).toBe('ok');
    const o = outcome({ 'g.len': guestValue('2696'), 'g.word': guestValue('EINVAL') });
    const table = formatTable([o], true);
    expect(table).toContain('g.len: expected 0xa88 (2696), observed 0xa88 (2696)');
    expect(table).toContain('g.word = EINVAL');
    const json = JSON.parse(formatJson([o])) as { runs: { checks: { expected: string; observed: string }[]; observations: Record<string, string> }[] };
    expect(json.runs[0].checks[0]).toMatchObject({ expected: '0xa88', observed: '0xa88' });
    expect(json.runs[0].observations['g.len']).toBe('0xa88');
  });
});
