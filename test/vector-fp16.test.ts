/**
 * AVX512-FP16 arithmetic and conversions (emulator/vector/float-fp16.ts, f16_arith/f16_cvt in
 * emulator/native/sse-float.c) against a reference written here independently: binary16 values as
 * exact rationals (BigInt), the exact sum, difference, product, quotient or square root (with a
 * sticky bit), rounded once to binary16 by the rounding mode (IEEE 754-2008 4.3; SDM Vol. 1 4.8.4)
 * with overflow, tininess after rounding (as x86 detects it: SDM Vol. 1 4.9.1.5, measured on this
 * host's binary32) and inexactness. No host has AVX512-FP16 here to referee these: this is their check.
 */
import { Code, Decoder, DecoderOptions, Encoder, Instruction, MemoryOperand, Register } from 'iced-x86';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Quirk } from '../emulator/quirks.js';
import { emulateVector, type ExecEnv } from '../emulator/avx.js';
import { loadBuiltinQuietly } from '../emulator/profile.js';
import { UpperBits, VectorFile, WriteKind } from '../emulator/vector-file.js';
import { CpuFault, XsaveContext } from '../emulator/xsave.js';
import { FpKind, FpType, fpOp, fpRun, hostHasAvx512fp16, hostVendor } from '../emulator/vector/float-kernel.js';
import { MXCSR } from '../emulator/vector/mxcsr.js';

const { IE, DE, ZE, OE, UE, PE } = MXCSR;

/** One element through the kernel: [result bits, flags]. */
function kernel(kind: FpKind, st: FpType, dt: FpType, x: number, y: number, mxcsr: number, z = 0, imm = 0): [number, number] {
  const sz = (t: FpType): number => (t === FpType.F16 || t === FpType.I16 || t === FpType.U16 ? 2 : t === FpType.F32 || t === FpType.I32 || t === FpType.U32 ? 4 : 8);
  const enc = (v: number, t: FpType): Uint8Array => { const b = new Uint8Array(8); const dv = new DataView(b.buffer); if (sz(t) === 2) dv.setUint16(0, v, true); else dv.setUint32(0, v >>> 0, true); return b; };
  const out = new Uint8Array(8);
  const fl = fpRun(fpOp(kind, st, dt), 1, enc(x, st), enc(y, st), enc(z, st), out, mxcsr, imm, 1, 0);
  const dv = new DataView(out.buffer);
  return [sz(dt) === 2 ? dv.getUint16(0, true) : dv.getUint32(0, true), fl];
}

/** A finite binary16 as sign and m * 2^e. */
function parts(h: number): { s: number; m: bigint; e: number } {
  const s = h >> 15, ex = (h >> 10) & 0x1f, f = h & 0x3ff;
  return ex === 0 ? { s, m: BigInt(f), e: -24 } : { s, m: BigInt(f | 0x400), e: ex - 25 };
}
const bitlen = (x: bigint): number => x.toString(2).length;

/**
 * Round sign * n / d * 2^x (n >= 0, d > 0) to binary16 by rc (0 nearest-even, 1 down, 2 up, 3 toward
 * zero). Masked flags: PE inexact; OE|PE overflow; UE|PE tiny (after rounding) and inexact.
 * `unmasked`: UE and OE unmasked: only the flags (UE for tiny, OE, PE of the unbounded rounding).
 */
function roundF16(s: number, n: bigint, d: bigint, x: number, rc: number, unmasked = false): { bits: number; flags: number } {
  if (x >= 0) n <<= BigInt(x); else d <<= BigInt(-x);
  if (n === 0n) return { bits: s << 15, flags: 0 };
  let E = bitlen(n) - bitlen(d);
  if (E >= 0 ? n < d << BigInt(E) : n << BigInt(-E) < d) E--;
  const at = (k: number): [bigint, boolean] => {
    const N = k <= 0 ? n << BigInt(-k) : n, D = k <= 0 ? d : d << BigInt(k);
    const q = N / D, r = N % D;
    const inexact = r !== 0n;
    const up = rc === 0 ? 2n * r > D || (2n * r === D && (q & 1n) === 1n) : rc === 1 ? s === 1 && inexact : rc === 2 ? s === 0 && inexact : false;
    return [q + (up ? 1n : 0n), inexact];
  };
  let [q, inexact] = at(E - 10);
  let Eu = E;
  if (q === 2048n) { q = 1024n; Eu++; }
  if (Eu > 15) {
    if (unmasked) return { bits: 0, flags: OE | (inexact ? PE : 0) };
    const toInf = rc === 0 || (rc === 1 && s === 1) || (rc === 2 && s === 0);
    return { bits: (s << 15) | (toInf ? 0x7c00 : 0x7bff), flags: OE | PE };
  }
  if (Eu >= -14) return { bits: (s << 15) | ((Eu + 15) << 10) | Number(q & 0x3ffn), flags: inexact ? PE : 0 };
  if (unmasked) return { bits: 0, flags: UE | (inexact ? PE : 0) };
  const [q2, inx2] = at(-24);
  return { bits: (s << 15) | Number(q2), flags: inx2 ? UE | PE : 0 };
}

function isqrt(v: bigint): bigint {
  if (v < 2n) return v;
  let x = 1n << BigInt(Math.ceil(bitlen(v) / 2));
  for (;;) { const y = (x + v / x) >> 1n; if (y >= x) return x; x = y; }
}

/** The reference for finite binary16 operands. */
function reference(kind: FpKind, a: number, b: number, rc: number, unmasked: boolean): { bits: number; flags: number } {
  const A = parts(a), B = parts(b);
  const den = (h: number): boolean => ((h >> 10) & 0x1f) === 0 && (h & 0x3ff) !== 0;
  const de = den(a) || (kind !== FpKind.Sqrt && den(b)) ? DE : 0;
  const withDe = (r: { bits: number; flags: number }): { bits: number; flags: number } => ({ bits: r.bits, flags: r.flags | de });
  const signed = (v: bigint, e: number): { bits: number; flags: number } => {
    // An exact zero sum (IEEE 754-2008 6.3): zeros of one effective sign keep it; otherwise +0, or -0 when rounding down.
    if (v === 0n) {
      const sb = kind === FpKind.Add ? B.s : 1 - B.s;
      const same = A.m === 0n && B.m === 0n && A.s === sb;
      return { bits: (same ? A.s === 1 : rc === 1) ? 0x8000 : 0, flags: 0 };
    }
    return roundF16(v < 0n ? 1 : 0, v < 0n ? -v : v, 1n, e, rc, unmasked);
  };
  switch (kind) {
    case FpKind.Add: case FpKind.Sub: {
      const e = Math.min(A.e, B.e);
      const va = (A.s ? -A.m : A.m) << BigInt(A.e - e), vb = (B.s ? -B.m : B.m) << BigInt(B.e - e);
      return withDe(signed(kind === FpKind.Add ? va + vb : va - vb, e));
    }
    case FpKind.Mul: return withDe(roundF16(A.s ^ B.s, A.m * B.m, 1n, A.e + B.e, rc, unmasked));
    case FpKind.Div: return withDe(roundF16(A.s ^ B.s, A.m, B.m, A.e - B.e, rc, unmasked));
    default: {
      if (A.m === 0n) return { bits: a, flags: 0 };
      let m = A.m, e = A.e;
      if (e & 1) { m <<= 1n; e -= 1; }
      const T = 40;
      const M = m << BigInt(2 * T), r = isqrt(M);
      return withDe(roundF16(0, 2n * r + (r * r === M ? 0n : 1n), 2n, e / 2 - T, rc, unmasked));
    }
  }
}

