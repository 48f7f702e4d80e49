/**
 * Legacy-encoded SSE/SSE2/SSE3/SSE4.1 floating-point arithmetic, owned by the model so that MXCSR
 * gets its exception flags and unmasked exceptions raise #XM: unicorn 2.0.1 (QEMU 5.0 softfloat)
 * computes these without ever setting an MXCSR flag (measured, issue 11). Same native kernel as
 * the VEX/EVEX forms (float.ts); the legacy rules differ only in operands and writes (SDM Vol. 1
 * 10.4, 11.4; Vol. 2 ADDPS, ADDSS, ...): two operands, the destination is the first source; a
 * write leaves bits above 127 alone (SDM Vol. 1 14.1.3); scalar forms leave the destination's
 * other elements alone; 128-bit memory operands of packed forms must be 16-byte aligned (#GP).
 *
 * Not owned: data movement, logic and shuffles (no flags), the MMX-operand conversions CVTPI2PS/CVTPS2PI/CVTTPS2PI/CVTPI2PD/CVTPD2PI/CVTTPD2PI
 * (they also change the x87 state).
 */
import { Code, Instruction, Mnemonic, OpKind, Register, RegisterExt } from '../iced.js';
import type { GateFp } from '../unicorn.js';
import { CpuFault, Vector } from '../xsave.js';
import { UpperBits, XMM_BYTES } from '../vector-file.js';
import { defineOps, effectiveAddress, getElem, setElem, vecIndex, type Ctx, type Op } from './core.js';
import { FpKind, FpType, TYPE_BYTES, fpOp, fpRun } from './float-kernel.js';
import { commitFlags, fpEnvOf } from './mxcsr.js';
import { checkApproximationVendor, dotLanes } from './float.js';

const M = Mnemonic;

/** Source operand k as `len` bytes: an xmm register's low bytes or memory (16-byte aligned when `aligned`). */
function src(c: Ctx, k: number, len: number, aligned: boolean): Uint8Array {
  if (c.ins.opKind(k) === OpKind.Memory) {
    const ea = effectiveAddress(c.ins, c.env);
    if (aligned && ea % 16n !== 0n) throw new CpuFault(Vector.GP, `${Mnemonic[c.ins.mnemonic]}: memory operand not 16-byte aligned`);
    return c.env.readMem(ea, len);
  }
  const n = vecIndex(c.ins.opRegister(k));
  if (n < 0) throw new CpuFault(Vector.UD, `operand ${k} is not an xmm register`);
  return c.vec.read(n, XMM_BYTES).slice(0, len);
}
function dstReg(c: Ctx): number {
  return vecIndex(c.ins.opRegister(0));
}
/** A legacy write: the low 16 bytes of the destination, bits above 127 unchanged. */
function write(c: Ctx, out: Uint8Array): void {
  c.vec.write(dstReg(c), out, UpperBits.Keep);
}
function run(c: Ctx, op: number, n: number, a: Uint8Array, b: Uint8Array | null, out: Uint8Array, imm = 0): void {
  const env = fpEnvOf(c);
  commitFlags(c, env, fpRun(op, n, a, b, null, out, env.mxcsr, imm, (1 << n) - 1 >>> 0, 0));
}

