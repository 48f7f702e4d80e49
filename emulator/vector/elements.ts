/**
 * Element access and the generic drivers of the table-driven integer operations: elementwise
 * unary, binary and ternary operations, shifts by an immediate or by a count register. A driver
 * reads the sources (register, memory or an EVEX broadcast element, as iced-x86's metadata for
 * the instruction code says), applies the element operation and writes the destination with the
 * EVEX write mask (core.ts writeDest). Operations are pure functions on BigInt element values.
 */
import { OpKind, Register } from '../iced.js';
import { WriteKind } from '../vector-file.js';
import { readOp, shapeOf, writeDest, type Ctx, type Op } from './core.js';

/** Element i (of es bytes, little-endian) of b, unsigned. */
export function rd(b: Uint8Array, i: number, es: number): bigint {
  const o = i * es;
  switch (es) {
    case 1: return BigInt(b[o]);
    case 2: return BigInt(b[o] | (b[o + 1] << 8));
    case 4: return BigInt((b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0);
    case 8: return BigInt((b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0) | (BigInt((b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24)) >>> 0) << 32n);
    default: {
      let v = 0n;
      for (let k = es - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[o + k]);
      return v;
    }
  }
}
/** Store v (truncated to es bytes) as element i of b. */
export function wr(b: Uint8Array, i: number, es: number, v: bigint): void {
  const o = i * es;
  if (es <= 4) {
    let n = Number(BigInt.asUintN(32, v));
    for (let k = 0; k < es; k++) { b[o + k] = n & 0xff; n >>>= 8; }
    return;
  }
  for (let k = 0; k < es; k++) { b[o + k] = Number(v & 0xffn); v >>= 8n; }
}

export const sx = (v: bigint, bits: number): bigint => BigInt.asIntN(bits, v);
export const zx = (v: bigint, bits: number): bigint => BigInt.asUintN(bits, v);
/** Saturate a mathematical value to a signed / unsigned field of `bits` (SDM Vol. 1 4.6.1 SaturateToSigned...). */
export function satS(v: bigint, bits: number): bigint {
  const max = (1n << BigInt(bits - 1)) - 1n, min = -(1n << BigInt(bits - 1));
  return v > max ? max : v < min ? min : v;
}
export function satU(v: bigint, bits: number): bigint {
  const max = (1n << BigInt(bits)) - 1n;
  return v > max ? max : v < 0n ? 0n : v;
}

/** Source width of the second source: its register's width, else the operation width. */
function bcstOf(c: Ctx, es: number): number {
  return shapeOf(c.ins.code).bcstElem || es;
}

export type Unary = (a: bigint, bits: number) => bigint;
export type Binary = (a: bigint, b: bigint, bits: number) => bigint;
export type Ternary = (d: bigint, a: bigint, b: bigint, bits: number) => bigint;

/** dst = f(src) per element of es bytes; src is operand 1 (register, memory, broadcast). */
export function unaryOp(es: number, f: Unary): Op {
  const bits = es * 8;
  return (c) => {
    const a = readOp(c, 1, c.width, bcstOf(c, es));
    const out = new Uint8Array(c.width);
    for (let i = 0; i < c.width / es; i++) wr(out, i, es, f(rd(a, i, es), bits));
    writeDest(c, out, es);
  };
}

/**
 * dst = f(src1, src2) per element; src2 may be memory or a broadcast element. `idiomWhenSame`: with
 * both sources one register (and no merge mask) the CPU knows the result is zero, a zeroing idiom
 * for XINUSE (vector-file.ts WriteKind.Idiom).
 */
export function binaryOp(es: number, f: Binary, idiomWhenSame = false): Op {
  const bits = es * 8;
  return (c) => {
    const a = readOp(c, 1, c.width, es);
    const b = readOp(c, 2, c.width, bcstOf(c, es));
    const out = new Uint8Array(c.width);
    for (let i = 0; i < c.width / es; i++) wr(out, i, es, f(rd(a, i, es), rd(b, i, es), bits));
    const { ins } = c;
    const idiom = idiomWhenSame && ins.opKind(2) === OpKind.Register && ins.opRegister(1) === ins.opRegister(2) && (ins.opMask === Register.None || ins.zeroingMasking);
    writeDest(c, out, es, idiom ? WriteKind.Idiom : WriteKind.Compute);
  };
}

/** dst = f(dst, src1, src2) per element (multiply-accumulate, double shifts). */
export function ternaryOp(es: number, f: Ternary): Op {
  const bits = es * 8;
  return (c) => {
    const d = readOp(c, 0, c.width, es);
    const a = readOp(c, 1, c.width, es);
    const b = readOp(c, 2, c.width, bcstOf(c, es));
    const out = new Uint8Array(c.width);
    for (let i = 0; i < c.width / es; i++) wr(out, i, es, f(rd(d, i, es), rd(a, i, es), rd(b, i, es), bits));
    writeDest(c, out, es);
  };
}

/** dst = f(src1, src2, imm8) per element (VPSHLDD and the like). */
export function binaryImmOp(es: number, f: (a: bigint, b: bigint, imm: number, bits: number) => bigint): Op {
  const bits = es * 8;
  return (c) => {
    const a = readOp(c, 1, c.width, es);
    const b = readOp(c, 2, c.width, bcstOf(c, es));
    const imm = c.ins.immediate8;
    const out = new Uint8Array(c.width);
    for (let i = 0; i < c.width / es; i++) wr(out, i, es, f(rd(a, i, es), rd(b, i, es), imm, bits));
    writeDest(c, out, es);
  };
}

/** Shift kinds of VPSLL/VPSRL/VPSRA/VPROL/VPROR (SDM Vol. 2B PSLLW, PSRAW; Vol. 2C VPROLD). */
export enum ShiftKind { Left, RightLogical, RightArith, RotateLeft, RotateRight }

/** One element shifted by a count (any non-negative count: over-wide logical shifts give 0, arithmetic the sign). */
export function shiftElem(kind: ShiftKind, v: bigint, count: bigint, bits: number): bigint {
  const B = BigInt(bits);
  switch (kind) {
    case ShiftKind.Left: return count >= B ? 0n : zx(v << count, bits);
    case ShiftKind.RightLogical: return count >= B ? 0n : v >> count;
    case ShiftKind.RightArith: return zx(sx(v, bits) >> (count >= B ? B - 1n : count), bits);
    case ShiftKind.RotateLeft: { const n = count % B; return zx((v << n) | (v >> ((B - n) % B)), bits); }
    case ShiftKind.RotateRight: { const n = count % B; return zx((v >> n) | (v << ((B - n) % B)), bits); }
  }
}

/**
 * Shifts with one count for every element: an imm8 (dst, src/m/bcst, imm8) or the low 64 bits of
 * an xmm/m128 count (dst, src1, xmm/m128), as PSLLW and its relatives define.
 */
export function shiftUniform(es: number, kind: ShiftKind): Op {
  const bits = es * 8;
  return (c) => {
    const { ins } = c;
    let src: Uint8Array;
    let count: bigint;
    if (ins.opCount >= 3 && ins.opKind(2) === OpKind.Immediate8) {
      src = readOp(c, 1, c.width, bcstOf(c, es));
      count = BigInt(ins.immediate8);
    } else {
      src = readOp(c, 1, c.width, es);
      count = rd(readOp(c, 2, 16, 0), 0, 8); // es 0: the count is not masked
    }
    const out = new Uint8Array(c.width);
    for (let i = 0; i < c.width / es; i++) wr(out, i, es, shiftElem(kind, rd(src, i, es), count, bits));
    writeDest(c, out, es);
  };
}

/** Per-element variable shifts (VPSLLVD, VPRORVQ, ...): the count is the matching element of src2. */
export function shiftVariable(es: number, kind: ShiftKind): Op {
  return binaryOp(es, (a, b, bits) => shiftElem(kind, a, b, bits));
}
