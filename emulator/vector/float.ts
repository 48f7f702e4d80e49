/**
 * VEX and EVEX floating-point computation (SDM Vol. 2): arithmetic, square root, min/max, FMA3,
 * compares, COMIS/UCOMIS, rounding, conversions, horizontal and alternating add/sub, dot products.
 * Every element is computed by the native kernel (float-kernel.ts, emulator/native/sse-float.c)
 * under the guest's MXCSR; this module arranges operands by instruction shape, applies EVEX
 * masking, embedded rounding and SAE (mxcsr.ts fpEnvOf), and records flags or raises #XM
 * (mxcsr.ts commitFlags) before anything is written.
 *
 * The table maps mnemonics to shapes; element types come from the mnemonic (PS/SS single, PD/SD
 * double; conversions name both), element counts from the instruction code's vector length
 * (iced-x86 OpCodeInfo.L, core.ts vectorLength).
 */
import { Code, Mnemonic, OpKind, RegisterExt } from '../iced.js';
import { CpuFault, Vector } from '../xsave.js';
import { WriteKind, XMM_BYTES } from '../vector-file.js';
import {
  defineOps, effectiveAddress, fromHalves, getElem, isK, kIndex, maskHalves, maskOf, readOp, setElem, vecIndex, vectorLength, writeDest, type Ctx, type Op,
} from './core.js';
import { ApproximationUnknown, FpKind, FpType, TYPE_BYTES, fpOp, fpRun, hostVendor } from './float-kernel.js';
import { MXCSR, commitFlags, fpEnvOf } from './mxcsr.js';

const M = Mnemonic as unknown as Record<string, Mnemonic>;
/** The iced-x86 mnemonic of a name; a missing one is a programming error. */
function mn(name: string): Mnemonic {
  const m = M[name[0].toUpperCase() + name.slice(1)];
  if (m === undefined) throw new Error(`float.ts: no iced-x86 mnemonic ${name}`);
  return m;
}

/** EFLAGS bits the kernel's COMI result holds (ZF bit 6, PF bit 2, CF bit 0). */
const EFL_ZF = 0x40, EFL_PF = 0x4, EFL_CF = 0x1;

/** The write mask of n elements as halves (all ones without EVEX masking). */
export function maskFor(c: Ctx, n: number): [number, number] {
  return maskHalves(c.evex ? maskOf(c, n) : (1n << BigInt(n)) - 1n);
}

/** Element 0 of a scalar source: the low `es` bytes of an xmm register, or `es` bytes of memory. */
export function scalarSrc(c: Ctx, k: number, es: number): Uint8Array {
  if (c.ins.opKind(k) === OpKind.Memory) return c.env.readMem(effectiveAddress(c.ins, c.env), es);
  const r = c.ins.opRegister(k);
  const n = vecIndex(r);
  if (n < 0) throw new CpuFault(Vector.UD, `operand ${k} is not a vector register`);
  return c.vec.read(n, XMM_BYTES).slice(0, es);
}
export function xmmOf(c: Ctx, k: number): Uint8Array {
  return c.vec.read(vecIndex(c.ins.opRegister(k)), XMM_BYTES).slice();
}

/**
 * Write a scalar result: element 0 (es bytes) from `res` when the mask enables it, else the
 * destination's own (merge) or zero (zeroing); bits 127:es from `upper`; bits above 127 zeroed
 * (SDM Vol. 2A 2.3.10 / Vol. 2 VADDSS "Operation").
 */
export function writeScalar(c: Ctx, res: Uint8Array, upper: Uint8Array, es: number, enabled: boolean): void {
  const out = upper.slice(0, XMM_BYTES);
  if (enabled) out.set(res.subarray(0, es), 0);
  else if (c.ins.zeroingMasking) out.fill(0, 0, es);
  else out.set(c.vec.read(vecIndex(c.ins.opRegister(0)), XMM_BYTES).subarray(0, es), 0);
  writeDest({ ...c, evex: false, width: XMM_BYTES }, out, es);
}

export function scalarEnabled(c: Ctx): boolean {
  return !c.evex || (maskOf(c, 1) & 1n) === 1n;
}

/* ------------------------------------------------------------ arithmetic */

