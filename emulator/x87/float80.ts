/**
 * Extended-precision arithmetic as the x87 FPU defines it (SDM Vol. 1 chapter 4: 4.2 data types,
 * 4.8 real numbers and encodings, 4.9 floating-point exceptions; chapter 8.1.5.2-3 precision and
 * rounding control), exact in BigInt: every result is the exact value rounded once.
 *
 * A value is the 80-bit register format: sign, 15-bit biased exponent, 64-bit significand with an
 * explicit integer bit (SDM Vol. 1 Figure 4-3).
 */

export interface F80 { sign: number; exp: number; sig: bigint }

/** Exception flags, FSW bits 5:0 (SDM Vol. 1 8.1.3.1). */
export const enum Exc { IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32 }

/** RC, FCW bits 11:10 (SDM Vol. 1 Table 4-8). */
export const enum Rounding { Nearest = 0, Down = 1, Up = 2, Chop = 3 }

/** Operand classes (SDM Vol. 1 Table 8-3 and 8.2.2 for the unsupported encodings). */
export const enum Kind { Zero, Denormal, Normal, Infinity, QNaN, SNaN, Unsupported }

export const EXP_MAX = 0x7fff;
export const EXP_BIAS = 16383;
const INT_BIT = 1n << 63n;
const QUIET_BIT = 1n << 62n;
const SIG_MASK = (1n << 64n) - 1n;

/** Real indefinite: the QNaN that masked invalid operations produce (SDM Vol. 1 Table 4-3). */
export const INDEFINITE: F80 = { sign: 1, exp: EXP_MAX, sig: 0xc000000000000000n };
export const ZERO: F80 = { sign: 0, exp: 0, sig: 0n };

export function kindOf(f: F80): Kind {
  if (f.exp === EXP_MAX) {
    if (!(f.sig & INT_BIT)) return Kind.Unsupported; // pseudo-infinity, pseudo-NaN
    if ((f.sig & ~INT_BIT) === 0n) return Kind.Infinity;
    return f.sig & QUIET_BIT ? Kind.QNaN : Kind.SNaN;
  }
  if (f.exp === 0) return f.sig === 0n ? Kind.Zero : Kind.Denormal; // pseudo-denormals are denormal operands
  return f.sig & INT_BIT ? Kind.Normal : Kind.Unsupported; // unnormals
}
export const isNaN = (k: Kind): boolean => k === Kind.QNaN || k === Kind.SNaN;

export function quiet(f: F80): F80 { return { sign: f.sign, exp: f.exp, sig: f.sig | QUIET_BIT }; }
export function infinity(sign: number): F80 { return { sign, exp: EXP_MAX, sig: INT_BIT }; }
export function zero(sign: number): F80 { return { sign, exp: 0, sig: 0n }; }

/** A finite value as mant * 2^e (mant >= 0); the pseudo-denormal's exponent is that of a denormal. */
export interface Exact { sign: number; mant: bigint; e: number }
export function exactOf(f: F80): Exact {
  return { sign: f.sign, mant: f.sig, e: Math.max(f.exp, 1) - EXP_BIAS - 63 };
}

/** Bits of a non-negative BigInt (0 for 0). */
export function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** Target of a rounding: significand bits, the normal exponent range, and the finest quantum. */
export interface Format { p: number; emin: number; emax: number; qmin: number; bias: number }
/**
 * The register format under precision control p (24, 53 or 64): the exponent range stays extended
 * (SDM Vol. 1 8.1.5.2), and a denormal result keeps p bits below the smallest normal's integer bit
 * (qmin = emin - (p - 1)): measured on AMD Zen 5 (x87 referee: a PC=53 denormal quotient ends in zeros).
 */
export function registerFormat(p: number): Format { return { p, emin: 1 - EXP_BIAS, emax: EXP_BIAS, qmin: 1 - EXP_BIAS - (p - 1), bias: EXP_BIAS }; }
/** The register's denormal unit, 2^(emin - 63) (SDM Vol. 1 Table 4-3). */
const REGISTER_QMIN = 1 - EXP_BIAS - 63;
export const SINGLE: Format = { p: 24, emin: -126, emax: 127, qmin: -149, bias: 127 };
export const DOUBLE: Format = { p: 53, emin: -1022, emax: 1023, qmin: -1074, bias: 1023 };
export const EXTENDED = registerFormat(64);