/** ADDPS xmm1, xmm2/m128 and the other packed binary forms (ADDSUBPS: SSE3). */
function packed(kind: FpKind, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const a = c.vec.read(dstReg(c), XMM_BYTES).slice();
    const b = src(c, 1, XMM_BYTES, true);
    const out = new Uint8Array(XMM_BYTES);
    run(c, fpOp(kind, t), XMM_BYTES / es, a, b, out, kind === FpKind.Cmp ? c.ins.immediate8 & 7 : 0);
    write(c, out);
  };
}
/** ADDSS xmm1, xmm2/m32 and the other scalar forms: element 0 only. */
function scalar(kind: FpKind, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const d = c.vec.read(dstReg(c), XMM_BYTES).slice();
    const b = src(c, 1, es, false);
    const out = new Uint8Array(es);
    run(c, fpOp(kind, t), 1, d, b, out, kind === FpKind.Cmp ? c.ins.immediate8 & 7 : 0);
    d.set(out, 0);
    write(c, d);
  };
}
/** SQRTPS, ROUNDPS xmm1, xmm2/m128 (imm8). */
function packedUnary(kind: FpKind, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const a = src(c, 1, XMM_BYTES, true);
    const out = new Uint8Array(XMM_BYTES);
    run(c, fpOp(kind, t), XMM_BYTES / es, a, null, out, c.ins.immediate8);
    write(c, out);
  };
}
/** SQRTSS, ROUNDSS xmm1, xmm2/m32 (imm8): element 0 from the source, the rest of the destination kept. */
function scalarUnary(kind: FpKind, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const d = c.vec.read(dstReg(c), XMM_BYTES).slice();
    const a = src(c, 1, es, false);
    const out = new Uint8Array(es);
    run(c, fpOp(kind, t), 1, a, null, out, c.ins.immediate8);
    d.set(out, 0);
    write(c, d);
  };
}
/** COMISS/UCOMISS/SD: ZF, PF, CF; OF, SF, AF cleared. */
function comis(ordered: boolean, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const a = c.vec.read(dstReg(c), XMM_BYTES).slice(0, es);
    const b = src(c, 1, es, false);
    const out = new Uint8Array(4);
    run(c, fpOp(ordered ? FpKind.Comi : FpKind.Ucomi, t), 1, a, b, out);
    const f = out[0];
    c.env.setStatusFlags({ cf: f & 1, pf: (f >> 2) & 1, af: 0, zf: (f >> 6) & 1, sf: 0, of: 0 });
  };
}
/** HADDPS/HSUBPS/PD (SSE3): (d0 op d1, d2 op d3, s0 op s1, s2 op s3). */
function horizontal(kind: FpKind, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const x = c.vec.read(dstReg(c), XMM_BYTES).slice();
    const y = src(c, 1, XMM_BYTES, true);
    const n = XMM_BYTES / es, half = n / 2;
    const a = new Uint8Array(XMM_BYTES), b = new Uint8Array(XMM_BYTES);
    for (let j = 0; j < n; j++) {
      const v = j < half ? x : y, p = (j % half) * 2;
      a.set(v.subarray(p * es, (p + 1) * es), j * es);
      b.set(v.subarray((p + 1) * es, (p + 2) * es), j * es);
    }
    const out = new Uint8Array(XMM_BYTES);
    run(c, fpOp(kind, t), n, a, b, out);
    write(c, out);
  };
}
/** DPPS/DPPD (SSE4.1): as VDPPS on one lane (float.ts dotProduct). */
function dot(t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const x = c.vec.read(dstReg(c), XMM_BYTES).slice();
    const y = src(c, 1, XMM_BYTES, true);
    const imm = c.ins.immediate8, n = XMM_BYTES / es;
    const env = fpEnvOf(c);
    const sum = new Uint8Array(es);
    const { flags, completed } = dotLanes(t, x, y, (imm >> 4) & ((1 << n) - 1), env.mxcsr, [sum]);
    commitFlags(c, env, flags, completed);
    const out = new Uint8Array(XMM_BYTES);
    for (let j = 0; j < n; j++) if ((imm >> j) & 1) out.set(sum, j * es);
    write(c, out);
  };
}

/**
 * Packed conversions: n elements from the low n * source-size bytes (memory: m64 for the widening
 * forms, m128 aligned otherwise); results fill the low n * destination-size bytes, the rest of the
 * 128 bits zeroed (CVTPD2PS, CVTPD2DQ: SDM Vol. 2A "DEST[127:64] <- 0").
 */