/** Packed dst = op(src1, src2) element-wise (VADDPS, VMINPD, ..., VADDSUBPS). */
export function packedBinary(kind: FpKind, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const w = vectorLength(c.ins.code);
    const n = w / es;
    const a = readOp(c, 1, w, es);
    const b = readOp(c, 2, w, es);
    const [lo, hi] = maskFor(c, n);
    const out = new Uint8Array(w);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(kind, t), n, a, b, null, out, env.mxcsr, 0, lo, hi));
    writeDest(c, out, es);
  };
}

/** Scalar dst[0] = op(src1[0], src2[0]), dst[127:es] = src1[127:es] (VADDSS, ...). */
export function scalarBinary(kind: FpKind, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const a = xmmOf(c, 1);
    const b = scalarSrc(c, 2, es);
    const on = scalarEnabled(c);
    const out = new Uint8Array(es);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(kind, t), 1, a, b, null, out, env.mxcsr, 0, on ? 1 : 0, 0));
    writeScalar(c, out, a, es, on);
  };
}

/** The kernel argument of most operations: the instruction's imm8 (0 without one). */
const immOf = (c: Ctx): number => c.ins.immediate8;

/** Packed unary dst = op(src) with an optional imm8 (VSQRTPS, VROUNDPS, VRNDSCALEPS); `arg` the kernel argument. */
export function packedUnary(kind: FpKind, t: FpType, arg: (c: Ctx) => number = immOf): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const w = vectorLength(c.ins.code);
    const n = w / es;
    const a = readOp(c, 1, w, es);
    const [lo, hi] = maskFor(c, n);
    const out = new Uint8Array(w);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(kind, t), n, a, null, null, out, env.mxcsr, arg(c), lo, hi));
    writeDest(c, out, es);
  };
}

/** Scalar unary: dst[0] = op(src2[0]) (imm8), dst[127:es] = src1 (VSQRTSS, VROUNDSS, VRNDSCALESS). */
export function scalarUnary(kind: FpKind, t: FpType, arg: (c: Ctx) => number = immOf): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const upper = xmmOf(c, 1);
    const b = scalarSrc(c, 2, es);
    const on = scalarEnabled(c);
    const out = new Uint8Array(es);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(kind, t), 1, b, null, null, out, env.mxcsr, arg(c), on ? 1 : 0, 0));
    writeScalar(c, out, upper, es, on);
  };
}

/** FMA form from the mnemonic: 132 -> 0, 213 -> 1, 231 -> 2 (the kernel's imm8 bits 1:0). */
export function fmaForm(name: string): number {
  return name.includes('132') ? 0 : name.includes('213') ? 1 : 2;
}

/** Packed FMA: operand 1 is the destination (SDM Vol. 2A VFMADD132PS). */
export function packedFma(kind: FpKind, t: FpType, form: number): Op {
  return packedDestInput(kind, t, () => form);
}

/** A packed operation whose destination is its first input, `arg` its kernel argument (FMA form, imm8). */
export function packedDestInput(kind: FpKind, t: FpType, arg: (c: Ctx) => number): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const w = vectorLength(c.ins.code);
    const n = w / es;
    const a = c.vec.read(vecIndex(c.ins.opRegister(0)), w).slice();
    const b = readOp(c, 1, w, es);
    const d = readOp(c, 2, w, es);
    const [lo, hi] = maskFor(c, n);
    const out = new Uint8Array(w);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(kind, t), n, a, b, d, out, env.mxcsr, arg(c), lo, hi));
    writeDest(c, out, es);
  };
}
export function scalarFma(kind: FpKind, t: FpType, form: number): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const a = xmmOf(c, 0);
    const b = xmmOf(c, 1);
    const d = scalarSrc(c, 2, es);
    const on = scalarEnabled(c);
    const out = new Uint8Array(es);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(kind, t), 1, a, b, d, out, env.mxcsr, form, on ? 1 : 0, 0));
    writeScalar(c, out, a, es, on);
  };
}

/* ------------------------------------------------------------ compares */

/**
 * VCMPPS/PD (imm8 bits 4:0, SDM Vol. 2A CMPPS Table 3-1): VEX writes all-ones or zero elements;
 * EVEX writes a mask register, bits of masked-off elements and above the element count zero.
 */