/** Exponent adjustment of the result of an unmasked overflow or underflow to a register (SDM Vol. 1 4.9.1.4-5: 24576). */
export const BIAS_ADJUST = 24576;

export interface Rounded {
  /** The result in the format: biased exponent and the p-bit significand (integer bit at p-1; 0 for denormals). */
  sign: number; exp: number; sig: bigint;
  flags: number;
  /** The result's magnitude is larger than the exact value's (C1, SDM Vol. 1 8.1.3.3). */
  up: boolean;
}

/** Round mant*2^e to a multiple of 2^q (sticky: the exact value is a bit above mant*2^e). */
function roundAt(sign: number, mant: bigint, e: number, sticky: boolean, q: number, rc: Rounding): { r: bigint; inexact: boolean; up: boolean } {
  const shift = q - e;
  if (shift <= 0) return { r: mant << BigInt(-shift), inexact: sticky, up: false };
  const s = BigInt(shift);
  let r = mant >> s;
  const rem = mant & ((1n << s) - 1n);
  const half = 1n << (s - 1n);
  const inexact = rem !== 0n || sticky;
  let up = false;
  if (inexact) {
    switch (rc) {
      case Rounding.Nearest: up = rem > half || (rem === half && (sticky || (r & 1n) === 1n)); break;
      case Rounding.Down: up = sign === 1; break;
      case Rounding.Up: up = sign === 0; break;
      case Rounding.Chop: up = false; break;
    }
  }
  if (up) r += 1n;
  return { r, inexact, up };
}

/**
 * Round sign * mant * 2^e (mant > 0, sticky as above) to `fmt` under `rc`. Tininess is detected
 * after rounding (x86, as Berkeley SoftFloat's 8086 specialization documents; checked by the x87
 * referee). Masked overflow gives infinity or the largest finite value by RC (SDM Vol. 1 Table
 * 4-10); unmasked overflow/underflow give the rounded value with the exponent adjusted by
 * BIAS_ADJUST (wrapped: true; registers only). `um`, `om`: UE/OE masked.
 */
export function roundPack(sign: number, mant: bigint, e: number, sticky: boolean, fmt: Format, rc: Rounding, om: boolean, um: boolean): Rounded & { wrapped: boolean } {
  const n = bitLength(mant);
  const E = e + n - 1;
  let flags = 0;
  // Unbounded rounding to p bits (for tininess after rounding, overflow and the wrapped results).
  const ub = roundAt(sign, mant, e, sticky, E - (fmt.p - 1), rc);
  let ubQ = E - (fmt.p - 1), ubR = ub.r;
  if (bitLength(ubR) > fmt.p) { ubR >>= 1n; ubQ += 1; }
  const ubE = ubQ + fmt.p - 1;
  if (ubE > fmt.emax) {
    if (!om) {
      const exp = ubE + fmt.bias - BIAS_ADJUST;
      return { sign, exp, sig: ubR, flags: Exc.OE | (ub.inexact ? Exc.PE : 0), up: ub.up, wrapped: true };
    }
    flags = Exc.OE | Exc.PE;
    const toInf = rc === Rounding.Nearest || (rc === Rounding.Up && sign === 0) || (rc === Rounding.Down && sign === 1);
    if (toInf) return { sign, exp: fmt.emax + fmt.bias + 1, sig: 1n << BigInt(fmt.p - 1), flags, up: true, wrapped: false };
    return { sign, exp: fmt.emax + fmt.bias, sig: (1n << BigInt(fmt.p)) - 1n, flags, up: false, wrapped: false };
  }
  const tiny = ubE < fmt.emin;
  if (tiny && !um) {
    const exp = ubE + fmt.bias + BIAS_ADJUST;
    return { sign, exp, sig: ubR, flags: Exc.UE | (ub.inexact ? Exc.PE : 0), up: ub.up, wrapped: true };
  }
  const q = Math.max(E - (fmt.p - 1), fmt.qmin);
  const rr = roundAt(sign, mant, e, sticky, q, rc);
  let r = rr.r, qq = q;
  if (bitLength(r) > fmt.p) { r >>= 1n; qq += 1; }
  if (rr.inexact) flags |= Exc.PE;
  if (tiny && rr.inexact) flags |= Exc.UE;
  if (r === 0n) return { sign, exp: 0, sig: 0n, flags, up: rr.up, wrapped: false };
  // r * 2^qq with r < 2^p: normal when its top bit is at an exponent >= emin; else a denormal,
  // whose significand is given in units of 2^qmin (the format's denormal unit).
  const topE = qq + bitLength(r) - 1;
  if (topE < fmt.emin) return { sign, exp: 0, sig: r << BigInt(qq - fmt.qmin), flags, up: rr.up, wrapped: false };
  const sig = r << BigInt(fmt.p - bitLength(r));
  return { sign, exp: topE + fmt.bias, sig, flags, up: rr.up, wrapped: false };
}

