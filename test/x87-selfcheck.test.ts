/**
 * The real CPU as referee for the model's x87: random sequences of x87 arithmetic, loads, stores,
 * compares and stack control from random states (masks, precision and rounding control, special
 * values, full and empty stacks), run on the host and on the model; the FXSAVE64 image, AX,
 * flags, memory, the SIGFPE and its si_code must agree. Expectations come from the host only.
 */
import { describe, expect, it } from 'vitest';
import { runX87Selfcheck } from '../src/selfcheck/x87-selfcheck.js';
import { fpu__exception_code, FpeCode, X86_TRAP_MF } from '../kernel-model/fpstate.js';
import { XsaveContext } from '../emulator/xsave.js';
import { LEGACY } from '../emulator/register-file.js';
import { Quirk } from '../emulator/quirks.js';
import { hostModel } from './helpers.js';

describe('selfcheck x87', () => {
  const cpu = hostModel();
  it('matches the host on 1,500 random x87 sequences', () => {
    const lines: string[] = [];
    const s = runX87Selfcheck({ cpu, cases: 1500, seed: 1, log: (l) => lines.push(l), detail: 10 });
    console.log(lines.join('\n'));
    expect(s.cases).toBe(1500);
    // The sequences reach unmasked exceptions (SIGFPE at the next waiting instruction) too.
    expect(s.faults).toBeGreaterThan(0);
    expect(s.mismatches, lines.join('\n')).toBe(0);
  }, 120_000);

  // Each x87 quirk the host profile has must be needed to match it.
  for (const q of [Quirk.X87UnmaskedCompareAndLoadComplete, Quirk.X87FcomiFcmovKeepC1]) {
    it.runIf(cpu.hasQuirk(q))(`needs quirk ${q}`, () => {
      const without = hostModel((p) => { p.quirks = p.quirks.filter((x) => x.id !== q); });
      const s = runX87Selfcheck({ cpu: without, cases: 800, seed: 2, log: () => {}, detail: 0, rerun: false });
      expect(s.mismatches).toBeGreaterThan(0);
    }, 300_000);
  }
});

describe('fpu__exception_code (arch/x86/kernel/fpu/core.c)', () => {
  const cpu = hostModel();
  const code = (fsw: number, fcw: number): number => {
    const ctx = new XsaveContext(cpu);
    ctx.regs.legacyView.setUint16(LEGACY.FCW, fcw, true);
    ctx.regs.legacyView.setUint16(LEGACY.FSW, fsw, true);
    return fpu__exception_code(ctx, X86_TRAP_MF);
  };
  it('tests the unmasked flags in the kernel order: IE, ZE, OE, DE or UE, PE', () => {
    expect(code(0x80 | 0x3f, 0x340)).toBe(FpeCode.FPE_FLTINV);
    expect(code(0x80 | 0x3f, 0x341)).toBe(FpeCode.FPE_FLTDIV);
    expect(code(0x80 | 0x2c, 0x373)).toBe(FpeCode.FPE_FLTDIV);
    expect(code(0x80 | 0x28, 0x377)).toBe(FpeCode.FPE_FLTOVF);
    expect(code(0x80 | 0x02, 0x37d)).toBe(FpeCode.FPE_FLTUND);
    expect(code(0x80 | 0x20, 0x35f)).toBe(FpeCode.FPE_FLTRES);
    // Only masked flags: spurious, no signal.
    expect(code(0x3f, 0x37f)).toBe(0);
  });
});
