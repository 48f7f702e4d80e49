/**
 * The MMX-operand conversions CVTPI2PS, CVTPI2PD, CVTPS2PI, CVTTPS2PI, CVTPD2PI, CVTTPD2PI
 * (SDM Vol. 2A), owned so that MXCSR gets their flags and unmasked exceptions raise #XM (unicorn
 * 2.0.1 sets no flag, as for the other legacy SSE forms: float-legacy.ts). Same native kernel.
 *
 * With an MMX register operand they are MMX instructions (SDM Vol. 2A CVTPI2PS: "causes a
 * transition from x87 FPU to MMX technology operation"; a pending x87 exception is handled
 * first): #MF when FSW.ES is set, then MMX mode (x87/fpu.ts enterMmxState: TOP 0, all tags valid,
 * exponent FFFFH in the MMX register written). With a memory source, CVTPI2PS and CVTPI2PD touch
 * no x87 state and raise no #MF (measured, AMD Zen 5: TOP 5 and a pending #Z stayed). The
 * transition comes before the computation, so an unmasked #XM leaves the x87 in MMX mode (assumed:
 * the instruction has started as an MMX instruction).
 */
import { Mnemonic, OpKind, Register } from '../iced.js';
import { LEGACY } from '../register-file.js';
import { UpperBits, XMM_BYTES } from '../vector-file.js';
import { XFeature } from '../xfeatures.js';
import { CpuFault, Vector } from '../xsave.js';
import { X87Fault, enterMmxState } from '../x87/fpu.js';
import { defineOps, effectiveAddress, vecIndex, type Ctx, type Op } from './core.js';
import { FpKind, FpType, TYPE_BYTES, fpOp, fpRun } from './float-kernel.js';
import { commitFlags, fpEnvOf } from './mxcsr.js';

/** FSW.ES, the exception summary (SDM Vol. 1 8.1.3). */
const FSW_ES = 0x80;
/** An MMX register's 64 bits in its x87 slot: bytes 7:0; the exponent in bytes 9:8. */
const MM_BYTES = 8;

const mmIndex = (r: Register): number => (r >= Register.MM0 && r <= Register.MM7 ? r - Register.MM0 : -1);

/** Whether operand k is an MMX register. */
function isMm(c: Ctx, k: number): boolean {
  return c.ins.opKind(k) === OpKind.Register && mmIndex(c.ins.opRegister(k)) >= 0;
}

/** #MF for a pending x87 exception, then MMX mode; `written` bit k for MMk. */
function enterMmx(c: Ctx, written: number): void {
  const regs = c.vec.regs;
  const L = regs.legacy;
  const fsw = L[LEGACY.FSW]! | (L[LEGACY.FSW + 1]! << 8);
  const fcw = L[LEGACY.FCW]! | (L[LEGACY.FCW + 1]! << 8);
  if (fsw & FSW_ES) throw new X87Fault(fsw, fcw);
  enterMmxState(L, written);
  regs.touched(XFeature.X87, true);
}

/** Source operand k as `len` bytes: an MMX register (after the transition), an xmm's low bytes, or memory (16-byte aligned when `aligned`). */
function source(c: Ctx, k: number, len: number, aligned: boolean): Uint8Array {
  if (c.ins.opKind(k) === OpKind.Memory) {
    const ea = effectiveAddress(c.ins, c.env);
    if (aligned && ea % 16n !== 0n) throw new CpuFault(Vector.GP, `${Mnemonic[c.ins.mnemonic]}: memory operand not 16-byte aligned`);
    return c.env.readMem(ea, len);
  }
  const r = c.ins.opRegister(k);
  const mm = mmIndex(r);
  if (mm >= 0) return c.vec.regs.legacy.slice(LEGACY.ST0 + mm * LEGACY.ST_STRIDE, LEGACY.ST0 + mm * LEGACY.ST_STRIDE + MM_BYTES);
  return c.vec.read(vecIndex(r), XMM_BYTES).slice(0, len);
}

/** CVTPI2PS xmm, mm/m64 (two int32 to the low two singles, the rest kept) and CVTPI2PD xmm, mm/m64 (to both doubles). */
function fromInt(dst: FpType): Op {
  const ds = TYPE_BYTES[dst];
  return (c) => {
    if (isMm(c, 1)) enterMmx(c, 0);
    const a = source(c, 1, MM_BYTES, false);
    const out = new Uint8Array(2 * ds);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(FpKind.Cvt, FpType.I32, dst), 2, a, null, null, out, env.mxcsr, 0, 3, 0));
    const n = vecIndex(c.ins.opRegister(0));
    const x = c.vec.read(n, XMM_BYTES).slice();
    x.set(out, 0);
    c.vec.write(n, x, UpperBits.Keep);
  };
}

/** CVT(T)PS2PI mm, xmm/m64 and CVT(T)PD2PI mm, xmm/m128 (aligned): two int32 to the MMX register. */
function toInt(src: FpType, kind: FpKind): Op {
  const ss = TYPE_BYTES[src];
  return (c) => {
    const mm = mmIndex(c.ins.opRegister(0));
    if (mm < 0) throw new CpuFault(Vector.UD, `${Mnemonic[c.ins.mnemonic]}: destination is not an MMX register`);
    enterMmx(c, 1 << mm);
    const a = source(c, 1, 2 * ss, ss === 8);
    const out = new Uint8Array(MM_BYTES);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(kind, src, FpType.I32), 2, a, null, null, out, env.mxcsr, 0, 3, 0));
    c.vec.regs.legacy.set(out, LEGACY.ST0 + mm * LEGACY.ST_STRIDE);
  };
}

defineOps([Mnemonic.Cvtpi2ps], fromInt(FpType.F32));
defineOps([Mnemonic.Cvtpi2pd], fromInt(FpType.F64));
defineOps([Mnemonic.Cvtps2pi], toInt(FpType.F32, FpKind.Cvt));
defineOps([Mnemonic.Cvttps2pi], toInt(FpType.F32, FpKind.Cvtt));
defineOps([Mnemonic.Cvtpd2pi], toInt(FpType.F64, FpKind.Cvt));
defineOps([Mnemonic.Cvttpd2pi], toInt(FpType.F64, FpKind.Cvtt));

/** The mnemonics this module owns (emulator/ownership.ts, machine.ts: x87 state synchronised around them). */
export const MMX_FP_CONVERSIONS: ReadonlySet<Mnemonic> = new Set([Mnemonic.Cvtpi2ps, Mnemonic.Cvtpi2pd, Mnemonic.Cvtps2pi, Mnemonic.Cvttps2pi, Mnemonic.Cvtpd2pi, Mnemonic.Cvttpd2pi]);