function packedConvert(s: FpType, d: FpType, kind: FpKind): Op {
  const ss = TYPE_BYTES[s], ds = TYPE_BYTES[d];
  const n = XMM_BYTES / Math.max(ss, ds);
  return (c) => {
    const a = src(c, 1, n * ss, n * ss === XMM_BYTES);
    const out = new Uint8Array(XMM_BYTES);
    run(c, fpOp(kind, s, d), n, a, null, out);
    write(c, out);
  };
}
/** CVTSS2SD, CVTSD2SS, CVTSI2SS/SD: element 0 of the destination, the rest kept. */
function scalarToFloat(s: FpType | 'int', d: FpType): Op {
  const ds = TYPE_BYTES[d];
  return (c) => {
    const dst = c.vec.read(dstReg(c), XMM_BYTES).slice();
    let st: FpType, a: Uint8Array;
    if (s === 'int') {
      const w64 = c.ins.opKind(1) === OpKind.Register ? RegisterExt.size(c.ins.opRegister(1)) === 8 : /rm64/.test(Code[c.ins.code]);
      st = w64 ? FpType.I64 : FpType.I32;
      const bytes = w64 ? 8 : 4;
      if (c.ins.opKind(1) === OpKind.Memory) a = c.env.readMem(effectiveAddress(c.ins, c.env), bytes);
      else { a = new Uint8Array(bytes); setElem(a, 0, bytes, c.env.getGpr(c.ins.opRegister(1))); }
    } else { st = s; a = src(c, 1, TYPE_BYTES[s], false); }
    const out = new Uint8Array(ds);
    run(c, fpOp(FpKind.Cvt, st, d), 1, a, null, out);
    dst.set(out, 0);
    write(c, dst);
  };
}
/** CVT(T)SS2SI, CVT(T)SD2SI r32/r64, xmm/m. */
function scalarToInt(s: FpType, trunc: boolean): Op {
  return (c) => {
    const a = src(c, 1, TYPE_BYTES[s], false);
    const r = c.ins.opRegister(0);
    const w64 = RegisterExt.size(r) === 8;
    const out = new Uint8Array(8);
    run(c, fpOp(trunc ? FpKind.Cvtt : FpKind.Cvt, s, w64 ? FpType.I64 : FpType.I32), 1, a, null, out);
    c.env.setGpr(r, getElem(out, 0, w64 ? 8 : 4));
  };
}

/** Shapes of trap-gate.c's fp fast path (enum FP_PACKED ...). */
export enum FastShape { Packed = 1, PackedUnary, Scalar, ScalarUnary, Comi, CvtPacked, CvtScalar, CvtToGpr }
/** How the fast path computes one mnemonic: shape, kernel kind, source and destination types. */
interface FastEntry { shape: FastShape; kind: FpKind; s: FpType | 'int'; d: FpType }
const FAST = new Map<Mnemonic, FastEntry>();

function approx(inner: Op): Op {
  return (c) => { checkApproximationVendor(c); inner(c); };
}