export function packedCompare(t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const w = vectorLength(c.ins.code);
    const n = w / es;
    const a = readOp(c, 1, w, es);
    const b = readOp(c, 2, w, es);
    const [lo, hi] = maskFor(c, n);
    const out = new Uint8Array(w);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(FpKind.Cmp, t), n, a, b, null, out, env.mxcsr, c.ins.immediate8 & 31, lo, hi));
    if (isK(c.ins.opRegister(0))) {
      let rlo = 0, rhi = 0;
      for (let i = 0; i < n; i++) if (out[i * es]) { if (i < 32) rlo |= 1 << i; else rhi |= 1 << (i - 32); }
      c.vec.writeK(kIndex(c.ins.opRegister(0)), fromHalves(rlo, rhi), WriteKind.Compute);
      return;
    }
    writeDest(c, out, es);
  };
}
export function scalarCompare(t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const a = xmmOf(c, 1);
    const b = scalarSrc(c, 2, es);
    const on = scalarEnabled(c);
    const out = new Uint8Array(es);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(FpKind.Cmp, t), 1, a, b, null, out, env.mxcsr, c.ins.immediate8 & 31, on ? 1 : 0, 0));
    if (isK(c.ins.opRegister(0))) {
      c.vec.writeK(kIndex(c.ins.opRegister(0)), on && out[0] ? 1n : 0n, WriteKind.Compute);
      return;
    }
    writeScalar(c, out, a, es, true);
  };
}

/** VCOMISS/VUCOMISS/SD: ZF, PF, CF from the compare; OF, SF, AF cleared (SDM Vol. 2A COMISS). */
export function comis(ordered: boolean, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const a = scalarSrc(c, 0, es);
    const b = scalarSrc(c, 1, es);
    const out = new Uint8Array(4);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(ordered ? FpKind.Comi : FpKind.Ucomi, t), 1, a, b, null, out, env.mxcsr, 0, 1, 0));
    const f = out[0];
    c.env.setStatusFlags({ cf: f & EFL_CF ? 1 : 0, pf: f & EFL_PF ? 1 : 0, af: 0, zf: f & EFL_ZF ? 1 : 0, sf: 0, of: 0 });
  };
}

/* ------------------------------------------------------------ conversions */

/**
 * Packed conversion of n elements: widening forms (destination elements larger) fill the vector
 * length; narrowing forms fill part of it and zero the rest (SDM Vol. 2A VCVTPD2PS "Operation").
 */
export function packedConvert(src: FpType, dst: FpType, kind: FpKind): Op {
  const ss = TYPE_BYTES[src], ds = TYPE_BYTES[dst];
  return (c) => {
    const vl = vectorLength(c.ins.code);
    const n = vl / Math.max(ss, ds);
    const a = readOp(c, 1, n * ss, ss);
    const [lo, hi] = maskFor(c, n);
    const out = new Uint8Array(n * ds);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(kind, src, dst), n, a, null, null, out, env.mxcsr, c.ins.immediate8, lo, hi));
    writeDest(c, out, ds);
  };
}

/** The integer type of a GPR operand or an rm32/rm64 memory operand (from the instruction code's name). */
const INT64_CODE = new Map<Code, boolean>();
function is64(c: Ctx, k: number): boolean {
  if (c.ins.opKind(k) === OpKind.Register) return RegisterExt.size(c.ins.opRegister(k)) === 8;
  let v = INT64_CODE.get(c.ins.code);
  if (v === undefined) { v = /rm64|r64/.test(Code[c.ins.code]); INT64_CODE.set(c.ins.code, v); }
  return v;
}

