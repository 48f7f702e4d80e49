/**
 * The AVX-512F/DQ floating-point instructions that have no SSE counterpart (SDM Vol. 2C, each
 * instruction's "Operation" and special-case table): VGETEXP, VGETMANT, VSCALEF, VRANGE, VREDUCE,
 * VFIXUPIMM, VFPCLASS in their PS/PD/SS/SD forms, and the VRCP14/VRSQRT14 approximations. Each
 * element is computed by the native kernel (emulator/native/sse-float.c: getexp, getmant, scalef,
 * range, reduce, fixupimm, fpclass, approx14) from the SDM's operation on its bits, so no AVX-512
 * host is needed, except for VRCP14/VRSQRT14, whose bits are the vendor's (see approx14 below).
 * Operand arrangement, masking, embedded rounding/SAE and flags as in float.ts.
 */
import { Mnemonic } from '../iced.js';
import { WriteKind } from '../vector-file.js';
import { defineOps, fromHalves, isK, kIndex, readOp, vecIndex, vectorLength, writeDest, type Op } from './core.js';
import { FpKind, FpType, TYPE_BYTES, fpOp, fpRun } from './float-kernel.js';
import { commitFlags, fpEnvOf } from './mxcsr.js';
import { Quirk } from '../quirks.js';
import {
  checkApproximationVendor, maskFor, packedBinary, packedDestInput, packedUnary, scalarBinary, scalarEnabled, scalarSrc, scalarUnary, writeScalar, xmmOf,
} from './float.js';

const M = Mnemonic as unknown as Record<string, Mnemonic>;
function mn(name: string): Mnemonic {
  const m = M[name[0].toUpperCase() + name.slice(1)];
  if (m === undefined) throw new Error(`float-avx512.ts: no iced-x86 mnemonic ${name}`);
  return m;
}

/** sse-float.c REDUCE_NO_PE: the kernel's flag (above imm8) for quirk vreduce-no-precision. */
const REDUCE_NO_PE = 0x100;

/**
 * VREDUCEPS/PD zmm1{k}, zmm2/m/bcst, imm8 and VREDUCESS/SD xmm1{k}, xmm2, xmm3/m, imm8 (SDM Vol. 2C
 * VREDUCEPD): the rounding step's PE as the profile's quirk says.
 */
function reduce(t: FpType, scalarForm: boolean): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const imm = c.ins.immediate8 | (c.vec.regs.cpu.hasQuirk(Quirk.VreduceNoPrecision) ? REDUCE_NO_PE : 0);
    const op = fpOp(FpKind.Reduce, t);
    const env = fpEnvOf(c);
    if (scalarForm) {
      const upper = xmmOf(c, 1);
      const b = scalarSrc(c, 2, es);
      const on = scalarEnabled(c);
      const out = new Uint8Array(es);
      commitFlags(c, env, fpRun(op, 1, b, null, null, out, env.mxcsr, imm, on ? 1 : 0, 0));
      writeScalar(c, out, upper, es, on);
      return;
    }
    const w = vectorLength(c.ins.code);
    const n = w / es;
    const a = readOp(c, 1, w, es);
    const [lo, hi] = maskFor(c, n);
    const out = new Uint8Array(w);
    commitFlags(c, env, fpRun(op, n, a, null, null, out, env.mxcsr, imm, lo, hi));
    writeDest(c, out, es);
  };
}

/** Packed dst = op(src1, src2, imm8) (VRANGEPS). */
function packedBinaryImm(kind: FpKind, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const w = vectorLength(c.ins.code);
    const n = w / es;
    const a = readOp(c, 1, w, es);
    const b = readOp(c, 2, w, es);
    const [lo, hi] = maskFor(c, n);
    const out = new Uint8Array(w);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(kind, t), n, a, b, null, out, env.mxcsr, c.ins.immediate8, lo, hi));
    writeDest(c, out, es);
  };
}
/** Scalar dst[0] = op(src1[0], src2[0], imm8), dst[127:es] = src1 (VRANGESS). */
function scalarBinaryImm(kind: FpKind, t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const a = xmmOf(c, 1);
    const b = scalarSrc(c, 2, es);
    const on = scalarEnabled(c);
    const out = new Uint8Array(es);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(kind, t), 1, a, b, null, out, env.mxcsr, c.ins.immediate8, on ? 1 : 0, 0));
    writeScalar(c, out, a, es, on);
  };
}

/** VFIXUPIMMPS/PD zmm1{k}, zmm2, zmm3/m/bcst, imm8: the destination is an input (response 0000 keeps it). */
function packedFixup(t: FpType): Op {
  return packedDestInput(FpKind.Fixupimm, t, (c) => c.ins.immediate8);
}
/** VFIXUPIMMSS/SD xmm1{k}, xmm2, xmm3/m, imm8: dst[127:es] = src1 (xmm2). */
function scalarFixup(t: FpType): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const d = xmmOf(c, 0);
    const a = xmmOf(c, 1);
    const table = scalarSrc(c, 2, es);
    const on = scalarEnabled(c);
    const out = new Uint8Array(es);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(FpKind.Fixupimm, t), 1, d, a, table, out, env.mxcsr, c.ins.immediate8, on ? 1 : 0, 0));
    writeScalar(c, out, a, es, on);
  };
}