/** mulberry32. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { let t = (s = (s + 0x6d2b79f5) >>> 0); t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}
/** A finite binary16: zeros, denormals, near 1, the largest, or any. */
function finite16(r: () => number): number {
  const k = Math.floor(r() * 6);
  const s = r() < 0.5 ? 0x8000 : 0;
  if (k === 0) return s | Math.floor(r() * 0x400);
  if (k === 1) return s | ((13 + Math.floor(r() * 5)) << 10) | Math.floor(r() * 0x400);
  if (k === 2) return s | [0, 1, 0x3ff, 0x400, 0x7bff, 0x3c00][Math.floor(r() * 6)]!;
  return s | (Math.floor(r() * 31) << 10) | Math.floor(r() * 0x400);
}

const H = FpType.F16;
describe('AVX512-FP16 against an exact reference', () => {
  for (const [name, kind] of [['add', FpKind.Add], ['sub', FpKind.Sub], ['mul', FpKind.Mul], ['div', FpKind.Div], ['sqrt', FpKind.Sqrt]] as const) {
    it(`${name}: every rounding mode, flags masked and with UE/OE unmasked, 12,000 operand pairs`, () => {
      const r = prng(kind * 7919);
      let compared = 0;
      for (let i = 0; i < 12000; i++) {
        const a = kind === FpKind.Sqrt ? finite16(r) & 0x7fff : finite16(r), b = finite16(r);
        if (kind === FpKind.Div && (b & 0x7fff) === 0) continue;
        const rc = i & 3;
        const unmasked = (i >> 2) % 4 === 3;
        const mxcsr = (rc << MXCSR.RC_SHIFT) | (unmasked ? MXCSR.MASKS & ~((UE | OE) << MXCSR.MASK_SHIFT) : MXCSR.MASKS) | (i % 5 === 0 ? MXCSR.DAZ | MXCSR.FTZ : 0);
        const want = reference(kind, a, b, rc, unmasked);
        const [bits, flags] = kernel(kind, H, H, a, b, mxcsr);
        const delivered = !(unmasked && want.flags & (UE | OE));
        const got = { bits: delivered ? bits : 0, flags };
        expect(got, `${name} ${a.toString(16)} ${b.toString(16)} rc ${rc} mxcsr ${mxcsr.toString(16)}`).toEqual(want);
        compared++;
      }
      expect(compared).toBeGreaterThan(11000);
    });
  }
  it('FMA (VFMADD213SH: a * b + c, one rounding; VFNMSUB: -(a * b) - c): every rounding mode, 20,000 triples against the exact value', () => {
    const r = prng(1234);
    for (let i = 0; i < 20000; i++) {
      const a = finite16(r), b = finite16(r), c = finite16(r);
      const rc = i & 3, neg = (i >> 2) & 1;
      const A = parts(a), B = parts(b), C = parts(c);
      const e = Math.min(A.e + B.e, C.e);
      let p = (A.m * B.m) << BigInt(A.e + B.e - e), q = C.m << BigInt(C.e - e);
      if (A.s ^ B.s) p = -p;
      if (C.s) q = -q;
      if (neg) { p = -p; q = -q; }
      const v = p + q;
      let want: { bits: number; flags: number };
      if (v === 0n) {
        const ps = (A.s ^ B.s ^ neg) === 1, qs = (C.s ^ neg) === 1;
        const zeroes = (A.m === 0n || B.m === 0n) && C.m === 0n && ps === qs;
        want = { bits: (zeroes ? ps : rc === 1) ? 0x8000 : 0, flags: 0 };
      } else want = roundF16(v < 0n ? 1 : 0, v < 0n ? -v : v, 1n, e, rc);
      const den = (h: number): boolean => ((h >> 10) & 0x1f) === 0 && (h & 0x3ff) !== 0;
      if (den(a) || den(b) || den(c)) want.flags |= DE;
      // The kernel's FMA operands: x = operand 1 (dest), y = operand 2, z = operand 3; form 213: y * x + z.
      const got = kernel(neg ? FpKind.Fnmsub : FpKind.Fmadd, H, H, b, a, (rc << MXCSR.RC_SHIFT) | MXCSR.MASKS, c, 1);
      expect(got, `${neg ? 'fnmsub' : 'fmadd'} ${a.toString(16)} ${b.toString(16)} ${c.toString(16)} rc ${rc}`).toEqual([want.bits, want.flags]);
    }
  });
  it('VCMPSH predicates and VCOMISH as exact comparisons with the SSE NaN flags', () => {
    const r = prng(99);
    const val = (h: number): number => { const p = parts(h); return Number(p.m) * 2 ** p.e * (p.s ? -1 : 1); };
    for (let i = 0; i < 5000; i++) {
      const nan = i % 7 === 0;
      const a = nan ? [0x7e00, 0x7d00][i & 1]! : finite16(r), b = finite16(r);
      const pred = [0, 1, 2, 3, 4, 17, 18, 19][i & 7]!; // EQ_OQ LT_OS LE_OS UNORD_Q NEQ_UQ LT_OQ LE_OQ UNORD_S
      const x = nan ? NaN : val(a), y = val(b);
      const un = Number.isNaN(x);
      const want = [x === y, x < y, x <= y, un, un || x !== y, x < y, x <= y, un][i & 7] ? 0xffff : 0;
      const signalling = [1, 2, 19].includes(pred);
      const snan = a === 0x7d00;
      const den = (h: number): boolean => ((h >> 10) & 0x1f) === 0 && (h & 0x3ff) !== 0;
      const flags = un ? (signalling || snan ? IE : 0) : den(a) || den(b) ? DE : 0;
      expect(kernel(FpKind.Cmp, H, H, a, b, MXCSR.MASKS, 0, pred), `${a.toString(16)} ${b.toString(16)} pred ${pred}`).toEqual([want, flags]);
    }
    // COMISH: ZF, PF, CF (0x40, 0x04, 0x01).
    expect(kernel(FpKind.Comi, H, H, 0x3c00, 0x4000, MXCSR.MASKS)).toEqual([0x01, 0]);
    expect(kernel(FpKind.Comi, H, H, 0x4000, 0x4000, MXCSR.MASKS)).toEqual([0x40, 0]);
    expect(kernel(FpKind.Comi, H, H, 0x7e00, 0x4000, MXCSR.MASKS)).toEqual([0x45, IE]);
    expect(kernel(FpKind.Ucomi, H, H, 0x7e00, 0x4000, MXCSR.MASKS)).toEqual([0x45, 0]);
  });
  it('VGETEXPSH, VGETMANTSH, VFPCLASSSH on every fifth binary16 value: floor(log2|x|), the significand in [1, 2) and [1/2, 1), the classes; DAZ not applied', () => {
    for (let h = 0; h < 0x10000; h += 5) {
      const ex = (h >> 10) & 0x1f, f = h & 0x3ff, s = h >> 15;
      const nan = ex === 0x1f && f !== 0, inf = ex === 0x1f && f === 0, zero = ex === 0 && f === 0, den = ex === 0 && f !== 0;
      const mx = MXCSR.MASKS | MXCSR.DAZ;
      const [ge, gf] = kernel(FpKind.Getexp, H, H, h, 0, mx);
      const [gm, mf] = kernel(FpKind.Getmant, H, H, h, 0, mx, 0, 0);
      const [gm2] = kernel(FpKind.Getmant, H, H, h, 0, mx, 0, 2);
      let cls = 0;
      for (let b = 0; b < 8; b++) if (kernel(FpKind.Fpclass, H, H, h, 0, mx, 0, 1 << b)[0]) cls |= 1 << b;
      if (nan) { expect([ge, gm], h.toString(16)).toEqual([h | 0x200, h | 0x200]); expect(cls).toBe(f & 0x200 ? 0x01 : 0x80); continue; }
      if (inf) { expect(ge).toBe(0x7c00); expect(gm).toBe((s << 15) | 0x3c00); expect(cls).toBe(s ? 0x10 : 0x08); continue; }
      if (zero) { expect(ge).toBe(0xfc00); expect(gm).toBe((s << 15) | 0x3c00); expect(cls).toBe(s ? 0x04 : 0x02); continue; }
      const p = parts(h);
      const e = bitlen(p.m) - 1 + p.e; // floor(log2|x|)
      const ev = new DataView(new ArrayBuffer(4)); ev.setFloat32(0, e);
      expect(kernel(FpKind.Cvt16, H, FpType.F32, ge, 0, MXCSR.MASKS)[0] >>> 0, h.toString(16)).toBe(ev.getUint32(0));
      expect(gf).toBe(den ? DE : 0);
      expect(mf).toBe(den ? DE : 0);
      // |x| / 2^e in [1, 2) with x's sign, and half of it for [1/2, 1).
      const sig = Number(p.m) * 2 ** (p.e - e);
      const toH = (v: number): number => kernel(FpKind.Cvt16, FpType.F32, H, (() => { ev.setFloat32(0, v); return ev.getUint32(0); })(), 0, MXCSR.MASKS)[0];
      expect(gm, h.toString(16)).toBe(toH(s ? -sig : sig));
      expect(gm2, h.toString(16)).toBe(toH(s ? -sig / 2 : sig / 2));
      expect(cls).toBe((den ? 0x20 : 0) | (s ? 0x40 : 0));
    }
  });
  it('integers <-> binary16: VCVTW2PH ... VCVTQQ2PH round once by RC; VCVT(T)PH2W ... to integers by RC or truncation, out of range or NaN the integer indefinite with IE', () => {
    const r = prng(31);
    const kernel64 = (kind: FpKind, st: FpType, dt: FpType, v: bigint, mxcsr: number): [bigint, number] => {
      const a = new Uint8Array(8); new DataView(a.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
      const out = new Uint8Array(8);
      const fl = fpRun(fpOp(kind, st, dt), 1, a, null, null, out, mxcsr, 0, 1, 0);
      return [new DataView(out.buffer).getBigUint64(0, true), fl];
    };
    const types: [FpType, number, boolean][] = [[FpType.I16, 16, true], [FpType.U16, 16, false], [FpType.I32, 32, true], [FpType.U32, 32, false], [FpType.I64, 64, true], [FpType.U64, 64, false]];
    for (let i = 0; i < 12000; i++) {
      const [t, bits, signed] = types[i % 6]!;
      const rc = (i >> 3) & 3;
      const mx = (rc << MXCSR.RC_SHIFT) | MXCSR.MASKS;
      // Integer -> binary16: any width-bits value (small, near powers of two, or random).
      let v = BigInt.asUintN(bits, BigInt(Math.floor(r() * 2 ** 32)) << BigInt(Math.floor(r() * Math.max(1, bits - 16))));
      if (i % 5 === 0) v = BigInt.asUintN(bits, BigInt(Math.floor(r() * 140000) - 70000));
      const val = signed ? BigInt.asIntN(bits, v) : v;
      const want = roundF16(val < 0n ? 1 : 0, val < 0n ? -val : val, 1n, 0, rc);
      expect(kernel64(FpKind.Cvt16, t, H, v, mx), `${v} type ${t} rc ${rc}`).toEqual([BigInt(want.bits), want.flags]);
      // binary16 -> integer.
      const h = finite16(r) | (i % 11 === 0 ? 0x7c00 : 0);
      const trunc = (i & 4) !== 0;
      const ex = (h >> 10) & 0x1f;
      const indefinite = signed ? 1n << BigInt(bits - 1) : (1n << BigInt(bits)) - 1n;
      let wantI: bigint, wantF: number;
      if (ex === 0x1f) { wantI = indefinite; wantF = IE; }
      else {
        const p = parts(h);
        // Round m * 2^e to an integer: by truncation or by rc.
        let q: bigint, inexact: boolean;
        if (p.e >= 0) { q = p.m << BigInt(p.e); inexact = false; }
        else {
          const D = 1n << BigInt(-p.e); q = p.m / D; const rem = p.m % D; inexact = rem !== 0n;
          const mode = trunc ? 3 : rc;
          const up = mode === 0 ? 2n * rem > D || (2n * rem === D && (q & 1n) === 1n) : mode === 1 ? p.s === 1 && inexact : mode === 2 ? p.s === 0 && inexact : false;
          if (up) q += 1n;
        }
        const sv = p.s ? -q : q;
        const lo = signed ? -(1n << BigInt(bits - 1)) : 0n, hi = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
        if (sv < lo || sv > hi) { wantI = indefinite; wantF = IE; }
        else { wantI = BigInt.asUintN(bits, sv); wantF = inexact ? PE : 0; }
        if (((h >> 10) & 0x1f) === 0 && (h & 0x3ff) !== 0) wantF |= DE;
      }
      const [gi, gf] = kernel64(trunc ? FpKind.Cvtt16 : FpKind.Cvt16, H, t, BigInt(h), mx);
      expect([BigInt.asUintN(bits, gi), gf], `${h.toString(16)} -> type ${t} ${trunc ? 'trunc' : `rc ${rc}`}`).toEqual([wantI, wantF]);
    }
  });
  it('NaN, infinity and zero rules as SSE has them (SDM Vol. 1 Table 4-7, 4.9.1.2), and MIN/MAX return src2 on NaN or equal zeros', () => {
    const M = MXCSR.MASKS;
    const k = (kind: FpKind, x: number, y: number): [number, number] => kernel(kind, H, H, x, y, M);
    expect(k(FpKind.Add, 0x7e01, 0x7c02)).toEqual([0x7e01, IE]); // QNaN src1, SNaN src2: src1, IE
    expect(k(FpKind.Add, 0x7c02, 0x7e01)).toEqual([0x7e02, IE]); // SNaN src1: quieted
    expect(k(FpKind.Add, 0x3c00, 0xfe03)).toEqual([0xfe03, 0]);
    expect(k(FpKind.Sub, 0x7c00, 0x7c00)).toEqual([0xfe00, IE]); // INF - INF: the indefinite
    expect(k(FpKind.Mul, 0x0000, 0xfc00)).toEqual([0xfe00, IE]);
    expect(k(FpKind.Div, 0x3c00, 0x8000)).toEqual([0xfc00, ZE]);
    expect(k(FpKind.Div, 0x0000, 0x0000)).toEqual([0xfe00, IE]);
    expect(k(FpKind.Sqrt, 0xbc00, 0)).toEqual([0xfe00, IE]);
    expect(k(FpKind.Sqrt, 0x8000, 0)).toEqual([0x8000, 0]);
    expect(k(FpKind.Min, 0x0000, 0x8000)).toEqual([0x8000, 0]);
    expect(k(FpKind.Max, 0x8000, 0x0000)).toEqual([0x0000, 0]);
    expect(k(FpKind.Min, 0x7e00, 0x3c00)).toEqual([0x3c00, IE]);
    expect(k(FpKind.Max, 0x3c00, 0x4000)).toEqual([0x4000, 0]);
    expect(k(FpKind.Min, 0x0001, 0x3c00)).toEqual([0x0001, DE]); // a denormal operand: DE (assumed), never flushed
  });
  it('conversions: binary32 -> binary16 rounds once by RC (reference), binary16 -> binary32 is exact, SNaN quieted with IE', () => {
    const r = prng(5);
    const f32 = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < 20000; i++) {
      const e = Math.floor(r() * 60) + 127 - 40, s = r() < 0.5 ? 1 : 0;
      const bits = ((s << 31) | (e << 23) | Math.floor(r() * 0x800000)) >>> 0;
      const rc = i & 3;
      f32.setUint32(0, bits);
      // binary32 value = (1.m) * 2^(e-127) = (0x800000 | m) * 2^(e - 150).
      const want = roundF16(s, BigInt((bits & 0x7fffff) | 0x800000), 1n, e - 150, rc);
      expect(kernel(FpKind.Cvt16, FpType.F32, H, bits, 0, (rc << MXCSR.RC_SHIFT) | MXCSR.MASKS), bits.toString(16)).toEqual([want.bits, want.flags]);
    }
    for (let h = 0; h < 0x10000; h += 7) {
      const ex = (h >> 10) & 0x1f;
      if (ex === 0x1f) continue;
      const p = parts(h);
      const v = Number(p.m) * 2 ** p.e * (p.s ? -1 : 1);
      f32.setFloat32(0, v === 0 && p.s ? -0 : v);
      const [bits, flags] = kernel(FpKind.Cvt16, H, FpType.F32, h, 0, MXCSR.MASKS);
      expect(bits >>> 0).toBe(f32.getUint32(0));
      expect(flags).toBe(ex === 0 && (h & 0x3ff) ? DE : 0);
    }
    expect(kernel(FpKind.Cvt16, H, FpType.F32, 0x7c01, 0, MXCSR.MASKS)).toEqual([0x7fc02000, IE]);
    // The payload's top 10 bits, quieted: as this host's F16C VCVTPS2PH converts 0x7f812345 (measured: 0x7e09).
    expect(kernel(FpKind.Cvt16, FpType.F32, H, 0x7f812345, 0, MXCSR.MASKS)).toEqual([0x7e09, IE]);
    expect(kernel(FpKind.Cvt16, FpType.F32, H, 0x00000001, 0, MXCSR.MASKS | MXCSR.DAZ)).toEqual([0, 0]); // the binary32 source follows DAZ
  });
});

