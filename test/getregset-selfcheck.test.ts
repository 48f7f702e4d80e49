/**
 * The real kernel as referee for copy_xstate_to_uabi_buf(): PTRACE_GETREGSET(NT_X86_XSTATE) of a
 * tracee stopped right after restoring a random image, against the model's XRSTOR, the kernel's
 * own save at the stop (the instruction and format fpu__init_system_xstate picks for the host's
 * capture: XSAVES, XSAVEC, XSAVEOPT or XSAVE), and the UABI copy.
 */
import { describe, expect, it } from 'vitest';
import { runGetregsetSelfcheck } from '../src/selfcheck/getregset-selfcheck.js';
import { hostModel } from './helpers.js';

describe('selfcheck getregset (NT_X86_XSTATE)', () => {
  for (const seed of [1, 2]) {
    it(`matches this host kernel on 500 random images (seed ${seed}; 1,000 in all)`, () => {
      const lines: string[] = [];
      const s = runGetregsetSelfcheck({ cpu: hostModel(), cases: 500, seed, log: (l) => lines.push(l), detail: 5 });
      if (seed === 1) console.log(lines.join('\n'));
      expect(s.mismatches, lines.join('\n')).toBe(0);
    });
  }
  it('disagrees with the kernel when the CPU model is wrong (the comparison can fail)', () => {
    // Every host profile so far has quirks the kernel's save shows (AMD: XINUSE and x87 pointer
    // rules; Intel: x87 FSW/FIP rules); the model without them must disagree.
    const host = hostModel();
    expect(host.profile.quirks.length, 'a host profile without quirks cannot show that the comparison fails this way').toBeGreaterThan(0);
    const cpu = hostModel((p) => { p.quirks = []; });
    const s = runGetregsetSelfcheck({ cpu, cases: 100, seed: 3, log: () => {}, detail: 0 });
    expect(s.mismatches).toBeGreaterThan(0);
  });
});
