/**
 * The real kernel as referee for copy_xstate_to_uabi_buf(): PTRACE_GETREGSET(NT_X86_XSTATE) of a
 * tracee stopped right after restoring a random image, against the model's XRSTOR, the kernel's
 * XSAVES into a compacted fpstate, and the UABI copy.
 */
import { describe, expect, it } from 'vitest';
import { Quirk } from '../emulator/quirks.js';
import { runGetregsetSelfcheck } from '../src/selfcheck/getregset-selfcheck.js';
import { hostModel } from './helpers.js';

describe('selfcheck getregset (NT_X86_XSTATE)', () => {
  it('matches this host kernel on 1,000 random images', () => {
    const lines: string[] = [];
    const s = runGetregsetSelfcheck({ cpu: hostModel(), cases: 1000, seed: 1, log: (l) => lines.push(l), detail: 5 });
    console.log(lines.join('\n'));
    expect(s.mismatches, lines.join('\n')).toBe(0);
  });
  it('disagrees with the kernel when the CPU model is wrong (the comparison can fail)', () => {
    const cpu = hostModel((p) => { p.quirks = p.quirks.filter((q) => q.id !== Quirk.RestoreOfInitDataKeepsInit && q.id !== Quirk.XinuseTracksZeroRegisters); });
    const s = runGetregsetSelfcheck({ cpu, cases: 300, seed: 2, log: () => {}, detail: 0 });
    expect(s.mismatches).toBeGreaterThan(0);
  });
});