/** VCVTSS2SD, VCVTSD2SS, VCVT(U)SI2SS/SD: element 0 converted, dst[127:size] from src1. */
function scalarToFloat(src: FpType | 'int' | 'uint', dst: FpType): Op {
  const ds = TYPE_BYTES[dst];
  return (c) => {
    const upper = xmmOf(c, 1);
    let st: FpType;
    let a: Uint8Array;
    if (src === 'int' || src === 'uint') {
      const w64 = is64(c, 2);
      st = src === 'int' ? (w64 ? FpType.I64 : FpType.I32) : (w64 ? FpType.U64 : FpType.U32);
      const bytes = w64 ? 8 : 4;
      if (c.ins.opKind(2) === OpKind.Memory) a = c.env.readMem(effectiveAddress(c.ins, c.env), bytes);
      else { a = new Uint8Array(bytes); setElem(a, 0, bytes, c.env.getGpr(c.ins.opRegister(2))); }
    } else { st = src; a = scalarSrc(c, 2, TYPE_BYTES[src]); }
    const on = scalarEnabled(c);
    const out = new Uint8Array(ds);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(FpKind.Cvt, st, dst), 1, a, null, null, out, env.mxcsr, 0, on ? 1 : 0, 0));
    writeScalar(c, out, upper, ds, on);
  };
}

/**
 * VCVT(T)SS2SI, VCVT(T)SD2(U)SI (and, with the binary16 kinds, VCVT(T)SH2(U)SI): element 0 to a
 * 32- or 64-bit GPR (32-bit writes zero-extend).
 */
export function scalarToInt(src: FpType, unsigned: boolean, trunc: boolean, kinds: readonly [FpKind, FpKind] = [FpKind.Cvt, FpKind.Cvtt]): Op {
  const ss = TYPE_BYTES[src];
  return (c) => {
    const a = scalarSrc(c, 1, ss);
    const dreg = c.ins.opRegister(0);
    const w64 = RegisterExt.size(dreg) === 8;
    const dt = unsigned ? (w64 ? FpType.U64 : FpType.U32) : (w64 ? FpType.I64 : FpType.I32);
    const out = new Uint8Array(8);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(trunc ? kinds[1] : kinds[0], src, dt), 1, a, null, null, out, env.mxcsr, 0, 1, 0));
    c.env.setGpr(dreg, getElem(out, 0, w64 ? 8 : 4));
  };
}

/* ------------------------------------------------------------ horizontal and dot products */

/**
 * VHADDPS/PD, VHSUBPS/PD (SDM Vol. 2A HADDPS): per 128-bit lane, the first half of the results from
 * adjacent pairs of src1, the second half from src2: (x0 op x1, x2 op x3, y0 op y1, y2 op y3).
 */
function horizontal(kind: FpKind, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const w = vectorLength(c.ins.code);
    const x = readOp(c, 1, w, es);
    const y = readOp(c, 2, w, es);
    const n = w / es, perLane = XMM_BYTES / es, half = perLane / 2;
    const a = new Uint8Array(w), b = new Uint8Array(w);
    for (let lane = 0; lane < w / XMM_BYTES; lane++) {
      for (let j = 0; j < perLane; j++) {
        const srcv = j < half ? x : y;
        const pair = (j % half) * 2;
        const base = lane * perLane;
        a.set(srcv.subarray((base + pair) * es, (base + pair + 1) * es), (base + j) * es);
        b.set(srcv.subarray((base + pair + 1) * es, (base + pair + 2) * es), (base + j) * es);
      }
    }
    const out = new Uint8Array(w);
    const env = fpEnvOf(c);
    const [lo, hi] = maskFor(c, n);
    commitFlags(c, env, fpRun(fpOp(kind, t), n, a, b, null, out, env.mxcsr, 0, lo, hi));
    writeDest(c, out, es);
  };
}

/**
 * VDPPS (SDM Vol. 2A DPPS "DP_primitive"), per 128-bit lane: products of the elements imm8[7:4]
 * selects (+0.0 for the others), summed as (t0 + t1) + (t2 + t3), each step rounded and flagged;
 * the sum goes to the elements imm8[3:0] selects, +0.0 to the others. VDPPD: two elements,
 * imm8[5:4] and imm8[1:0]. Flags as dotLane says.
 */