/** Round an exact value to the register format under PC/RC (registerFormat(p)). */
export function roundToRegister(sign: number, mant: bigint, e: number, sticky: boolean, p: number, rc: Rounding, om: boolean, um: boolean): { f: F80; flags: number; up: boolean } {
  const fmt = registerFormat(p);
  const r = roundPack(sign, mant, e, sticky, fmt, rc, om, um);
  if (r.wrapped) return { f: { sign, exp: r.exp & EXP_MAX, sig: (r.sig << BigInt(64 - p)) & SIG_MASK }, flags: r.flags, up: r.up };
  // A denormal's significand is in units of 2^qmin; the register's unit is 2^(emin - 63).
  if (r.exp === 0) return { f: { sign, exp: 0, sig: (r.sig << BigInt(fmt.qmin - REGISTER_QMIN)) & SIG_MASK }, flags: r.flags, up: r.up };
  return { f: { sign, exp: r.exp, sig: (r.sig << BigInt(64 - p)) & SIG_MASK }, flags: r.flags, up: r.up };
}

/** Round an exact value to a single or double (memory) under RC: its bits, or wrapped (nothing to store). */
export function roundToMemory(sign: number, mant: bigint, e: number, sticky: boolean, fmt: Format, rc: Rounding, om: boolean, um: boolean): { bits: bigint; flags: number; up: boolean; wrapped: boolean } {
  const r = roundPack(sign, mant, e, sticky, fmt, rc, om, um);
  if (r.wrapped) return { bits: 0n, flags: r.flags, up: r.up, wrapped: true };
  const fracBits = BigInt(fmt.p - 1);
  const width = fmt.p === 24 ? 32n : 64n;
  const frac = r.exp === 0 ? r.sig : r.sig & ((1n << fracBits) - 1n);
  return { bits: (BigInt(sign) << (width - 1n)) | (BigInt(r.exp) << fracBits) | frac, flags: r.flags, up: r.up, wrapped: false };
}

/** A single or double from memory as an F80 (exact), with its class (SNaN stays signalling). */
export function fromMemory(bits: bigint, fmt: Format): F80 {
  const width = fmt.p === 24 ? 32n : 64n;
  const fracBits = BigInt(fmt.p - 1);
  const expBits = width - 1n - fracBits;
  const sign = Number((bits >> (width - 1n)) & 1n);
  const exp = Number((bits >> fracBits) & ((1n << expBits) - 1n));
  const frac = bits & ((1n << fracBits) - 1n);
  const expAll = (1 << Number(expBits)) - 1;
  const shift = 63n - fracBits;
  if (exp === expAll) return { sign, exp: EXP_MAX, sig: INT_BIT | (frac << shift) };
  if (exp === 0) {
    if (frac === 0n) return zero(sign);
    // Normalized in the extended format (exact: the range is wider).
    const n = bitLength(frac);
    const e = fmt.qmin + n - 1;
    return { sign, exp: e + EXP_BIAS, sig: frac << BigInt(64 - n) };
  }
  return { sign, exp: exp - fmt.bias + EXP_BIAS, sig: INT_BIT | (frac << shift) };
}

/** An integer as an F80 (exact: 64 significand bits hold any int64). */
export function fromInteger(v: bigint): F80 {
  if (v === 0n) return zero(0);
  const sign = v < 0n ? 1 : 0;
  const m = v < 0n ? -v : v;
  const n = bitLength(m);
  return { sign, exp: n - 1 + EXP_BIAS, sig: (m << BigInt(64 - n)) & SIG_MASK };
}

