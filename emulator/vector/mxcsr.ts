/**
 * MXCSR as the SSE/AVX floating-point instructions use it (SDM Vol. 1 10.2.3, 11.5): embedded
 * rounding and SAE, unmasked exceptions (#XM, which Linux turns into SIGFPE), and VLDMXCSR /
 * VSTMXCSR.
 */
import { Mnemonic, OpKind, RoundingControl } from '../iced.js';
import { CpuFault, Vector } from '../xsave.js';
import { defineOps, effectiveAddress, type Ctx } from './core.js';

/** MXCSR fields (SDM Vol. 1 Figure 10-3). */
export const MXCSR = {
  IE: 0x1, DE: 0x2, ZE: 0x4, OE: 0x8, UE: 0x10, PE: 0x20, FLAGS: 0x3f,
  /** Pre-computation exceptions (SDM Vol. 1 11.5.2: checked before the result is computed). */
  PRE: 0x7, DAZ: 0x40, MASK_SHIFT: 7, MASKS: 0x1f80, RC_SHIFT: 13, RC: 0x6000, FTZ: 0x8000,
} as const;

/** si_code of SIGFPE (include/uapi/asm-generic/siginfo.h). */
export enum FpeCode { FPE_FLTDIV = 3, FPE_FLTOVF = 4, FPE_FLTUND = 5, FPE_FLTRES = 6, FPE_FLTINV = 7 }

/**
 * The si_code Linux gives a #XM: arch/x86/kernel/fpu/core.c fpu__exception_code (v6.x) for
 * X86_TRAP_XF: err = ~(mxcsr >> 7) & mxcsr, then the first of invalid, divide, overflow,
 * denormal-or-underflow, precision; 0 (no signal: a spurious trap) when none.
 */
export function fpu__exception_code(mxcsr: number): number {
  const err = ~(mxcsr >> MXCSR.MASK_SHIFT) & mxcsr;
  if (err & 0x001) return FpeCode.FPE_FLTINV;
  if (err & 0x004) return FpeCode.FPE_FLTDIV;
  if (err & 0x008) return FpeCode.FPE_FLTOVF;
  if (err & 0x012) return FpeCode.FPE_FLTUND;
  if (err & 0x020) return FpeCode.FPE_FLTRES;
  return 0;
}

/** #XM: a SIMD floating-point exception that MXCSR does not mask (SDM Vol. 1 11.5.1). */
export class SimdFpFault extends CpuFault {
  constructor(readonly siCode: number, reason: string) {
    super(Vector.XM, reason);
  }
}

/**
 * How an instruction computes: the MXCSR the kernel runs with (embedded rounding replaces RC;
 * with SAE every exception is masked) and whether flags are recorded at all (SAE: not; SDM Vol. 2A
 * 2.7.1 "Static Rounding Support in EVEX": EVEX.b with a register source suppresses all exceptions).
 */
export interface FpEnv { mxcsr: number; suppress: boolean }

export function fpEnvOf(c: Ctx): FpEnv {
  const m = c.vec.regs.mxcsr;
  const rc = c.ins.roundingControl;
  if (rc !== RoundingControl.None) {
    // RoundingControl: RoundToNearest 1, RoundDown 2, RoundUp 3, RoundTowardZero 4; MXCSR.RC 0-3 in the same order.
    return { mxcsr: (m & ~MXCSR.RC) | ((rc - 1) << MXCSR.RC_SHIFT) | MXCSR.MASKS, suppress: true };
  }
  if (c.ins.suppressAllExceptions) return { mxcsr: m | MXCSR.MASKS, suppress: true };
  return { mxcsr: m, suppress: false };
}

/**
 * Record the flags an instruction raised (SDM Vol. 1 11.5.2.1): with no unmasked exception they
 * are ORed into MXCSR and the result is written (the caller does so when this returns). When an
 * unmasked pre-computation exception (IE, DE, ZE) occurred in any element, only the
 * pre-computation flags are recorded; otherwise all; then #XM is raised and the destination is
 * left unchanged.
 */
export function commitFlags(c: Ctx, env: FpEnv, flags: number, completed = 0): void {
  if (env.suppress || flags === 0) return;
  const regs = c.vec.regs;
  const m = regs.mxcsr;
  const unmasked = flags & ~(m >> MXCSR.MASK_SHIFT) & MXCSR.FLAGS;
  if (!unmasked) { if ((m | flags) !== m) regs.mxcsr = m | flags; return; }
  // `completed`: flags of an instruction's earlier stages that finished (DPPS products), recorded whatever the faulting stage's kind.
  const recorded = (unmasked & MXCSR.PRE ? flags & MXCSR.PRE : flags) | completed;
  regs.mxcsr = m | recorded;
  const code = fpu__exception_code(regs.mxcsr);
  throw new SimdFpFault(code, `${Mnemonic[c.ins.mnemonic]}: unmasked SIMD floating-point exception (MXCSR flags 0x${recorded.toString(16)}, masks 0x${((m & MXCSR.MASKS) >> MXCSR.MASK_SHIFT).toString(16)})`);
}

/** (V)LDMXCSR m32: #GP when a bit outside MXCSR_MASK is set (SDM Vol. 2B LDMXCSR). */
function vldmxcsr(c: Ctx): void {
  const ea = effectiveAddress(c.ins, c.env);
  const b = c.env.readMem(ea, 4);
  const v = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  const mask = c.vec.regs.cpu.mxcsrMask;
  if ((v & ~mask) >>> 0) throw new CpuFault(Vector.GP, `VLDMXCSR: reserved MXCSR bits 0x${((v & ~mask) >>> 0).toString(16)} set (MXCSR_MASK 0x${mask.toString(16)})`);
  c.vec.regs.mxcsr = v;
}
/** (V)STMXCSR m32. */
function vstmxcsr(c: Ctx): void {
  if (c.ins.opKind(0) !== OpKind.Memory) throw new CpuFault(Vector.UD, 'VSTMXCSR needs a memory operand');
  const v = c.vec.regs.mxcsr;
  c.env.writeMem(effectiveAddress(c.ins, c.env), new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]));
}

// The legacy forms too: unicorn 2.0.1's LDMXCSR loads reserved bits without #GP (unicorn.ts notes).
defineOps([Mnemonic.Vldmxcsr, Mnemonic.Ldmxcsr], vldmxcsr);
defineOps([Mnemonic.Vstmxcsr, Mnemonic.Stmxcsr], vstmxcsr);