describe('AVX512-FP16 instructions on the model (intel-sapphire-rapids)', () => {
  const cpu = loadBuiltinQuietly('intel-sapphire-rapids');
  const ctx = new XsaveContext(cpu);
  ctx.xcr0 = cpu.xcr0Supported;
  const vec = new VectorFile(ctx.regs);
  const env: ExecEnv = {
    vec, getGpr: () => 0n, setGpr: () => {}, readMem: () => { throw new Error('no memory'); }, writeMem: () => { throw new Error('no memory'); },
    setStatusFlags: () => {}, segmentBase: () => 0n,
  };
  const roundTrip = (ins: Instruction): Instruction => {
    const e = new Encoder(64); e.encode(ins, 0n); const b = e.takeBuffer(); e.free();
    const d = new Decoder(64, b, DecoderOptions.None); const out = d.decode(); d.free(); return out;
  };
  it('VADDPH zmm{k}{z}: 32 elements, each as the kernel computes it, masked-off ones zero; VCVTSS2SH keeps src1 bits 127:16 and zeroes the rest', () => {
    const r = prng(77);
    const a = new Uint8Array(64), b = new Uint8Array(64);
    const da = new DataView(a.buffer), db = new DataView(b.buffer);
    for (let i = 0; i < 32; i++) { da.setUint16(2 * i, finite16(r), true); db.setUint16(2 * i, finite16(r), true); }
    vec.regs.mxcsr = MXCSR.MASKS;
    vec.write(1, a, UpperBits.Zero, WriteKind.Compute);
    vec.write(2, b, UpperBits.Zero, WriteKind.Compute);
    const mask = 0xdeadbeefn;
    vec.writeK(3, mask, WriteKind.Compute);
    const ins = Instruction.createRegRegReg(Code.EVEX_Vaddph_zmm_k1z_zmm_zmmm512b16_er, Register.ZMM0, Register.ZMM1, Register.ZMM2);
    ins.opMask = Register.K3; ins.zeroingMasking = true;
    expect(emulateVector(roundTrip(ins), env)).toBe(true);
    const out = new DataView(vec.read(0, 64).slice().buffer);
    let flags = 0;
    for (let i = 0; i < 32; i++) {
      const on = (mask >> BigInt(i)) & 1n;
      const [bits, fl] = kernel(FpKind.Add, H, H, da.getUint16(2 * i, true), db.getUint16(2 * i, true), MXCSR.MASKS);
      expect(out.getUint16(2 * i, true), `element ${i}`).toBe(on ? bits : 0);
      if (on) flags |= fl;
    }
    expect(vec.regs.mxcsr & MXCSR.FLAGS).toBe(flags);
    const x = new Uint8Array(64).fill(0x5a);
    new DataView(x.buffer).setUint32(0, 0x3fc00000, true); // 1.5 in xmm4's element 0 (the source)
    vec.write(4, x, UpperBits.Zero, WriteKind.Compute);
    const cvt = Instruction.createRegRegReg(Code.EVEX_Vcvtss2sh_xmm_k1z_xmm_xmmm32_er, Register.XMM5, Register.XMM1, Register.XMM4);
    expect(emulateVector(roundTrip(cvt), env)).toBe(true);
    const got = vec.read(5, 64);
    expect(new DataView(got.buffer, got.byteOffset).getUint16(0, true)).toBe(0x3e00);
    expect([...got.subarray(2, 16)]).toEqual([...a.subarray(2, 16)]);
    expect([...got.subarray(16)].every((v) => v === 0)).toBe(true);
  });
});