/**
 * DPPS/DPPD products and sums, per 128-bit lane, in stages over every lane (shared with
 * float-legacy.ts): the selected products; the first-level adds, each a scalar add with its own
 * flags; DPPS's second-level add. An unmasked exception in a stage ends the instruction after
 * that stage. DE comes from the first-level adds only, as the CPU's ADDSS/ADDSD flag them (so a
 * denormal product raises DE, except beside a QNaN product, and not under DAZ); the second-level
 * add raises no DE even when a first-level sum is denormal. Measured on AMD Zen 5 with a probe
 * (dp_ps with denormal, NaN and infinite products in each pair, a denormal first-level sum) and
 * the insn referee. Returns the OR of the flags and, in `completed`, those of the stages before the
 * one that raised an unmasked exception: the CPU records them with that stage's (measured on AMD Zen
 * 5: a product that underflows with UM masked, then a first-level add of it with DM clear, records
 * DE|UE|PE where the add's pre-computation DE alone would be DE; 24 of 3,000 random DPPS/VDPPS
 * cases with DM clear; the second-level add is taken to follow the same rule). `sums` receives
 * each lane's dot product.
 */
export function dotLanes(t: FpType, x: Uint8Array, y: Uint8Array, sel: number, mxcsr: number, sums: Uint8Array[]): { flags: number; completed: number } {
  const es = TYPE_BYTES[t], n = XMM_BYTES / es, lanes = sums.length;
  const unmasked = (f: number): boolean => (f & ~(mxcsr >> MXCSR.MASK_SHIFT) & MXCSR.FLAGS) !== 0;
  const prod = Array.from({ length: lanes }, () => new Uint8Array(XMM_BYTES));
  const lf = new Array<number>(lanes).fill(0);
  const all = (): number => lf.reduce((acc, f) => acc | f, 0);
  let completed = 0;
  const done = (): { flags: number; completed: number } => ({ flags: all(), completed });
  for (let l = 0; l < lanes; l++) {
    for (let j = 0; j < n; j++) {
      if (!((sel >> j) & 1)) continue;
      const o = l * XMM_BYTES + j * es;
      lf[l] |= fpRun(fpOp(FpKind.Mul, t), 1, x.subarray(o, o + es), y.subarray(o, o + es), null, prod[l]!.subarray(j * es, (j + 1) * es), mxcsr, 0, 1, 0);
    }
  }
  if (unmasked(all())) return done();
  completed = all();
  const add = (a: Uint8Array, b: Uint8Array, out: Uint8Array): number => fpRun(fpOp(FpKind.Add, t), 1, a, b, null, out, mxcsr, 0, 1, 0);
  if (n === 2) {
    for (let l = 0; l < lanes; l++) lf[l] |= add(prod[l]!.subarray(0, es), prod[l]!.subarray(es, 2 * es), sums[l]!);
    return done();
  }
  const first = Array.from({ length: lanes }, () => new Uint8Array(2 * es));
  for (let l = 0; l < lanes; l++) {
    const p = prod[l]!, f = first[l]!;
    lf[l] |= add(p.subarray(0, es), p.subarray(es, 2 * es), f.subarray(0, es));
    lf[l] |= add(p.subarray(2 * es, 3 * es), p.subarray(3 * es, 4 * es), f.subarray(es, 2 * es));
  }
  if (unmasked(all())) return done();
  completed = all();
  for (let l = 0; l < lanes; l++) lf[l] |= add(first[l]!.subarray(0, es), first[l]!.subarray(es, 2 * es), sums[l]!) & ~MXCSR.DE;
  return done();
}

function dotProduct(t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const w = vectorLength(c.ins.code);
    const x = readOp(c, 1, w, es);
    const y = readOp(c, 2, w, es);
    const imm = c.ins.immediate8;
    const perLane = XMM_BYTES / es;
    const env = fpEnvOf(c);
    const out = new Uint8Array(w);
    const sums = Array.from({ length: w / XMM_BYTES }, () => new Uint8Array(es));
    const { flags, completed } = dotLanes(t, x, y, (imm >> 4) & ((1 << perLane) - 1), env.mxcsr, sums);
    sums.forEach((sum, lane) => { for (let j = 0; j < perLane; j++) if ((imm >> j) & 1) out.set(sum, lane * XMM_BYTES + j * es); });
    commitFlags(c, env, flags, completed);
    writeDest(c, out, es);
  };
}

/* ------------------------------------------------------------ the table */

const SUFFIX: [string, FpType, boolean][] = [['ps', FpType.F32, false], ['pd', FpType.F64, false], ['ss', FpType.F32, true], ['sd', FpType.F64, true]];

