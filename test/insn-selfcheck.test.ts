/**
 * The real CPU as referee for the emulated vector and opmask instructions: the same random state,
 * the same instruction, on the host and on the model; every byte of state, GPRs, flags, memory
 * and faults must agree. Instructions the host lacks are listed and not compared.
 */
import { describe, expect, it } from 'vitest';
import { Quirk } from '../emulator/quirks.js';
import { runInsnSelfcheck } from '../src/selfcheck/insn-selfcheck.js';
import { hostModel } from './helpers.js';

describe('selfcheck insn', () => {
  const cpu = hostModel();
  it.runIf(cpu.features.avx)('matches the host on 5,000 random instructions', () => {
    const lines: string[] = [];
    const s = runInsnSelfcheck({ cpu, cases: 5000, seed: 1, log: (l) => lines.push(l), detail: 10 });
    console.log(lines.join('\n'));
    expect(s.cases).toBe(5000);
    expect(s.mismatches, lines.join('\n')).toBe(0);
  });
  it.runIf(!cpu.features.avx)('cannot run here', () => console.log('host has no AVX: the instruction referee has nothing to compare'));

  // Each XINUSE quirk the host profile has must be needed to match it.
  for (const q of [Quirk.XinuseTracksZeroRegisters, Quirk.ZeroingIdiomKeepsInit, Quirk.XinuseFollowsVectorLength]) {
    it.runIf(cpu.features.avx && cpu.hasQuirk(q))(`needs quirk ${q}`, () => {
      const without = hostModel((p) => { p.quirks = p.quirks.filter((x) => x.id !== q); });
      const s = runInsnSelfcheck({ cpu: without, cases: 2000, seed: 2, log: () => {}, detail: 0 });
      expect(s.mismatches).toBeGreaterThan(0);
    });
  }
});