/* ------------------------------------------------------------ the remaining AVX512-FP16 operations */

/** A finite binary16 or an exact intermediate: (-1)^s * m * 2^e. */
interface Exact { s: number; m: bigint; e: number }
/** A signed exact sum of terms (m may be 0): [numerator, exponent]. */
function sumOf(terms: Exact[]): [bigint, number] {
  const e = Math.min(...terms.map((t) => t.e));
  let v = 0n;
  for (const t of terms) v += (t.s ? -t.m : t.m) << BigInt(t.e - e);
  return [v, e];
}
const isDen = (h: number): boolean => ((h >> 10) & 0x1f) === 0 && (h & 0x3ff) !== 0;
const isInf16 = (h: number): boolean => (h & 0x7fff) === 0x7c00;

/**
 * One step of a complex multiply as the SDM's pseudo-code states it (VFMULCPH: "rounding is
 * performed at every FMA boundary"): addend + sign * x * y rounded once to binary16 under rc, with
 * the masked flags; the addend may be infinite (an earlier step overflowed), x and y finite.
 */
function fmaStep(addend: number | null, x: number, y: number, negate: boolean, rc: number): { bits: number; flags: number } {
  const X = parts(x), Y = parts(y);
  let de = isDen(x) || isDen(y) ? DE : 0;
  const ps = X.s ^ Y.s ^ (negate ? 1 : 0);
  const p: Exact = { s: ps, m: X.m * Y.m, e: X.e + Y.e };
  if (addend !== null && isInf16(addend)) return { bits: addend, flags: de };
  if (addend !== null && isDen(addend)) de |= DE;
  const terms = addend === null ? [p] : [p, parts(addend)];
  const [v, e] = sumOf(terms);
  if (v === 0n) {
    // An exact zero (IEEE 754-2008 6.3): a product alone keeps its sign; zeros of one sign keep it; else +0, -0 rounding down.
    if (addend === null) return { bits: ps << 15, flags: de };
    const A = parts(addend);
    const bothZero = p.m === 0n && A.m === 0n;
    return { bits: (bothZero && A.s === ps ? ps === 1 : rc === 1) ? 0x8000 : 0, flags: de };
  }
  const r = roundF16(v < 0n ? 1 : 0, v < 0n ? -v : v, 1n, e, rc);
  return { bits: r.bits, flags: r.flags | de };
}
/** VFMULCPH (conj false) / VFCMULCPH, accumulating into (c0, c1) for VFMADDCPH / VFCMADDCPH. */
function complexReference(a: [number, number], b: [number, number], c: [number, number] | null, conj: boolean, rc: number): { re: number; im: number; flags: number } {
  const t0 = fmaStep(c ? c[0] : null, a[0], b[0], false, rc), t1 = fmaStep(c ? c[1] : null, a[1], b[0], false, rc);
  const re = fmaStep(t0.bits, a[1], b[1], !conj, rc), im = fmaStep(t1.bits, a[0], b[1], conj, rc);
  return { re: re.bits, im: im.bits, flags: t0.flags | t1.flags | re.flags | im.flags };
}

