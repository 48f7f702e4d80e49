/**
 * The real CPU is the referee: the model, given this host's captured profile, must produce the
 * same bytes, XINUSE and faults as the host's own XSAVE-family instructions.
 */
import { describe, expect, it } from 'vitest';
import { Quirk } from '../emulator/quirks.js';
import { runCpuSelfcheck } from '../src/selfcheck/cpu-selfcheck.js';
import { hostModel, hostProfile } from './helpers.js';

const lines: string[] = [];
const log = (l: string): void => { lines.push(l); };

/** Quirks the selfcheck's cases can observe (zeroing idioms need guest instructions: see zeroing-idiom.test.ts). */
const OBSERVABLE = new Set<string>([Quirk.RestoreOfInitDataKeepsInit, Quirk.ModifiedOptimization, Quirk.X87RestoreRecomputesEs, Quirk.X87PointersOnlyWithEs, Quirk.X87PointersCanonical57,
  Quirk.X87FipCanonical57, Quirk.PkruStateFourBytes]);

describe('selfcheck cpu', () => {
  it('matches the host on 20,000 crafted and random cases', () => {
    const s = runCpuSelfcheck({ cases: 20000, seed: 1, cpu: hostModel(), log, detail: 5 });
    console.log(lines.join('\n'));
    expect(s.cases).toBe(20000);
    expect(s.mismatches, lines.filter((l) => l.startsWith('MISMATCH') || l.startsWith('  ')).join('\n')).toBe(0);
  });

  it('matches the host on another seed', () => {
    const seedLines: string[] = [];
    const s = runCpuSelfcheck({ cases: 5000, seed: 0x5eed, cpu: hostModel(), log: (l) => seedLines.push(l), detail: 5 });
    expect(s.mismatches, seedLines.join('\n')).toBe(0);
  });

  // Each quirk of the host profile must be needed: without it, the model must disagree with the host.
  const quirks = hostProfile().quirks.map((q) => q.id).filter((q) => OBSERVABLE.has(q));
  if (quirks.length === 0) console.log('host profile has no quirks the selfcheck can observe: the SDM pseudocode alone must match');
  for (const q of quirks) {
    it(`needs quirk ${q}`, () => {
      const cpu = hostModel((p) => { p.quirks = p.quirks.filter((x) => x.id !== q); });
      const s = runCpuSelfcheck({ cases: 4000, seed: 3, cpu, log: () => {}, detail: 0 });
      expect(s.mismatches).toBeGreaterThan(0);
    });
  }

  it('detects a wrong MXCSR_MASK (the comparison can fail)', () => {
    const cpu = hostModel((p) => { p.fxsave.mxcsr_mask = '0x0000ffbf'; });
    const s = runCpuSelfcheck({ cases: 500, seed: 4, cpu, log: () => {}, detail: 0 });
    expect(s.mismatches).toBeGreaterThan(0);
  });
});