for (const [op, kind] of [['add', FpKind.Add], ['sub', FpKind.Sub], ['mul', FpKind.Mul], ['div', FpKind.Div], ['min', FpKind.Min], ['max', FpKind.Max]] as const) {
  for (const [suf, t, scalar] of SUFFIX) defineOps([mn(`v${op}${suf}`)], scalar ? scalarBinary(kind, t) : packedBinary(kind, t));
}
for (const [suf, t, scalar] of SUFFIX) {
  defineOps([mn(`vsqrt${suf}`)], scalar ? scalarUnary(FpKind.Sqrt, t) : packedUnary(FpKind.Sqrt, t));
  defineOps([mn(`vround${suf}`)], scalar ? scalarUnary(FpKind.Round, t) : packedUnary(FpKind.Round, t));
  defineOps([mn(`vrndscale${suf}`)], scalar ? scalarUnary(FpKind.Rndscale, t) : packedUnary(FpKind.Rndscale, t));
  defineOps([mn(`vcmp${suf}`)], scalar ? scalarCompare(t) : packedCompare(t));
  for (const [name, kind] of [['fmadd', FpKind.Fmadd], ['fmsub', FpKind.Fmsub], ['fnmadd', FpKind.Fnmadd], ['fnmsub', FpKind.Fnmsub], ['fmaddsub', FpKind.Fmaddsub], ['fmsubadd', FpKind.Fmsubadd]] as const) {
    if (scalar && (kind === FpKind.Fmaddsub || kind === FpKind.Fmsubadd)) continue;
    for (const form of ['132', '213', '231']) {
      const m = `v${name}${form}${suf}`;
      defineOps([mn(m)], scalar ? scalarFma(kind, t, fmaForm(m)) : packedFma(kind, t, fmaForm(m)));
    }
  }
}
defineOps([Mnemonic.Vaddsubps], packedBinary(FpKind.Addsub, FpType.F32));
defineOps([Mnemonic.Vaddsubpd], packedBinary(FpKind.Addsub, FpType.F64));
defineOps([Mnemonic.Vhaddps], horizontal(FpKind.Add, FpType.F32));
defineOps([Mnemonic.Vhaddpd], horizontal(FpKind.Add, FpType.F64));
defineOps([Mnemonic.Vhsubps], horizontal(FpKind.Sub, FpType.F32));
defineOps([Mnemonic.Vhsubpd], horizontal(FpKind.Sub, FpType.F64));
defineOps([Mnemonic.Vdpps], dotProduct(FpType.F32));
defineOps([Mnemonic.Vdppd], dotProduct(FpType.F64));
defineOps([Mnemonic.Vcomiss], comis(true, FpType.F32));
defineOps([Mnemonic.Vcomisd], comis(true, FpType.F64));
defineOps([Mnemonic.Vucomiss], comis(false, FpType.F32));
defineOps([Mnemonic.Vucomisd], comis(false, FpType.F64));