/** x rounded to a multiple of 2^-M by rc (0 even, 1 down, 2 up, 3 toward zero): [the multiple as q * 2^-M, inexact]. */
function roundToMultiple(h: number, M: number, rc: number): [bigint, boolean] {
  const p = parts(h);
  const k = p.e + M;
  if (k >= 0) return [p.m << BigInt(k), false];
  const D = 1n << BigInt(-k);
  let q = p.m / D;
  const rem = p.m % D;
  const up = rc === 0 ? 2n * rem > D || (2n * rem === D && (q & 1n) === 1n) : rc === 1 ? p.s === 1 && rem !== 0n : rc === 2 ? p.s === 0 && rem !== 0n : false;
  if (up) q += 1n;
  return [q, rem !== 0n];
}
/** The binary16 bits of a value known to be representable: (-1)^s q 2^-M. */
function exactF16(s: number, q: bigint, M: number): number {
  return q === 0n ? s << 15 : roundF16(s, q, 1n, -M, 0).bits;
}

/** VRNDSCALESH of a binary16 (SDM Vol. 2C VRNDSCALEPH): [bits, flags]; rcMx MXCSR.RC, um UE unmasked. */
function rndscaleRef(h: number, imm: number, rcMx: number, um: boolean): [number, number] {
  const M = imm >> 4, rc = imm & 4 ? rcMx : imm & 3;
  if (((h >> 10) & 0x1f) === 0x1f) return [h | ((h & 0x3ff) ? 0x200 : 0), (h & 0x3ff) && !(h & 0x200) ? IE : 0];
  const [q, inexact] = roundToMultiple(h, M, rc);
  const bits = exactF16(h >> 15, q, M);
  const ue = isDen(bits) && (inexact || um) ? UE : 0;
  return [bits, (inexact && !(imm & 8) ? PE : 0) | ue];
}
/** VREDUCESH (SDM Vol. 2C VREDUCEPH): [bits, flags]; noPe: quirk vreduce-no-precision (the rounding step's PE not reported). */
function reduceRef(h: number, imm: number, rcMx: number, noPe = false): [number, number] {
  const M = imm >> 4, rc = imm & 4 ? rcMx : imm & 3;
  const ex = (h >> 10) & 0x1f;
  if (ex === 0x1f && (h & 0x3ff)) return [h | 0x200, h & 0x200 ? 0 : IE];
  if (ex === 0x1f) return [0, 0];
  const [q, inexact] = roundToMultiple(h, M, rc);
  const p = parts(h);
  const [v, e] = sumOf([{ s: p.s, m: p.m, e: p.e }, { s: 1 - p.s, m: q, e: -M }]);
  let bits: number, pe = inexact && !noPe;
  if (v === 0n) bits = rc === 1 ? 0x8000 : 0;
  else { const rr = roundF16(v < 0n ? 1 : 0, v < 0n ? -v : v, 1n, e, rc); bits = rr.bits; pe ||= (rr.flags & PE) !== 0; }
  return [bits, pe && !(imm & 8) ? PE : 0];
}
/** VSCALEFSH of finite x, y (SDM Vol. 2C VSCALEFPH): x * 2^floor(y) rounded once; DE for a denormal x. */
function scalefRef(x: number, y: number, rc: number, unmasked = false): { bits: number; flags: number } {
  const X = parts(x), Y = parts(y);
  let n: bigint;
  if (Y.e >= 0) n = Y.m << BigInt(Y.e);
  else { const D = 1n << BigInt(-Y.e); n = Y.m / D; if (Y.s && Y.m % D !== 0n) n += 1n; }
  if (Y.s) n = -n;
  const want = X.m === 0n ? { bits: x, flags: 0 } : roundF16(X.s, X.m, 1n, X.e + Number(n), rc, unmasked);
  if (isDen(x)) want.flags |= DE;
  return want;
}
/** VRCPSH / VRSQRTSH under the named assumption: the exact value rounded to nearest; the special cases of SDM Tables 5-26 and 5-38. */
function approxRef(h: number, rsqrt: boolean): number {
  const ex = (h >> 10) & 0x1f, s = h >> 15;
  if (ex === 0x1f && (h & 0x3ff)) return h | 0x200;
  if ((h & 0x7fff) === 0) return (s << 15) | 0x7c00;
  if (rsqrt && s) return 0xfe00;
  if (ex === 0x1f) return s << 15;
  const p = parts(h);
  if (!rsqrt) return roundF16(s, 1n, p.m, -p.e, 0).bits;
  let m = p.m, e = p.e;
  if (e & 1) { m <<= 1n; e -= 1; }
  // 1/sqrt(m) = sqrt(2^(2T) / m) * 2^-T; floor(sqrt(floor(N/m))) = floor(sqrt(N/m)).
  const T = 60, N = 1n << BigInt(2 * T);
  const q = isqrt(N / m);
  return roundF16(0, 2n * q + (q * q * m === N ? 0n : 1n), 2n, -T - e / 2, 0).bits;
}

