/**
 * High-precision values of the functions behind the x87 transcendental instructions (F2XM1,
 * FYL2X, FYL2XP1, FPATAN, FSIN, FCOS, FSINCOS, FPTAN; SDM Vol. 2A their pages), in BigInt.
 *
 * Each function returns an approximation with WORK significant bits (relative error below
 * 2^-(WORK-8)), or the exact value where the result is a dyadic rational (Approx.exact); the
 * caller rounds it once to the register format. With WORK bits a 64-bit rounding is decided
 * wrongly only when the exact value lies within 2^-(WORK-8) of a rounding boundary.
 *
 * Argument reduction of FSIN/FCOS/FSINCOS/FPTAN uses an approximation of pi of a given number of
 * bits (Intel: 66, SDM Vol. 1 8.3.10; what a CPU does is its profile's quirk, see fpu.ts).
 */

import { bitLength, isqrt } from './float80.js';

/** Significant bits of an approximation. */
const WORK = 192;
/** Fixed-point fraction bits of the series (absolute error 2^-FIX per term). */
const FIX = WORK + 16;

/** sign * mant * 2^e; exact: it is the function's exact value. */
export interface Approx { sign: number; mant: bigint; e: number; exact: boolean }

const one = 1n << BigInt(FIX);

/** a/b (a, b > 0) with WORK significant bits: mant, e with mant * 2^e <= a/b. */
function divide(a: bigint, ae: number, b: bigint, be: number): { mant: bigint; e: number } {
  const sh = WORK + bitLength(b) - bitLength(a) + 2;
  const n = sh >= 0 ? a << BigInt(sh) : a >> BigInt(-sh);
  return { mant: n / b, e: ae - be - sh };
}
/** mant * 2^e as FIX-bit fixed point (truncated). */
function toFixed(mant: bigint, e: number): bigint {
  const s = e + FIX;
  return s >= 0 ? mant << BigInt(s) : mant >> BigInt(-s);
}
function trim(mant: bigint, e: number): { mant: bigint; e: number } {
  const extra = bitLength(mant) - WORK - 8;
  return extra > 0 ? { mant: mant >> BigInt(extra), e: e + extra } : { mant, e };
}

/** atan(1/n) in fixed point: sum (-1)^k / ((2k+1) n^(2k+1)). */
function atanInv(n: bigint, bits: number): bigint {
  const scale = 1n << BigInt(bits);
  let p = scale / n, sum = p, k = 1n;
  const n2 = n * n;
  while (p !== 0n) {
    p /= n2;
    const t = p / (2n * k + 1n);
    sum += k & 1n ? -t : t;
    k++;
  }
  return sum;
}
/** pi with PI_BITS fraction bits (Machin's formula), enough for the reduction of any |x| < 2^64. */
const PI_BITS = 512;
const PI_FIXED = (16n * atanInv(5n, PI_BITS + 16) - 4n * atanInv(239n, PI_BITS + 16)) >> 16n;
/** ln 2 = 2 atanh(1/3) in FIX bits. */
const LN2 = ((): bigint => {
  const bits = BigInt(FIX + 16);
  let p = (1n << bits) / 3n, sum = p, k = 1n;
  while (p !== 0n) { p /= 9n; sum += p / (2n * k + 1n); k++; }
  return (2n * sum) >> 16n;
})();
const PI = PI_FIXED >> BigInt(PI_BITS - FIX);

/** pi rounded to nearest with `bits` significant bits, as mant * 2^e. */
export function piApprox(bits: number): { mant: bigint; e: number } {
  const drop = BigInt(PI_BITS + 2 - bits);
  const m = (PI_FIXED + (1n << (drop - 1n))) >> drop;
  return { mant: m, e: -PI_BITS + Number(drop) };
}

/** 2^x - 1 for x = sign * mant * 2^e (x finite, not zero, |x| modest). */
export function exp2m1(sign: number, mant: bigint, e: number): Approx {
  // x = +-1 give exactly 1 and -1/2; otherwise 2^x - 1 is irrational.
  if (e <= 0 && mant === 1n << BigInt(-e)) {
    return sign ? { sign: 1, mant: 1n, e: -1, exact: true } : { sign: 0, mant: 1n, e: 0, exact: true };
  }
  // z = x ln 2 (relative), expm1(z) = z * sum z^n/(n+1)!.
  const z = trim(mant * LN2, e - FIX);
  const zf = (sign ? -1n : 1n) * toFixed(z.mant, z.e);
  let term = one, sum = one;
  for (let n = 2n; ; n++) {
    term = (term * zf >> BigInt(FIX)) / n;
    if (term === 0n) break;
    sum += term;
  }
  const r = trim(z.mant * sum, z.e - FIX);
  return { sign, mant: r.mant, e: r.e, exact: false };
}