/** Round a finite F80 to an integer value under rc: the integer and flags. */
export function roundToIntegerValue(f: F80, rc: Rounding): { v: bigint; inexact: boolean; up: boolean } {
  const x = exactOf(f);
  if (x.mant === 0n) return { v: 0n, inexact: false, up: false };
  const rr = roundAt(x.sign, x.mant, x.e, false, 0, rc);
  return { v: x.sign ? -rr.r : rr.r, inexact: rr.inexact, up: rr.up };
}

/** Compare two non-NaN values: -1, 0, 1. */
export function compare(a: F80, b: F80): number {
  const x = exactOf(a), y = exactOf(b);
  const sx = x.mant === 0n ? 0 : x.sign ? -1 : 1;
  const sy = y.mant === 0n ? 0 : y.sign ? -1 : 1;
  const ka = kindOf(a), kb = kindOf(b);
  if (ka === Kind.Infinity || kb === Kind.Infinity) {
    const va = ka === Kind.Infinity ? (a.sign ? -2 : 2) : 0, vb = kb === Kind.Infinity ? (b.sign ? -2 : 2) : 0;
    if (va !== 0 || vb !== 0) {
      const fa = ka === Kind.Infinity ? va : sx, fb = kb === Kind.Infinity ? vb : sy;
      return fa < fb ? -1 : fa > fb ? 1 : 0;
    }
  }
  if (sx !== sy) return sx < sy ? -1 : 1;
  if (sx === 0) return 0;
  const e = Math.min(x.e, y.e);
  const mx = x.mant << BigInt(x.e - e), my = y.mant << BigInt(y.e - e);
  const c = mx < my ? -1 : mx > my ? 1 : 0;
  return sx < 0 ? -c : c;
}

/** Exact sum of two finite values as (sign, mant, e); the sign of an exact zero follows IEEE 754 (RC down gives -0). */
export function addExact(a: Exact, b: Exact, rc: Rounding): Exact {
  const e = Math.min(a.e, b.e);
  const ma = (a.mant << BigInt(a.e - e)) * (a.sign ? -1n : 1n);
  const mb = (b.mant << BigInt(b.e - e)) * (b.sign ? -1n : 1n);
  const s = ma + mb;
  if (s === 0n) {
    const sign = a.mant === 0n && b.mant === 0n && a.sign === b.sign ? a.sign : rc === Rounding.Down ? 1 : 0;
    return { sign, mant: 0n, e: 0 };
  }
  return { sign: s < 0n ? 1 : 0, mant: s < 0n ? -s : s, e };
}

/** Quotient with enough bits for any rounding: mant, e and the sticky remainder. */
export function divExact(a: Exact, b: Exact): { mant: bigint; e: number; sticky: boolean } {
  const k = 70 + bitLength(b.mant) - bitLength(a.mant) + 2;
  const sh = Math.max(k, 0);
  const num = a.mant << BigInt(sh);
  const q = num / b.mant;
  const r = num % b.mant;
  return { mant: q, e: a.e - b.e - sh, sticky: r !== 0n };
}

/** Square root with enough bits for any rounding. */
export function sqrtExact(a: Exact): { mant: bigint; e: number; sticky: boolean } {
  let m = a.mant, e = a.e;
  // Scale so that the root has at least 70 bits and the exponent is even.
  let sh = Math.max(0, 140 - bitLength(m));
  if ((e - sh) % 2 !== 0) sh += 1;
  m <<= BigInt(sh);
  e -= sh;
  const r = isqrt(m);
  return { mant: r, e: e / 2, sticky: r * r !== m };
}
/** floor(sqrt(n)) of a non-negative BigInt (Newton's iteration from above). */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLength(n) + 1) >> 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function readF80(b: Uint8Array, o: number): F80 {
  let sig = 0n;
  for (let i = 7; i >= 0; i--) sig = (sig << 8n) | BigInt(b[o + i]!);
  const se = b[o + 8]! | (b[o + 9]! << 8);
  return { sign: se >> 15, exp: se & EXP_MAX, sig };
}
export function writeF80(b: Uint8Array, o: number, f: F80): void {
  let s = f.sig;
  for (let i = 0; i < 8; i++) { b[o + i] = Number(s & 0xffn); s >>= 8n; }
  const se = (f.sign << 15) | (f.exp & EXP_MAX);
  b[o + 8] = se & 0xff;
  b[o + 9] = se >> 8;
}