describe('the remaining AVX512-FP16 operations against an exact reference', () => {
  it('VFMULCPH, VFCMULCPH, VFMADDCPH, VFCMADDCPH: each step rounded once (SDM pseudo-code), masked flags in every rounding mode, 24,000 pairs', () => {
    const r = prng(4242);
    let compared = 0;
    for (let i = 0; i < 24000; i++) {
      const a: [number, number] = [finite16(r), finite16(r)], b: [number, number] = [finite16(r), finite16(r)];
      const acc = (i & 4) !== 0, conj = (i & 8) !== 0, rc = i & 3;
      const c: [number, number] | null = acc ? [finite16(r), finite16(r)] : null;
      const want = complexReference(a, b, c, conj, rc);
      const buf = (v: number[]): Uint8Array => { const u = new Uint8Array(4); const dv = new DataView(u.buffer); dv.setUint16(0, v[0]!, true); dv.setUint16(2, v[1]!, true); return u; };
      const out = new Uint8Array(4);
      // Unmasked exceptions change nothing: execution is as if all were masked.
      const mx = (rc << MXCSR.RC_SHIFT) | (i % 3 === 0 ? 0 : MXCSR.MASKS) | (i % 5 === 0 ? MXCSR.DAZ | MXCSR.FTZ : 0);
      const flags = fpRun(fpOp(FpKind.Cmul, H), 1, buf(a), buf(b), c ? buf(c) : null, out, mx, (conj ? 1 : 0) | (acc ? 2 : 0), 1, 0);
      const dv = new DataView(out.buffer);
      expect({ re: dv.getUint16(0, true), im: dv.getUint16(2, true), flags }, `${acc ? 'madd' : 'mul'}${conj ? ' conj' : ''} a ${a.map((v) => v.toString(16))} b ${b.map((v) => v.toString(16))} c ${c?.map((v) => v.toString(16))} rc ${rc}`).toEqual(want);
      compared++;
    }
    expect(compared).toBe(24000);
  });
  it('VRNDSCALESH: every binary16 value, M 0-15, every rounding control and SPE: the multiple of 2^-M, PE, UE for a denormal result (inexact, or UE unmasked), IE for an SNaN', () => {
    let checked = 0;
    for (let h = 0; h < 0x10000; h += 3) {
      const imm = ((h >> 2) & 0xf0) | (h & 0xf);
      const rcMx = (h >> 8) & 3, um = (h & 0x100) !== 0;
      const mx = (rcMx << MXCSR.RC_SHIFT) | (um ? MXCSR.MASKS & ~(UE << MXCSR.MASK_SHIFT) : MXCSR.MASKS) | MXCSR.DAZ | MXCSR.FTZ;
      const want = rndscaleRef(h, imm, rcMx, um);
      expect(kernel(FpKind.Rndscale, H, H, h, 0, mx, 0, imm), `${h.toString(16)} imm ${imm.toString(16)} rc ${rcMx}`).toEqual(want);
      checked++;
    }
    expect(checked).toBeGreaterThan(21000);
  });
  it('VREDUCESH: every binary16 value: x - round(2^M x) 2^-M rounded to binary16 by the same control (PE for either rounding unless SPE, no UE), +0 for infinities, QNaN for NaNs', () => {
    for (let h = 0; h < 0x10000; h += 3) {
      const imm = ((h << 3) & 0xf0) | ((h >> 4) & 0xf);
      const rcMx = (h >> 9) & 3;
      const mx = (rcMx << MXCSR.RC_SHIFT) | MXCSR.MASKS & ~(UE << MXCSR.MASK_SHIFT) | MXCSR.DAZ | MXCSR.FTZ;
      const want = reduceRef(h, imm, rcMx);
      expect(kernel(FpKind.Reduce, H, H, h, 0, mx, 0, imm), `${h.toString(16)} imm ${imm.toString(16)} rc ${rcMx}`).toEqual(want);
    }
  });
  it('VSCALEFSH: x * 2^floor(y) rounded once, every rounding mode, masked and with UE/OE unmasked, 20,000 pairs; DE for a denormal x only', () => {
    const r = prng(707);
    for (let i = 0; i < 20000; i++) {
      const x = finite16(r);
      // Scales across the whole range, fractional ones included.
      const y = i & 1 ? finite16(r) : ((r() < 0.5 ? 0x8000 : 0) | ((15 + Math.floor(r() * 6)) << 10) | Math.floor(r() * 0x400));
      const rc = i & 3, unmasked = (i >> 2) % 3 === 2;
      const mx = (rc << MXCSR.RC_SHIFT) | (unmasked ? MXCSR.MASKS & ~((UE | OE) << MXCSR.MASK_SHIFT) : MXCSR.MASKS) | (i % 7 === 0 ? MXCSR.DAZ | MXCSR.FTZ : 0);
      const want = scalefRef(x, y, rc, unmasked);
      const [bits, flags] = kernel(FpKind.Scalef, H, H, x, y, mx);
      const delivered = !(unmasked && want.flags & (UE | OE));
      expect({ bits: delivered ? bits : 0, flags }, `${x.toString(16)} * 2^floor(${y.toString(16)}) rc ${rc}${unmasked ? ' unmasked' : ''}`).toEqual(want);
    }
    // Table 5-41: the special cases.
    const M = MXCSR.MASKS;
    expect(kernel(FpKind.Scalef, H, H, 0x7e01, 0x7c00, M)).toEqual([0x7c00, 0]); // QNaN, +INF: +INF
    expect(kernel(FpKind.Scalef, H, H, 0x7e01, 0xfc00, M)).toEqual([0x0000, 0]); // QNaN, -INF: +0
    expect(kernel(FpKind.Scalef, H, H, 0x7c00, 0xfc00, M)).toEqual([0xfe00, IE]); // INF * 2^-INF: indefinite
    expect(kernel(FpKind.Scalef, H, H, 0x0000, 0x7c00, M)).toEqual([0xfe00, IE]); // 0 * 2^INF: indefinite
    expect(kernel(FpKind.Scalef, H, H, 0x3c00, 0x7d00, M)).toEqual([0x7f00, IE]); // SNaN src2: quieted, IE
    expect(kernel(FpKind.Scalef, H, H, 0x0001, 0x7e00, M)).toEqual([0x7e00, 0]); // a denormal beside a NaN: no DE
    expect(kernel(FpKind.Scalef, H, H, 0xbc00, 0x7c00, M)).toEqual([0xfc00, 0]); // -1 * 2^+INF: -INF
  });
  it('VRCPSH, VRSQRTSH on every binary16 value: the exact reciprocal (square root) rounded to nearest (the named assumption), the special cases of SDM Tables 5-26 and 5-38, no flags', () => {
    for (let h = 0; h < 0x10000; h++) {
      const mx = MXCSR.MASKS & ~(0x3f << MXCSR.MASK_SHIFT) | (3 << MXCSR.RC_SHIFT) | MXCSR.DAZ | MXCSR.FTZ; // neither RC, DAZ, FTZ nor the masks matter
      const rcp = approxRef(h, false), rsq = approxRef(h, true);
      expect(kernel(FpKind.Rcp, H, H, h, 0, mx), `rcp ${h.toString(16)}`).toEqual([rcp, 0]);
      expect(kernel(FpKind.Rsqrt, H, H, h, 0, mx), `rsqrt ${h.toString(16)}`).toEqual([rsq, 0]);
    }
    // The tables' rows: X <= 2^-16 gives INF; 2^-n gives 2^n exactly.
    expect(kernel(FpKind.Rcp, H, H, 0x0100, 0, MXCSR.MASKS)[0]).toBe(0x7c00); // 2^-16 (256 * 2^-24)
    expect(kernel(FpKind.Rcp, H, H, 0x0101, 0, MXCSR.MASKS)[0]).toBe(0x7bf8); // just above: 2^24 / 257 = 65281 - e, 65280
    expect(kernel(FpKind.Rsqrt, H, H, 0x2c00, 0, MXCSR.MASKS)[0]).toBe(0x4400); // 2^-4 -> 2^2
  });
});