const F32 = FpType.F32, F64 = FpType.F64;
const TABLE: [Mnemonic, Op][] = [
  [M.Addps, packed(FpKind.Add, F32)], [M.Addpd, packed(FpKind.Add, F64)], [M.Addss, scalar(FpKind.Add, F32)], [M.Addsd, scalar(FpKind.Add, F64)],
  [M.Subps, packed(FpKind.Sub, F32)], [M.Subpd, packed(FpKind.Sub, F64)], [M.Subss, scalar(FpKind.Sub, F32)], [M.Subsd, scalar(FpKind.Sub, F64)],
  [M.Mulps, packed(FpKind.Mul, F32)], [M.Mulpd, packed(FpKind.Mul, F64)], [M.Mulss, scalar(FpKind.Mul, F32)], [M.Mulsd, scalar(FpKind.Mul, F64)],
  [M.Divps, packed(FpKind.Div, F32)], [M.Divpd, packed(FpKind.Div, F64)], [M.Divss, scalar(FpKind.Div, F32)], [M.Divsd, scalar(FpKind.Div, F64)],
  [M.Minps, packed(FpKind.Min, F32)], [M.Minpd, packed(FpKind.Min, F64)], [M.Minss, scalar(FpKind.Min, F32)], [M.Minsd, scalar(FpKind.Min, F64)],
  [M.Maxps, packed(FpKind.Max, F32)], [M.Maxpd, packed(FpKind.Max, F64)], [M.Maxss, scalar(FpKind.Max, F32)], [M.Maxsd, scalar(FpKind.Max, F64)],
  [M.Cmpps, packed(FpKind.Cmp, F32)], [M.Cmppd, packed(FpKind.Cmp, F64)], [M.Cmpss, scalar(FpKind.Cmp, F32)], [M.Cmpsd, scalar(FpKind.Cmp, F64)],
  [M.Addsubps, packed(FpKind.Addsub, F32)], [M.Addsubpd, packed(FpKind.Addsub, F64)],
  [M.Sqrtps, packedUnary(FpKind.Sqrt, F32)], [M.Sqrtpd, packedUnary(FpKind.Sqrt, F64)], [M.Sqrtss, scalarUnary(FpKind.Sqrt, F32)], [M.Sqrtsd, scalarUnary(FpKind.Sqrt, F64)],
  [M.Roundps, packedUnary(FpKind.Round, F32)], [M.Roundpd, packedUnary(FpKind.Round, F64)], [M.Roundss, scalarUnary(FpKind.Round, F32)], [M.Roundsd, scalarUnary(FpKind.Round, F64)],
  [M.Comiss, comis(true, F32)], [M.Comisd, comis(true, F64)], [M.Ucomiss, comis(false, F32)], [M.Ucomisd, comis(false, F64)],
  [M.Haddps, horizontal(FpKind.Add, F32)], [M.Haddpd, horizontal(FpKind.Add, F64)], [M.Hsubps, horizontal(FpKind.Sub, F32)], [M.Hsubpd, horizontal(FpKind.Sub, F64)],
  [M.Dpps, dot(F32)], [M.Dppd, dot(F64)],
  // Approximations: the vendor's table (float.ts checkApproximationVendor); unicorn computes 1/x exactly.
  [M.Rcpps, approx(packedUnary(FpKind.Rcp, F32))], [M.Rsqrtps, approx(packedUnary(FpKind.Rsqrt, F32))],
  [M.Rcpss, approx(scalarUnary(FpKind.Rcp, F32))], [M.Rsqrtss, approx(scalarUnary(FpKind.Rsqrt, F32))],
  [M.Cvtps2pd, packedConvert(F32, F64, FpKind.Cvt)], [M.Cvtpd2ps, packedConvert(F64, F32, FpKind.Cvt)],
  [M.Cvtdq2ps, packedConvert(FpType.I32, F32, FpKind.Cvt)], [M.Cvtps2dq, packedConvert(F32, FpType.I32, FpKind.Cvt)], [M.Cvttps2dq, packedConvert(F32, FpType.I32, FpKind.Cvtt)],
  [M.Cvtdq2pd, packedConvert(FpType.I32, F64, FpKind.Cvt)], [M.Cvtpd2dq, packedConvert(F64, FpType.I32, FpKind.Cvt)], [M.Cvttpd2dq, packedConvert(F64, FpType.I32, FpKind.Cvtt)],
  [M.Cvtss2sd, scalarToFloat(F32, F64)], [M.Cvtsd2ss, scalarToFloat(F64, F32)], [M.Cvtsi2ss, scalarToFloat('int', F32)], [M.Cvtsi2sd, scalarToFloat('int', F64)],
  [M.Cvtss2si, scalarToInt(F32, false)], [M.Cvttss2si, scalarToInt(F32, true)], [M.Cvtsd2si, scalarToInt(F64, false)], [M.Cvttsd2si, scalarToInt(F64, true)],
];
for (const [m, op] of TABLE) defineOps([m], op);

