/**
 * Signal frames against this host's kernel: the frame's extended-state area, where it lands, the
 * handler's starting state, and rt_sigreturn of frames a handler patched (selfcheck sigframe).
 */
import { describe, expect, it } from 'vitest';
import { resolveKernelVariant } from '../kernel-model/variants.js';
import { runSigframeSelfcheck } from '../src/selfcheck/sigframe-selfcheck.js';
import { hostModel } from './helpers.js';

describe('selfcheck sigframe', () => {
  const cpu = hostModel();
  for (const seed of [1, 2]) {
    it(`matches this host kernel on 500 signals with randomly patched frames (seed ${seed}; 1,000 in all)`, () => {
      const lines: string[] = [];
      const s = runSigframeSelfcheck({ cpu, cases: 500, seed, log: (l) => lines.push(l), detail: 5 });
      if (seed === 1) console.log(lines.join('\n'));
      expect(s.mismatches, lines.join('\n')).toBe(0);
      // Both outcomes are exercised: frames that restore and frames whose sigreturn raises SIGSEGV.
      expect(lines.find((l) => l.startsWith('host outcomes'))).toMatch(/sigreturn ok x\d+, signal 11 x\d+|signal 11 x\d+, sigreturn ok x\d+/);
    });
  }
  it.runIf(cpu.features.pku)('disagrees when modelled without the 6.13 PKRU frame update (the comparison can fail)', () => {
    const v = resolveKernelVariant('linux-6.12');
    const s = runSigframeSelfcheck({ cpu, cases: 60, seed: 2, log: () => {}, variant: v });
    expect(s.mismatches).toBeGreaterThan(0);
  });
  it.runIf(!cpu.features.pku)('cannot show the PKRU frame update here', () => console.log('host CPU has no PKU: the 6.13 frame update is not observable'));
});