/**
 * VFPCLASSPS/PD k2{k1}, src, imm8 and VFPCLASSSS/SD: one mask bit per element (masked-off
 * elements and bits above the element count zero). No exception, MXCSR not read (SDM Vol. 2C
 * VFPCLASSPD: "SIMD Floating-Point Exceptions: None"; DAZ not applied: a denormal is class 5).
 */
function fpclass(t: FpType, scalarForm: boolean): Op {
  const es = TYPE_BYTES[t];
  return (c) => {
    const n = scalarForm ? 1 : vectorLength(c.ins.code) / es;
    const a = scalarForm ? scalarSrc(c, 1, es) : readOp(c, 1, n * es, es);
    const [lo, hi] = maskFor(c, n);
    const out = new Uint8Array(n * es);
    fpRun(fpOp(FpKind.Fpclass, t), n, a, null, null, out, c.vec.regs.mxcsr, c.ins.immediate8, lo, hi);
    if (!isK(c.ins.opRegister(0))) throw new Error('VFPCLASS: destination is not a mask register');
    let rlo = 0, rhi = 0;
    for (let i = 0; i < n; i++) if (out[i * es]) { if (i < 32) rlo |= 1 << i; else rhi |= 1 << (i - 32); }
    c.vec.writeK(kIndex(c.ins.opRegister(0)), fromHalves(rlo, rhi), WriteKind.Compute);
  };
}

/**
 * VRCP14/VRSQRT14 PS/PD/SS/SD: the SDM bounds the relative error (< 2^-14) and defines the special
 * cases, not the bits; the bits are the vendor's (measured on AMD Zen 5: see test/vector-float.test.ts
 * and the README). As for VRCPPS (float.ts checkApproximationVendor), the host's instruction computes
 * them when the profile's vendor is the host's; otherwise the run stops naming the instruction.
 * No MXCSR flags; DAZ and FTZ apply (SDM Vol. 2C VRCP14PS).
 */
function approx14(kind: FpKind, t: FpType, scalarForm: boolean): Op {
  const inner = scalarForm ? scalarUnary(kind, t) : packedUnary(kind, t);
  return (c) => { checkApproximationVendor(c); inner(c); };
}

const SUFFIX: [string, FpType, boolean][] = [['ps', FpType.F32, false], ['pd', FpType.F64, false], ['ss', FpType.F32, true], ['sd', FpType.F64, true]];
for (const [suf, t, scalar] of SUFFIX) {
  defineOps([mn(`vgetexp${suf}`)], scalar ? scalarUnary(FpKind.Getexp, t) : packedUnary(FpKind.Getexp, t));
  defineOps([mn(`vgetmant${suf}`)], scalar ? scalarUnary(FpKind.Getmant, t) : packedUnary(FpKind.Getmant, t));
  defineOps([mn(`vreduce${suf}`)], reduce(t, scalar));
  defineOps([mn(`vscalef${suf}`)], scalar ? scalarBinary(FpKind.Scalef, t) : packedBinary(FpKind.Scalef, t));
  defineOps([mn(`vrange${suf}`)], scalar ? scalarBinaryImm(FpKind.Range, t) : packedBinaryImm(FpKind.Range, t));
  defineOps([mn(`vfixupimm${suf}`)], scalar ? scalarFixup(t) : packedFixup(t));
  defineOps([mn(`vfpclass${suf}`)], fpclass(t, scalar));
  defineOps([mn(`vrcp14${suf}`)], approx14(FpKind.Rcp14, t, scalar));
  defineOps([mn(`vrsqrt14${suf}`)], approx14(FpKind.Rsqrt14, t, scalar));
}
// AVX512-FP16's forms of three of them: the same operations on the binary16 format, MXCSR.DAZ not
// applied (assumed, as for the AVX512-FP16 arithmetic: float-fp16.ts).
defineOps([Mnemonic.Vgetexpph], packedUnary(FpKind.Getexp, FpType.F16));
defineOps([Mnemonic.Vgetexpsh], scalarUnary(FpKind.Getexp, FpType.F16));
defineOps([Mnemonic.Vgetmantph], packedUnary(FpKind.Getmant, FpType.F16));
defineOps([Mnemonic.Vgetmantsh], scalarUnary(FpKind.Getmant, FpType.F16));
defineOps([Mnemonic.Vfpclassph], fpclass(FpType.F16, false));
defineOps([Mnemonic.Vfpclasssh], fpclass(FpType.F16, true));
// VREDUCEPH/SH and VSCALEFPH/SH (SDM Vol. 2C): the same operations, with the binary16 rounding and
// flags of sse-float.c f16_reduce and scalef (FMT_F16).
defineOps([Mnemonic.Vreduceph], reduce(FpType.F16, false));
defineOps([Mnemonic.Vreducesh], reduce(FpType.F16, true));
defineOps([Mnemonic.Vscalefph], packedBinary(FpKind.Scalef, FpType.F16));
defineOps([Mnemonic.Vscalefsh], scalarBinary(FpKind.Scalef, FpType.F16));