describe('the complex multiplies and approximations on the model (intel-sapphire-rapids)', () => {
  const cpu = loadBuiltinQuietly('intel-sapphire-rapids');
  const ctx = new XsaveContext(cpu);
  ctx.xcr0 = cpu.xcr0Supported;
  const vec = new VectorFile(ctx.regs);
  const MEM = 0x1000n;
  const mem = new Uint8Array(64);
  const env: ExecEnv = {
    vec, getGpr: () => 0n, setGpr: () => {},
    readMem: (a, n) => { const o = Number(a - MEM); if (o < 0 || o + n > mem.length) throw new Error(`read outside the test memory at ${a}`); return mem.slice(o, o + n); },
    writeMem: () => { throw new Error('no memory writes'); },
    setStatusFlags: () => {}, segmentBase: () => 0n,
  };
  const roundTrip = (ins: Instruction): Instruction => {
    const e = new Encoder(64); e.encode(ins, 0n); const b = e.takeBuffer(); e.free();
    const d = new Decoder(64, b, DecoderOptions.None); const out = d.decode(); d.free(); return out;
  };
  const r = prng(31337);
  const fill = (reg: number): Uint8Array => {
    const v = new Uint8Array(64); const dv = new DataView(v.buffer);
    for (let i = 0; i < 32; i++) dv.setUint16(2 * i, finite16(r), true);
    vec.write(reg, v, UpperBits.Zero, WriteKind.Compute);
    return v;
  };
  /** One pair through the kernel. */
  const pair = (a: Uint8Array, b: Uint8Array, c: Uint8Array | null, i: number, bi: number, imm: number, mx: number): [Uint8Array, number] => {
    const out = new Uint8Array(4);
    const fl = fpRun(fpOp(FpKind.Cmul, H), 1, a.slice(4 * i, 4 * i + 4), b.slice(4 * bi, 4 * bi + 4), c ? c.slice(4 * i, 4 * i + 4) : null, out, mx, imm, 1, 0);
    return [out, fl];
  };
  it('VFMULCPH zmm{k}{z} and VFCMADDCPH zmm{k} with a broadcast pair: 16 pairs masked per pair, flags recorded without #XM although every exception is unmasked', () => {
    const a = fill(1), b = fill(2), d0 = fill(6);
    const mask = 0xa5c3n;
    vec.writeK(3, mask, WriteKind.Compute);
    vec.regs.mxcsr = 0; // every exception unmasked, round to nearest
    const ins = Instruction.createRegRegReg(Code.EVEX_Vfmulcph_zmm_k1z_zmm_zmmm512b32_er, Register.ZMM0, Register.ZMM1, Register.ZMM2);
    ins.opMask = Register.K3; ins.zeroingMasking = true;
    expect(emulateVector(roundTrip(ins), env)).toBe(true);
    let out = vec.read(0, 64).slice();
    let flags = 0;
    for (let i = 0; i < 16; i++) {
      const on = (mask >> BigInt(i)) & 1n;
      const [want, fl] = pair(a, b, null, i, i, 0, 0);
      expect([...out.subarray(4 * i, 4 * i + 4)], `pair ${i}`).toEqual(on ? [...want] : [0, 0, 0, 0]);
      if (on) flags |= fl;
    }
    expect(flags & (PE | DE)).not.toBe(0); // random operands: something inexact or denormal was seen
    expect(vec.regs.mxcsr & MXCSR.FLAGS).toBe(flags);
    // VFCMADDCPH zmm6{k3}, zmm1, dword bcst [MEM]: the pair at MEM for every pair, zmm6 accumulated, masked-off pairs kept.
    mem.set(b.subarray(8, 12), 0);
    vec.regs.mxcsr = MXCSR.MASKS | (2 << MXCSR.RC_SHIFT);
    const bc = Instruction.createRegRegMem(Code.EVEX_Vfcmaddcph_zmm_k1z_zmm_zmmm512b32_er, Register.ZMM6, Register.ZMM1, new MemoryOperand(Register.None, Register.None, 1, MEM, 8, true, Register.None));
    bc.opMask = Register.K3;
    expect(emulateVector(roundTrip(bc), env)).toBe(true);
    out = vec.read(6, 64).slice();
    for (let i = 0; i < 16; i++) {
      const on = (mask >> BigInt(i)) & 1n;
      const [want] = pair(a, b, d0, i, 2, 3, MXCSR.MASKS | (2 << MXCSR.RC_SHIFT));
      expect([...out.subarray(4 * i, 4 * i + 4)], `pair ${i}`).toEqual(on ? [...want] : [...d0.subarray(4 * i, 4 * i + 4)]);
    }
  });
  it('VFMADDCSH: pair 0 accumulated, bits 127:32 from src1, merge keeps the destination pair; #UD when the destination is a source', () => {
    const a = fill(1), b = fill(2), d = fill(5);
    vec.regs.mxcsr = MXCSR.MASKS;
    vec.writeK(1, 0n, WriteKind.Compute);
    const ins = Instruction.createRegRegReg(Code.EVEX_Vfmaddcsh_xmm_k1z_xmm_xmmm32_er, Register.XMM5, Register.XMM1, Register.XMM2);
    expect(emulateVector(roundTrip(ins), env)).toBe(true);
    let got = vec.read(5, 64).slice();
    expect([...got.subarray(0, 4)]).toEqual([...pair(a, b, d, 0, 0, 2, MXCSR.MASKS)[0]]);
    expect([...got.subarray(4, 16)]).toEqual([...a.subarray(4, 16)]);
    expect(got.subarray(16).every((v) => v === 0)).toBe(true);
    const prev = got.slice(0, 4);
    ins.opMask = Register.K1; // k1[0] = 0: merge
    expect(emulateVector(roundTrip(ins), env)).toBe(true);
    got = vec.read(5, 64).slice();
    expect([...got.subarray(0, 4)]).toEqual([...prev]);
    for (const [dst, s1, s2] of [[Register.XMM1, Register.XMM1, Register.XMM2], [Register.XMM2, Register.XMM1, Register.XMM2]]) {
      const bad = Instruction.createRegRegReg(Code.EVEX_Vfmaddcsh_xmm_k1z_xmm_xmmm32_er, dst!, s1!, s2!);
      // iced-x86's decoder knows the rule: such bytes decode as no instruction (the machine's #UD).
      expect(roundTrip(bad).code).toBe(Code.INVALID);
      expect(() => emulateVector(bad, env)).toThrow(/destination register is also a source/);
    }
    const badZ = Instruction.createRegRegReg(Code.EVEX_Vfmulcph_zmm_k1z_zmm_zmmm512b32_er, Register.ZMM7, Register.ZMM1, Register.ZMM7);
    expect(roundTrip(badZ).code).toBe(Code.INVALID);
    expect(() => emulateVector(badZ, env)).toThrow(CpuFault);
  });
  it('VRCPPH, VRNDSCALEPH, VREDUCEPH, VSCALEFPH zmm: each element as the kernel computes it', () => {
    const a = fill(1), b = fill(2);
    vec.regs.mxcsr = MXCSR.MASKS;
    for (const [code, kind, imm, two] of [
      [Code.EVEX_Vrcpph_zmm_k1z_zmmm512b16, FpKind.Rcp, 0, false],
      [Code.EVEX_Vrndscaleph_zmm_k1z_zmmm512b16_imm8_sae, FpKind.Rndscale, 0x31, false],
      [Code.EVEX_Vreduceph_zmm_k1z_zmmm512b16_imm8_sae, FpKind.Reduce, 0x22, false],
      [Code.EVEX_Vscalefph_zmm_k1z_zmm_zmmm512b16_er, FpKind.Scalef, 0, true],
    ] as const) {
      const real = two ? Instruction.createRegRegReg(code, Register.ZMM0, Register.ZMM1, Register.ZMM2)
        : kind === FpKind.Rcp ? Instruction.createRegReg(code, Register.ZMM0, Register.ZMM1) : Instruction.createRegRegU32(code, Register.ZMM0, Register.ZMM1, imm);
      expect(emulateVector(roundTrip(real), env)).toBe(true);
      const want = new Uint8Array(64);
      // VRCPPH: the host's own instruction when it has AVX512-FP16 and is the profile's vendor (sse-float.c F16_APPROX_HOST).
      const onHost = kind === FpKind.Rcp && hostHasAvx512fp16() && hostVendor() === cpu.profile.vendor;
      fpRun(fpOp(kind, H), 32, a, two ? b : null, null, want, MXCSR.MASKS, onHost ? 0x100 : imm, -1, 0);
      expect([...vec.read(0, 64)], FpKind[kind]).toEqual([...want]);
    }
  });
});