/** 2 atanh(t) for t = sign * mant * 2^e, |t| <= 0.18: 2t * sum t^2k/(2k+1). */
function twoAtanh(sign: number, mant: bigint, e: number): Approx {
  const t = trim(mant, e);
  const tf = toFixed(t.mant, t.e);
  const t2 = (tf * tf) >> BigInt(FIX);
  let p = one, sum = one;
  for (let k = 1n; ; k++) {
    p = (p * t2) >> BigInt(FIX);
    if (p === 0n) break;
    sum += p / (2n * k + 1n);
  }
  const r = trim(t.mant * sum, t.e - FIX + 1);
  return { sign, mant: r.mant, e: r.e, exact: false };
}
/** log2(x) for x = mant * 2^e > 0. */
export function log2(mant: bigint, e: number): Approx {
  const n = bitLength(mant);
  // x = m * 2^k, m = mant / 2^s in [sqrt(1/2), sqrt(2)).
  let s = n - 1, k = e + n - 1;
  if (mant * mant > 1n << BigInt(2 * s + 1)) { s += 1; k += 1; }
  const den = 1n << BigInt(s);
  if (mant === den) return { sign: k < 0 ? 1 : 0, mant: BigInt(Math.abs(k)), e: 0, exact: true };
  // ln m = 2 atanh((m - 1)/(m + 1)).
  const num = mant - den;
  const q = divide(num < 0n ? -num : num, 0, mant + den, 0);
  const ln = twoAtanh(num < 0n ? 1 : 0, q.mant, q.e);
  const l = divide(ln.mant, ln.e, LN2, -FIX);
  return addInteger(num < 0n ? 1 : 0, l.mant, l.e, k);
}
/** log2(1 + x) for x = sign * mant * 2^e, |x| < 1: 2 atanh(x / (2 + x)) / ln 2. */
export function log2p1(sign: number, mant: bigint, e: number): Approx {
  // x/(2+x) with x = mant * 2^e exactly: numerator mant, denominator 2^(1-e) + -mant (scaled by 2^-e).
  const lo = Math.min(e, 0);
  const xm = mant << BigInt(e - lo);
  const two = 1n << BigInt(1 - lo);
  const q = divide(xm, 0, sign ? two - xm : two + xm, 0);
  const ln = twoAtanh(sign, q.mant, q.e);
  const l = divide(ln.mant, ln.e, LN2, -FIX);
  return { sign, mant: l.mant, e: l.e, exact: false };
}
/** k + (-1)^sign * mant * 2^e (k integer, |mant * 2^e| < 1). */
function addInteger(sign: number, mant: bigint, e: number, k: number): Approx {
  if (k === 0) return { sign, mant, e, exact: false };
  const v = (BigInt(k) << BigInt(-e)) + (sign ? -mant : mant);
  const r = trim(v < 0n ? -v : v, e);
  return { sign: v < 0n ? 1 : 0, mant: r.mant, e: r.e, exact: false };
}

/** y * a: the product of an exact value and an approximation. */
export function times(sign: number, mant: bigint, e: number, a: Approx): Approx {
  const r = a.exact ? { mant: mant * a.mant, e: e + a.e } : trim(mant * a.mant, e + a.e);
  return { sign: sign ^ a.sign, mant: r.mant, e: r.e, exact: a.exact };
}

/** atan(t) for t = mant * 2^e in (0, 1]: three half-angle steps t / (1 + sqrt(1 + t^2)), then the series. */
function atanUnit(mant: bigint, e: number): { mant: bigint; e: number } {
  let t = trim(mant, e);
  for (let i = 0; i < 3; i++) {
    const tf = toFixed(t.mant, t.e);
    const root = isqrt((one + ((tf * tf) >> BigInt(FIX))) << BigInt(FIX));
    t = divide(t.mant, t.e, one + root, -FIX);
  }
  const tf = toFixed(t.mant, t.e);
  const t2 = (tf * tf) >> BigInt(FIX);
  let p = one, sum = one;
  for (let k = 1n; ; k++) {
    p = (p * t2) >> BigInt(FIX);
    if (p === 0n) break;
    const term = p / (2n * k + 1n);
    sum += k & 1n ? -term : term;
  }
  // atan t < t for t > 0: not on the representable t when the series vanished (as sinCosReduced).
  if (sum >= one) sum = one - 1n;
  return trim(t.mant * sum, t.e - FIX + 3);
}
/**
 * atan2(y, x) for finite non-zero y = (-1)^ys my 2^ye, x = (-1)^xs mx 2^xe (FPATAN: ST(1), ST(0)).
 */