{
  const f = (ms: Mnemonic[], shape: FastShape, kind: FpKind, s: FpType | 'int', d: FpType): void => { for (const m of ms) FAST.set(m, { shape, kind, s, d }); };
  for (const [kind, ps, pd, ss, sd] of [[FpKind.Add, M.Addps, M.Addpd, M.Addss, M.Addsd], [FpKind.Sub, M.Subps, M.Subpd, M.Subss, M.Subsd], [FpKind.Mul, M.Mulps, M.Mulpd, M.Mulss, M.Mulsd],
    [FpKind.Div, M.Divps, M.Divpd, M.Divss, M.Divsd], [FpKind.Min, M.Minps, M.Minpd, M.Minss, M.Minsd], [FpKind.Max, M.Maxps, M.Maxpd, M.Maxss, M.Maxsd], [FpKind.Cmp, M.Cmpps, M.Cmppd, M.Cmpss, M.Cmpsd]] as const) {
    f([ps], FastShape.Packed, kind, F32, F32); f([pd], FastShape.Packed, kind, F64, F64);
    f([ss], FastShape.Scalar, kind, F32, F32); f([sd], FastShape.Scalar, kind, F64, F64);
  }
  f([M.Addsubps], FastShape.Packed, FpKind.Addsub, F32, F32); f([M.Addsubpd], FastShape.Packed, FpKind.Addsub, F64, F64);
  f([M.Sqrtps], FastShape.PackedUnary, FpKind.Sqrt, F32, F32); f([M.Sqrtpd], FastShape.PackedUnary, FpKind.Sqrt, F64, F64);
  f([M.Sqrtss], FastShape.ScalarUnary, FpKind.Sqrt, F32, F32); f([M.Sqrtsd], FastShape.ScalarUnary, FpKind.Sqrt, F64, F64);
  f([M.Roundps], FastShape.PackedUnary, FpKind.Round, F32, F32); f([M.Roundpd], FastShape.PackedUnary, FpKind.Round, F64, F64);
  f([M.Roundss], FastShape.ScalarUnary, FpKind.Round, F32, F32); f([M.Roundsd], FastShape.ScalarUnary, FpKind.Round, F64, F64);
  f([M.Comiss], FastShape.Comi, FpKind.Comi, F32, F32); f([M.Comisd], FastShape.Comi, FpKind.Comi, F64, F64);
  f([M.Ucomiss], FastShape.Comi, FpKind.Ucomi, F32, F32); f([M.Ucomisd], FastShape.Comi, FpKind.Ucomi, F64, F64);
  f([M.Cvtps2pd], FastShape.CvtPacked, FpKind.Cvt, F32, F64); f([M.Cvtpd2ps], FastShape.CvtPacked, FpKind.Cvt, F64, F32);
  f([M.Cvtdq2ps], FastShape.CvtPacked, FpKind.Cvt, FpType.I32, F32); f([M.Cvtps2dq], FastShape.CvtPacked, FpKind.Cvt, F32, FpType.I32);
  f([M.Cvttps2dq], FastShape.CvtPacked, FpKind.Cvtt, F32, FpType.I32); f([M.Cvtdq2pd], FastShape.CvtPacked, FpKind.Cvt, FpType.I32, F64);
  f([M.Cvtpd2dq], FastShape.CvtPacked, FpKind.Cvt, F64, FpType.I32); f([M.Cvttpd2dq], FastShape.CvtPacked, FpKind.Cvtt, F64, FpType.I32);
  f([M.Cvtss2sd], FastShape.CvtScalar, FpKind.Cvt, F32, F64); f([M.Cvtsd2ss], FastShape.CvtScalar, FpKind.Cvt, F64, F32);
  f([M.Cvtsi2ss], FastShape.CvtScalar, FpKind.Cvt, 'int', F32); f([M.Cvtsi2sd], FastShape.CvtScalar, FpKind.Cvt, 'int', F64);
  f([M.Cvtss2si], FastShape.CvtToGpr, FpKind.Cvt, F32, FpType.I32); f([M.Cvttss2si], FastShape.CvtToGpr, FpKind.Cvtt, F32, FpType.I32);
  f([M.Cvtsd2si], FastShape.CvtToGpr, FpKind.Cvt, F64, FpType.I32); f([M.Cvttsd2si], FastShape.CvtToGpr, FpKind.Cvtt, F64, FpType.I32);
}