describe('a guest built with gcc -mavx512fp16 intrinsics under exec --cpu intel-sapphire-rapids', () => {
  const ROOT = join(import.meta.dirname, '..');
  const tmp = mkdtempSync(join(tmpdir(), 'xstate-lab-fp16-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  it('test/guests/vector-float/fp16-rest.c: every result and the MXCSR flags of every line equal the exact reference (no host here can run it natively)', () => {
    const exe = join(tmp, 'fp16-rest');
    const cc = spawnSync('gcc', ['-O2', '-mavx512fp16', '-mavx512vl', '-static', '-o', exe, join(ROOT, 'test/guests/vector-float/fp16-rest.c')], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli.js'), 'exec', '--cpu', 'intel-sapphire-rapids', exe], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const spr = loadBuiltinQuietly('intel-sapphire-rapids');
    const noPe = spr.hasQuirk(Quirk.VreduceNoPrecision);
    // A host with AVX512-FP16 runs the guest natively too, and computes VRCPPH/VRSQRTPH itself when it is the profile's vendor.
    const native = hostHasAvx512fp16();
    const approxOnHost = native && hostVendor() === spr.profile.vendor;
    if (native) {
      const n = spawnSync(exe, [], { encoding: 'utf8' });
      expect(r.stdout, 'exec output differs from the native run').toBe(n.stdout);
    } else console.log('the host lacks AVX512-FP16: fp16-rest.c is checked against the reference only');
    const lines = r.stdout.trim().split('\n');
    const counts = new Map<string, number>();
    for (const line of lines) {
      const t = line.split(' ');
      const name = t[0]!, imm = parseInt(t[1]!, 16), rc = Number(t[2]);
      const v = t.slice(3, 27).map((x) => parseInt(x, 16));
      const a = v.slice(0, 8), b = v.slice(8, 16), c = v.slice(16, 24);
      expect(t[27]).toBe('->');
      const got = { r: t.slice(28, 36).map((x) => parseInt(x, 16)), flags: parseInt(t[36]!, 16) };
      const want = { r: new Array<number>(8).fill(0), flags: 0 };
      const cmul = (pairs: number, conj: boolean, acc: boolean): void => {
        for (let i = 0; i < pairs; i++) {
          const x = complexReference([a[2 * i]!, a[2 * i + 1]!], [b[2 * i]!, b[2 * i + 1]!], acc ? [c[2 * i]!, c[2 * i + 1]!] : null, conj, rc);
          want.r[2 * i] = x.re; want.r[2 * i + 1] = x.im; want.flags |= x.flags;
        }
        for (let i = 2 * pairs; i < 8; i++) want.r[i] = a[i]!; // the SH forms: bits 127:32 from src1
      };
      const each = (f: (i: number) => [number, number], upper?: number[]): void => {
        for (let i = 0; i < (upper ? 1 : 8); i++) { const [bits, fl] = f(i); want.r[i] = bits; want.flags |= fl; }
        if (upper) for (let i = 1; i < 8; i++) want.r[i] = upper[i]!;
      };
      const scal = (i: number): [number, number] => { const s = scalefRef(a[i]!, b[i]!, rc); return [s.bits, s.flags]; };
      switch (name) {
        case 'fmulc': cmul(4, false, false); break;
        case 'fcmulc': cmul(4, true, false); break;
        case 'fmaddc': cmul(4, false, true); break;
        case 'fcmaddc': cmul(4, true, true); break;
        case 'fmulcsh': cmul(1, false, false); break;
        case 'fcmaddcsh': cmul(1, true, true); break;
        // The named assumption, unless the host's own instruction computed them (then compared natively above).
        case 'rcp': if (approxOnHost) continue; each((i) => [approxRef(a[i]!, false), 0]); break;
        case 'rsqrt': if (approxOnHost) continue; each((i) => [approxRef(a[i]!, true), 0]); break;
        case 'rcpsh': if (approxOnHost) continue; each(() => [approxRef(a[0]!, false), 0], b); break;
        case 'scalef': each(scal); break;
        case 'scalefsh': each(scal, a); break;
        case 'rndscale': each((i) => rndscaleRef(a[i]!, imm, rc, false)); break;
        case 'rndscalesh': each(() => rndscaleRef(a[0]!, imm, rc, false), b); break;
        case 'reduce': each((i) => reduceRef(a[i]!, imm, rc, noPe)); break;
        case 'reducesh': each(() => reduceRef(a[0]!, imm, rc, noPe), b); break;
        default: throw new Error(`fp16-rest.c: unknown line ${line}`);
      }
      expect(got, line).toEqual(want);
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    console.log(`fp16-rest.c under exec: ${lines.length} lines equal the reference (${[...counts].map(([n, k]) => `${n} ${k}`).join(', ')})`);
    expect(lines.length).toBe(40 * 21);
  }, 300_000);
});