export function atan2(ys: number, my: bigint, ye: number, xs: number, mx: bigint, xe: number): Approx {
  // |y/x| <= 1: atan(|y/x|); else pi/2 - atan(|x/y|); x < 0: pi - that.
  const yBig = compareMag(my, ye, mx, xe) > 0;
  const r = yBig ? divide(mx, xe, my, ye) : divide(my, ye, mx, xe);
  let a = atanUnit(r.mant, r.e);
  if (yBig || xs) {
    let v = toFixed(a.mant, a.e);
    if (yBig) v = (PI >> 1n) - v;
    if (xs) v = PI - v;
    a = trim(v, -FIX);
  }
  return { sign: ys, mant: a.mant, e: a.e, exact: false };
}
/** A multiple of pi/4 (k in 1..4 quarter turns... as k/4 * pi), for FPATAN's special operands. */
export function piTimes(num: number, den: number): Approx {
  const a = trim(PI * BigInt(num) / BigInt(den), -FIX);
  return { sign: 0, mant: a.mant, e: a.e, exact: false };
}
function compareMag(a: bigint, ae: number, b: bigint, be: number): number {
  const e = Math.min(ae, be);
  const x = a << BigInt(ae - e), y = b << BigInt(be - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** sin r and cos r of an exact reduced argument r = sign * mant * 2^e, |r| <= pi/4 (or so). */
function sinCosReduced(sign: number, mant: bigint, e: number): { sin: Approx; cos: Approx } {
  const r = trim(mant, e);
  const rf = toFixed(r.mant, r.e);
  const r2 = (rf * rf) >> BigInt(FIX);
  // sin r = r * sum (-1)^k r^2k/(2k+1)!, cos r = sum (-1)^k r^2k/(2k)!.
  let ps = one, ss = one, pc = one, sc = one;
  for (let k = 1n; ; k++) {
    pc = ((pc * r2) >> BigInt(FIX)) / ((2n * k - 1n) * 2n * k);
    ps = ((ps * r2) >> BigInt(FIX)) / (2n * k * (2n * k + 1n));
    if (pc === 0n && ps === 0n) break;
    if (k & 1n) { sc -= pc; ss -= ps; } else { sc += pc; ss += ps; }
  }
  // For r != 0, cos r < 1 and |sin r| < |r|: a series whose terms all fell below 2^-FIX (r^2 < 2^-FIX)
  // must not leave the approximation on the representable 1 or r, where the caller's rounding
  // (the exact value above the approximation) would go the wrong way under a directed RC.
  if (sc >= one) sc = one - 1n;
  if (ss >= one) ss = one - 1n;
  const s = trim(r.mant * ss, r.e - FIX);
  const c = trim(sc, -FIX);
  return { sin: { sign, mant: s.mant, e: s.e, exact: false }, cos: { sign: 0, mant: c.mant, e: c.e, exact: false } };
}

export interface Trig { sin: Approx; cos: Approx; tan: Approx }
/**
 * sin, cos and tan of x = sign * mant * 2^e (finite, non-zero), the argument reduced by multiples
 * of P/2 where P is pi rounded to `piBits` bits (the reduction is exact with that P).
 */
export function trig(sign: number, mant: bigint, e: number, piBits: number): Trig {
  const p = piApprox(piBits);
  // q = nearest integer to x / (P/2); r = x - q P/2, exact.
  const lo = Math.min(e, p.e - 1);
  const X = mant << BigInt(e - lo), H = p.mant << BigInt(p.e - 1 - lo);
  let q = X / H;
  let R = X - q * H;
  if (2n * R > H) { q += 1n; R -= H; }
  const rs = R < 0n ? 1 : 0;
  const rm = R < 0n ? -R : R;
  let sc: { sin: Approx; cos: Approx };
  if (rm === 0n) sc = { sin: { sign: 0, mant: 0n, e: 0, exact: true }, cos: { sign: 0, mant: 1n, e: 0, exact: true } };
  else sc = sinCosReduced(rs, rm, lo);
  const neg = (a: Approx): Approx => ({ ...a, sign: a.sign ^ 1 });
  let s: Approx, c: Approx;
  switch (Number(q & 3n)) {
    case 0: s = sc.sin; c = sc.cos; break;
    case 1: s = sc.cos; c = neg(sc.sin); break;
    case 2: s = neg(sc.sin); c = neg(sc.cos); break;
    default: s = neg(sc.cos); c = sc.sin; break;
  }
  if (sign) s = neg(s);
  let tan: Approx;
  if (s.mant === 0n) tan = { ...s };
  else if (c.mant === 0n) tan = { sign: s.sign, mant: 0n, e: 0, exact: true }; // not reached with a dyadic P
  else { const d = divide(s.mant, s.e, c.mant, c.e); tan = { sign: s.sign ^ c.sign, mant: d.mant, e: d.e, exact: false }; }
  return { sin: s, cos: c, tan };
}

