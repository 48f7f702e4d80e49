/**
 * AVX512_BF16 (SDM Vol. 2C VCVTNE2PS2BF16, VCVTNEPS2BF16, VDPBF16PS): conversions to bfloat16 and
 * the bfloat16 dot product. None consults or updates MXCSR and none raises an exception.
 */
import { Mnemonic } from '../iced.js';
import { defineOps, readOp, vecIndex, vectorLength, writeDest, type Ctx, type Op } from './core.js';
import { FpKind, FpType, fpOp, fpRun } from './float-kernel.js';
import { MXCSR } from './mxcsr.js';

/**
 * convert_fp32_to_bfloat16 (SDM Vol. 2C VCVTNEPS2BF16 "Operation"): zero or denormal -> signed
 * zero; NaN -> its upper half, made quiet (bit 6); otherwise round to nearest even on bit 16
 * (infinities stay infinities).
 */
export function fp32ToBf16(x: number): number {
  const exp = (x >>> 23) & 0xff, man = x & 0x7fffff;
  if (exp === 0) return (x >>> 16) & 0x8000;
  if (exp === 0xff && man !== 0) return ((x >>> 16) & 0xffff) | 0x40;
  const lsb = (x >>> 16) & 1;
  return (((x >>> 0) + 0x7fff + lsb) >>> 16) & 0xffff;
}

function u32(b: Uint8Array, i: number): number {
  return (b[4 * i] | (b[4 * i + 1] << 8) | (b[4 * i + 2] << 16) | (b[4 * i + 3] << 24)) >>> 0;
}

/** VCVTNEPS2BF16: n single-precision elements to n bfloat16 in the low half (upper half zeroed). */
const vcvtneps2bf16: Op = (c) => {
  const vl = vectorLength(c.ins.code);
  const n = vl / 4;
  const a = readOp(c, 1, vl, 4);
  const out = new Uint8Array(n * 2);
  for (let i = 0; i < n; i++) { const h = fp32ToBf16(u32(a, i)); out[2 * i] = h & 0xff; out[2 * i + 1] = h >>> 8; }
  writeDest(c, out, 2);
};

/** VCVTNE2PS2BF16 dst, src1, src2: the low words from src2, the high words from src1. */
const vcvtne2ps2bf16: Op = (c) => {
  const vl = vectorLength(c.ins.code);
  const n = vl / 4;
  const s1 = readOp(c, 1, vl, 4), s2 = readOp(c, 2, vl, 4);
  const out = new Uint8Array(vl);
  for (let i = 0; i < n; i++) {
    const lo = fp32ToBf16(u32(s2, i)), hi = fp32ToBf16(u32(s1, i));
    out[2 * i] = lo & 0xff; out[2 * i + 1] = lo >>> 8;
    out[2 * (n + i)] = hi & 0xff; out[2 * (n + i) + 1] = hi >>> 8;
  }
  writeDest(c, out, 2);
};

/** MXCSR for VDPBF16PS's steps: round to nearest even, DAZ, FTZ, every exception masked (flags discarded). */
const BF16_MXCSR = MXCSR.MASKS | MXCSR.DAZ | MXCSR.FTZ;

/** fpRun's form operand for VFMADD231: out = b * c + a. */
const FORM_231 = 2;

/**
 * One step of the bfloat16 dot products (VDPBF16PS, AMX's TDPBF16PS): for n fp32 lanes,
 * acc + a * b as one fused multiply-add "with DAZ, FTZ, RNE" (SDM pseudo-code), MXCSR neither
 * consulted nor updated; a and b hold make_fp32 of the bfloat16 elements.
 */
export function bf16DotStep(acc: Uint8Array, a: Uint8Array, b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(acc.length);
  fpRun(fpOp(FpKind.Fmadd, FpType.F32), n, acc, a, b, out, BF16_MXCSR, FORM_231, 0xffffffff, 0xffffffff);
  return out;
}

/**
 * VDPBF16PS srcdest, src1, src2: per dword, srcdest += src1.bf16[2i+1] * src2.bf16[2i+1], then
 * += src1.bf16[2i] * src2.bf16[2i], each a fused multiply-add in fp32 "with DAZ in, FTZ out and RNE
 * rounding" (SDM pseudo-code), computed by the kernel's VFMADD231SS under that MXCSR.
 */
const vdpbf16ps: Op = (c: Ctx) => {
  const vl = vectorLength(c.ins.code);
  const n = vl / 4;
  const acc = c.vec.read(vecIndex(c.ins.opRegister(0)), vl).slice();
  const s1 = readOp(c, 1, vl, 4), s2 = readOp(c, 2, vl, 4);
  const widen = (src: Uint8Array, half: number): Uint8Array => {
    const o = new Uint8Array(vl);
    for (let i = 0; i < n; i++) { o[4 * i + 2] = src[4 * i + 2 * half]; o[4 * i + 3] = src[4 * i + 2 * half + 1]; }
    return o;
  };
  const step = bf16DotStep(acc, widen(s1, 1), widen(s2, 1), n);
  writeDest(c, bf16DotStep(step, widen(s1, 0), widen(s2, 0), n), 4);
};

defineOps([Mnemonic.Vcvtneps2bf16], vcvtneps2bf16);
defineOps([Mnemonic.Vcvtne2ps2bf16], vcvtne2ps2bf16);
defineOps([Mnemonic.Vdpbf16ps], vdpbf16ps);