/** Packed conversions: [mnemonic, source, destination, truncating]. */
const PACKED_CONVERSIONS: [string, FpType, FpType, boolean][] = [
  ['vcvtps2pd', FpType.F32, FpType.F64, false], ['vcvtpd2ps', FpType.F64, FpType.F32, false],
  ['vcvtdq2ps', FpType.I32, FpType.F32, false], ['vcvtps2dq', FpType.F32, FpType.I32, false], ['vcvttps2dq', FpType.F32, FpType.I32, true],
  ['vcvtdq2pd', FpType.I32, FpType.F64, false], ['vcvtpd2dq', FpType.F64, FpType.I32, false], ['vcvttpd2dq', FpType.F64, FpType.I32, true],
  ['vcvtph2ps', FpType.F16, FpType.F32, false],
  // AVX-512F unsigned doublewords.
  ['vcvtudq2ps', FpType.U32, FpType.F32, false], ['vcvtps2udq', FpType.F32, FpType.U32, false], ['vcvttps2udq', FpType.F32, FpType.U32, true],
  ['vcvtudq2pd', FpType.U32, FpType.F64, false], ['vcvtpd2udq', FpType.F64, FpType.U32, false], ['vcvttpd2udq', FpType.F64, FpType.U32, true],
  // AVX-512DQ quadwords.
  ['vcvtqq2ps', FpType.I64, FpType.F32, false], ['vcvtqq2pd', FpType.I64, FpType.F64, false], ['vcvtuqq2ps', FpType.U64, FpType.F32, false], ['vcvtuqq2pd', FpType.U64, FpType.F64, false],
  ['vcvtps2qq', FpType.F32, FpType.I64, false], ['vcvttps2qq', FpType.F32, FpType.I64, true], ['vcvtps2uqq', FpType.F32, FpType.U64, false], ['vcvttps2uqq', FpType.F32, FpType.U64, true],
  ['vcvtpd2qq', FpType.F64, FpType.I64, false], ['vcvttpd2qq', FpType.F64, FpType.I64, true], ['vcvtpd2uqq', FpType.F64, FpType.U64, false], ['vcvttpd2uqq', FpType.F64, FpType.U64, true],
];
for (const [name, s, d, trunc] of PACKED_CONVERSIONS) defineOps([mn(name)], packedConvert(s, d, trunc ? FpKind.Cvtt : FpKind.Cvt));
defineOps([Mnemonic.Vcvtps2ph], packedConvert(FpType.F32, FpType.F16, FpKind.Ps2ph));

defineOps([Mnemonic.Vcvtss2sd], scalarToFloat(FpType.F32, FpType.F64));
defineOps([Mnemonic.Vcvtsd2ss], scalarToFloat(FpType.F64, FpType.F32));
defineOps([Mnemonic.Vcvtsi2ss], scalarToFloat('int', FpType.F32));
defineOps([Mnemonic.Vcvtsi2sd], scalarToFloat('int', FpType.F64));
defineOps([Mnemonic.Vcvtusi2ss], scalarToFloat('uint', FpType.F32));
defineOps([Mnemonic.Vcvtusi2sd], scalarToFloat('uint', FpType.F64));
defineOps([Mnemonic.Vcvtss2si], scalarToInt(FpType.F32, false, false));
defineOps([Mnemonic.Vcvttss2si], scalarToInt(FpType.F32, false, true));
defineOps([Mnemonic.Vcvtsd2si], scalarToInt(FpType.F64, false, false));
defineOps([Mnemonic.Vcvttsd2si], scalarToInt(FpType.F64, false, true));
defineOps([Mnemonic.Vcvtss2usi], scalarToInt(FpType.F32, true, false));
defineOps([Mnemonic.Vcvttss2usi], scalarToInt(FpType.F32, true, true));
defineOps([Mnemonic.Vcvtsd2usi], scalarToInt(FpType.F64, true, false));
defineOps([Mnemonic.Vcvttsd2usi], scalarToInt(FpType.F64, true, true));


/**
 * VRCPPS/VRCPSS/VRSQRTPS/VRSQRTSS (and the legacy forms, float-legacy.ts): approximations whose
 * bits are the vendor's table. Assumed: CPUs of one vendor share the table (the host's, measured by
 * the instruction referee on the host's own profile); another vendor's profile stops the run
 * (ApproximationUnknown). They raise no exceptions and ignore MXCSR (SDM Vol. 2B RCPPS).
 */
export function checkApproximationVendor(c: Ctx): void {
  const want = c.vec.regs.cpu.profile.vendor;
  const have = hostVendor();
  if (want !== have) throw new ApproximationUnknown(`${Mnemonic[c.ins.mnemonic].toUpperCase()}: ${want}'s approximation table is not known on this ${have} host (it computes the host vendor's only)`);
}
function approx(kind: FpKind, scalarForm: boolean): Op {
  const inner = scalarForm ? scalarUnary(kind, FpType.F32) : packedUnary(kind, FpType.F32);
  return (c) => { checkApproximationVendor(c); inner(c); };
}
defineOps([Mnemonic.Vrcpps], approx(FpKind.Rcp, false));
defineOps([Mnemonic.Vrsqrtps], approx(FpKind.Rsqrt, false));
defineOps([Mnemonic.Vrcpss], approx(FpKind.Rcp, true));
defineOps([Mnemonic.Vrsqrtss], approx(FpKind.Rsqrt, true));
