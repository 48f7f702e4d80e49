/**
 * The real CPU is the referee: the model, given this host's captured profile, must produce the
 * same bytes, XINUSE and faults as the host's own XSAVE-family instructions.
 */
import { describe, expect, it } from 'vitest';
import { Quirk } from '../emulator/quirks.js';
import { runCpuSelfcheck } from '../src/selfcheck/cpu-selfcheck.js';
import { hostModel, hostProfile } from './helpers.js';

/** Quirks the selfcheck's cases can observe (zeroing idioms need guest instructions: see zeroing-idiom.test.ts). */
const OBSERVABLE = new Set<string>([Quirk.RestoreOfInitDataKeepsInit, Quirk.ModifiedOptimization, Quirk.X87RestoreRecomputesEs, Quirk.X87PointersOnlyWithEs, Quirk.X87PointersSavedOnlyWithEs, Quirk.X87PointersCanonical57,
  Quirk.X87FipCanonical57, Quirk.PkruStateFourBytes]);

describe('selfcheck cpu', () => {
  // 20,000 cases in four runs of 5,000: one long synchronous run would block vitest's worker
  // past its 60 s RPC timeout on a loaded machine.
  for (const seed of [1, 2, 3, 4]) {
    it(`matches the host on 5,000 crafted and random cases (seed ${seed}; 20,000 in all)`, () => {
      const lines: string[] = [];
      const s = runCpuSelfcheck({ cases: 5000, seed, cpu: hostModel(), log: (l) => lines.push(l), detail: 5 });
      if (seed === 1) console.log(lines.join('\n'));
      expect(s.cases).toBe(5000);
      expect(s.mismatches, lines.filter((l) => l.startsWith('MISMATCH') || l.startsWith('  ')).join('\n')).toBe(0);
    });
  }

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