/** GPR index in encoding order (RAX 0 ... R15 15) of a 32- or 64-bit register, or -1. */
function gprIndex(r: Register): number {
  if (r === Register.None) return -1;
  const full = RegisterExt.fullRegister(r);
  return full >= Register.RAX && full <= Register.R15 ? full - Register.RAX : -2;
}

/**
 * The trap gate's fast-path description of a legacy SSE floating-point instruction (trap-gate.c
 * fp_fast), or undefined when it has none: a memory operand with a 32-bit address, a segment other
 * than FS/GS/none, or RIP-relative addressing the gate cannot form is left to the JS path.
 */
export function legacyFastPath(ins: Instruction): GateFp | undefined {
  const e = FAST.get(ins.mnemonic);
  if (!e) return undefined;
  const d = e.d;
  const dsize = TYPE_BYTES[d];
  let s: FpType = e.s === 'int' ? FpType.I32 : e.s;
  const srcOp = 1;
  let srcKind = 0, src = 0, base = -1, index = -1, scaleLog2 = 0, seg = 0, disp = 0n;
  const kind = ins.opKind(srcOp);
  if (kind === OpKind.Register) {
    const r = ins.opRegister(srcOp);
    if (r >= Register.XMM0 && r <= Register.XMM15) { srcKind = 0; src = r - Register.XMM0; }
    else {
      srcKind = 2; src = gprIndex(r);
      if (src < 0) return undefined;
      if (RegisterExt.size(r) === 8) s = FpType.I64;
    }
  } else if (kind === OpKind.Memory) {
    srcKind = 1;
    if (ins.isIpRelMemoryOperand) disp = ins.ipRelMemoryAddress;
    else {
      base = gprIndex(ins.memoryBase); index = gprIndex(ins.memoryIndex);
      if (base === -2 || index === -2 || (base >= 0 && RegisterExt.size(ins.memoryBase) !== 8)) return undefined;
      scaleLog2 = Math.log2(ins.memoryIndexScale || 1); disp = ins.memoryDisplacementU64;
    }
    const sg = ins.memorySegment;
    seg = sg === Register.FS ? 1 : sg === Register.GS ? 2 : 0;
    if (e.s === 'int' && /rm64/.test(Code[ins.code])) s = FpType.I64;
  } else return undefined;
  const ssize = TYPE_BYTES[s];
  let n = 1, srcLen = ssize, align = false;
  switch (e.shape) {
    case FastShape.Packed: case FastShape.PackedUnary: n = XMM_BYTES / ssize; srcLen = XMM_BYTES; align = true; break;
    case FastShape.CvtPacked: n = XMM_BYTES / Math.max(ssize, dsize); srcLen = n * ssize; align = srcLen === XMM_BYTES; break;
    default: break;
  }
  let dst: number;
  let dt = d;
  const r0 = ins.opRegister(0);
  if (e.shape === FastShape.CvtToGpr) {
    dst = gprIndex(r0);
    if (dst < 0) return undefined;
    if (RegisterExt.size(r0) === 8) dt = FpType.I64;
  } else {
    if (r0 < Register.XMM0 || r0 > Register.XMM15) return undefined;
    dst = r0 - Register.XMM0;
  }
  const imm = e.kind === FpKind.Cmp ? ins.immediate8 & 7 : e.kind === FpKind.Round ? ins.immediate8 : 0;
  return { shape: e.shape, op: fpOp(e.kind, s, dt), n, dst, srcKind, src, srcLen, align: align && srcKind === 1, imm, base, index, scaleLog2, seg, disp };
}

/** The legacy SSE floating-point mnemonics the model owns (emulator/ownership.ts). */
export const LEGACY_FP_MNEMONICS: ReadonlySet<Mnemonic> = new Set(TABLE.map(([m]) => m));
