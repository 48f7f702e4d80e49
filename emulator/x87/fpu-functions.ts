/**
 * The x87 instructions beyond the basic arithmetic (fpu.ts): the transcendental ones (F2XM1,
 * FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN, FCOS, FSINCOS; SDM Vol. 1 8.3.9-8.3.10, Vol. 2A their
 * pages with the tables of special operands), FSCALE, FXTRACT, FPREM, FPREM1 (SDM Vol. 2A),
 * FBLD and FBSTP (packed BCD, SDM Vol. 1 4.7). Values come from transcendental.ts (high
 * precision) and are rounded once to the register format under RC.
 *
 * Precision control does not apply: it affects FADD, FSUB(R), FMUL, FDIV(R) and FSQRT only
 * (SDM Vol. 1 8.1.5.2); these round to 64 bits.
 *
 * The transcendental results of real CPUs are not correctly rounded (SDM Vol. 1 8.3.10: "within
 * 1 ulp"); the model gives the correctly rounded value of the function, with the reduction of
 * FSIN/FCOS/FSINCOS/FPTAN by the 66-bit pi the SDM names (measured on AMD Zen 5 too). The cases
 * where a CPU's result is the other neighbour (or its C1 the other side) cannot be reproduced
 * without the CPU's own algorithm: test/x87-functions.test.ts bounds them, `selfcheck
 * x87-functions` counts them as residuals (TranscendentalAnswer), the README gives the figures.
 * Intel's figures are assumed to be of the same kind (SDM Vol. 1 8.3.10: errors below 1 ulp).
 * When the profile is this running host's CPU, fpu.ts gives the eight transcendental instructions
 * to the CPU itself instead (host-functions.ts, assumption x87-transcendental-host).
 */
import { Mnemonic } from '../iced.js';
import { EXP_BIAS, EXP_MAX, Exc, INDEFINITE, Kind, Rounding, type F80, exactOf, fromInteger, infinity, isNaN, kindOf, quiet, roundToIntegerValue, roundToRegister, zero } from './float80.js';
import { type Approx, atan2, exp2m1, log2, log2p1, piTimes, times, trig } from './transcendental.js';

/** What these instructions need of the x87 state (fpu.ts's State). */
export interface X87Unit {
  readonly rc: Rounding;
  empty(i: number): boolean;
  st(i: number): F80;
  set(i: number, f: F80): void;
  push(f: F80): void;
  pop(): void;
  /** Raise flags; true when an unmasked IE, DE or ZE prevents the result. */
  raise(f: number): boolean;
  /** Stack underflow / overflow (SDM Vol. 1 8.5.1.1); true when unmasked. */
  underflow(): boolean;
  overflow(): boolean;
  setC1(on: boolean): void;
  setCc(c3: number, c2: number, c0: number): void;
  setC2(on: boolean): void;
  /** Round an exact value to the register format at p bits under RC (or `rc`), raising PE/UE/OE and C1. */
  round(sign: number, mant: bigint, e: number, sticky: boolean, p: number, rc?: Rounding): F80;
  c1(): boolean;
  /** Whether the exception is masked in FCW. */
  masked(e: Exc): boolean;
  /** The NaN result of two operands (SDM Vol. 1 Table 4-7). */
  nan(a: F80, b: F80): F80;
}

/** Significand bits of the results (no precision control, SDM Vol. 1 8.1.5.2). */
const FULL = 64;
/** Bits of the pi used to reduce FSIN/FCOS/FSINCOS/FPTAN arguments (SDM Vol. 1 8.3.10; measured on AMD Zen 5). */
export const REDUCTION_PI_BITS = 66;
/** FSIN/FCOS/FSINCOS/FPTAN take |x| < 2^63; beyond, C2 = 1 and ST(0) is left (SDM Vol. 2A FSIN). */
const TRIG_LIMIT_EXP = EXP_BIAS + 63;
/** Packed BCD: 18 digits and a sign byte (SDM Vol. 1 4.7); its indefinite (Table 4-2). */
const BCD_DIGITS = 18;
const BCD_MAX = 10n ** 18n;
const BCD_INDEFINITE = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff);
/**
 * FPREM/FPREM1 partial remainders: when the exponents differ by d >= 64 the quotient takes N bits,
 * an implementation-dependent N in 32..63 (SDM Vol. 2A FPREM). Measured on AMD Zen 5
 * (test/x87-functions.test.ts, exponent differences up to 400): N = 32 + d mod 32, so the
 * remaining difference is a multiple of 32. Assumed for every vendor.
 */
const partialRemainderBits = (d: number): number => 32 + (d % 32);

export const FUNCTION_MNEMONICS: ReadonlySet<Mnemonic> = new Set([
  Mnemonic.F2xm1, Mnemonic.Fyl2x, Mnemonic.Fyl2xp1, Mnemonic.Fptan, Mnemonic.Fpatan, Mnemonic.Fsin, Mnemonic.Fcos, Mnemonic.Fsincos,
  Mnemonic.Fscale, Mnemonic.Fxtract, Mnemonic.Fprem, Mnemonic.Fprem1, Mnemonic.Fbld, Mnemonic.Fbstp,
]);

/** An operand's problem before any computation: the masked result, or undefined to go on; 'stop' when unmasked. */
type Pre = F80 | 'stop' | undefined;
function unaryPre(s: X87Unit, f: F80): Pre {
  const k = kindOf(f);
  if (k === Kind.Unsupported) return s.raise(Exc.IE) ? 'stop' : INDEFINITE;
  if (isNaN(k)) return k === Kind.SNaN && s.raise(Exc.IE) ? 'stop' : quiet(f);
  return undefined;
}
function binaryPre(s: X87Unit, a: F80, b: F80): Pre {
  const ka = kindOf(a), kb = kindOf(b);
  if (ka === Kind.Unsupported || kb === Kind.Unsupported) return s.raise(Exc.IE) ? 'stop' : INDEFINITE;
  if (isNaN(ka) || isNaN(kb)) return (ka === Kind.SNaN || kb === Kind.SNaN) && s.raise(Exc.IE) ? 'stop' : s.nan(a, b);
  return undefined;
}
const isDenormal = (f: F80): boolean => kindOf(f) === Kind.Denormal;
/** How far below 1 the CPU's approximation of F2XM1(+1) lies: beyond any rounding bit. */
const ONE_OFF = 128;
function roundApprox(s: X87Unit, a: Approx, measured = false): F80 {
  if (a.mant === 0n) return zero(a.sign);
  if (a.exact || !answers || measured) return s.round(a.sign, a.mant, a.e, !a.exact, FULL);
  const answer = answers[answerIndex++] ?? TranscendentalAnswer.CorrectlyRounded;
  const flip = answer === TranscendentalAnswer.C1Flipped || answer === TranscendentalAnswer.OtherNeighbourC1Flipped || answer === TranscendentalAnswer.FarNeighbourC1Flipped;
  let r: F80;
  if (answer === TranscendentalAnswer.OtherNeighbour || answer === TranscendentalAnswer.OtherNeighbourC1Flipped) {
    // The neighbour on the other side of the exact value: the rounding down or up that RC did not
    // give, under the FCW's overflow and underflow masks (unmasked: the bias-adjusted 64-bit one).
    const om = s.masked(Exc.OE), um = s.masked(Exc.UE);
    const down = roundToRegister(a.sign, a.mant, a.e, true, FULL, Rounding.Down, om, um).f;
    const byRc = roundToRegister(a.sign, a.mant, a.e, true, FULL, s.rc, om, um).f;
    const same = down.exp === byRc.exp && down.sig === byRc.sig;
    r = s.round(a.sign, a.mant, a.e, true, FULL, same ? Rounding.Up : Rounding.Down);
  } else {
    r = s.round(a.sign, a.mant, a.e, true, FULL);
    // One ulp from the correctly rounded value, away from the exact one: up in magnitude when the
    // rounding went up (C1), down otherwise.
    if (answer === TranscendentalAnswer.FarNeighbour || answer === TranscendentalAnswer.FarNeighbourC1Flipped) r = stepMagnitude(r, s.c1() ? 1n : -1n);
  }
  if (flip) s.setC1(!s.c1());
  return r;
}
/** The finite register value one ulp larger (+1) or smaller (-1) in magnitude (normal values; others unchanged). */
function stepMagnitude(f: F80, d: bigint): F80 {
  const TOP = 1n << 63n;
  if (f.exp === 0 || f.exp >= 0x7fff || (f.sig & TOP) === 0n) return f;
  let sig = f.sig + d, exp = f.exp;
  if (sig >> 64n) { sig = TOP; exp++; } else if ((sig & TOP) === 0n) { if (exp === 1) return { ...f, exp: 0, sig }; sig = (sig << 1n) | 1n; exp--; }
  return { sign: f.sign, exp, sig };
}

/**
 * For the x87 referee: how each transcendental result is to be answered, in order of rounding
 * (a CPU's result is within 1 ulp, not always correctly rounded: SDM Vol. 1 8.3.10).
 */
export enum TranscendentalAnswer {
  CorrectlyRounded,
  /** The other neighbour of the exact value (C1 as that rounding sets it). */
  OtherNeighbour,
  /** The correctly rounded value with C1 saying the other side (the CPU's approximation lay beyond it). */
  C1Flipped,
  /** One ulp from the correctly rounded value on the side away from the exact value, C1 as rounded (measured: FPTAN, FCOS off by more than the neighbours). */
  FarNeighbour,
  /** The other neighbour with C1 saying the other side (the CPU's approximation lay beyond that neighbour). */
  OtherNeighbourC1Flipped,
  /** One ulp beyond, C1 the other side. */
  FarNeighbourC1Flipped,
}
/** How many answers the referee tries for each result. */
export const TRANSCENDENTAL_ANSWERS = 6;
let answers: readonly TranscendentalAnswer[] | undefined;
let answerIndex = 0;
/** Run `f` with the transcendental results answered as `list` says; returns how many were rounded. */
export function withTranscendentalAnswers<T>(list: readonly TranscendentalAnswer[], f: () => T): { result: T; roundings: number } {
  answers = list;
  answerIndex = 0;
  try {
    const result = f();
    return { result, roundings: answerIndex };
  } finally {
    answers = undefined;
  }
}

/** Execute one of FUNCTION_MNEMONICS. `mem`: the 10-byte operand of FBLD; `store`: FBSTP's writer. */
export function runFunction(s: X87Unit, m: Mnemonic, mem: () => Uint8Array, store: (b: Uint8Array) => void): void {
  switch (m) {
    case Mnemonic.Fsin: case Mnemonic.Fcos: case Mnemonic.F2xm1: return unaryInPlace(s, m);
    case Mnemonic.Fptan: case Mnemonic.Fsincos: case Mnemonic.Fxtract: return unaryPush(s, m);
    case Mnemonic.Fyl2x: case Mnemonic.Fyl2xp1: case Mnemonic.Fpatan: return binaryPop(s, m);
    case Mnemonic.Fscale: return fscale(s);
    case Mnemonic.Fprem: case Mnemonic.Fprem1: return fprem(s, m === Mnemonic.Fprem1);
    case Mnemonic.Fbld: return fbld(s, mem());
    case Mnemonic.Fbstp: return fbstp(s, store);
  }
  throw new Error(`x87: ${Mnemonic[m]} is not one of fpu-functions.ts`);
}

/** FSIN, FCOS, F2XM1: ST(0) <- f(ST(0)). */
function unaryInPlace(s: X87Unit, m: Mnemonic): void {
  const trigOp = m !== Mnemonic.F2xm1;
  // A stack underflow clears C2 of FSIN/FCOS (measured on AMD Zen 5; F2XM1 leaves it).
  if (s.empty(0)) { if (trigOp) s.setC2(false); if (s.underflow()) return; s.set(0, INDEFINITE); return; }
  s.setC1(false);
  const x = s.st(0), k = kindOf(x);
  // An invalid operand (SNaN, unsupported, infinity), masked or not, clears C2 of the trigonometric
  // ones and keeps C0/C3 (measured on AMD Zen 5: FSW 7101H from 4700H masked, F181H unmasked).
  const pre = unaryPre(s, x);
  if (pre === 'stop') { if (trigOp) s.setC2(false); return; }
  if (pre) { s.set(0, pre); if (trigOp) s.setC2(false); return; }
  if (trigOp) {
    if (k === Kind.Infinity) { s.setC2(false); if (!s.raise(Exc.IE)) s.set(0, INDEFINITE); return; }
    if (x.exp >= TRIG_LIMIT_EXP) { s.setC2(true); return; }
    s.setC2(false);
  }
  if (k === Kind.Denormal && s.raise(Exc.DE)) return;
  let r: F80;
  if (m === Mnemonic.F2xm1) {
    // 2^x - 1: +-0 stay, -inf gives -1, +inf stays (SDM Vol. 2A F2XM1 Table 3-16).
    if (k === Kind.Zero || (k === Kind.Infinity && x.sign === 0)) r = x;
    else if (k === Kind.Infinity) r = { sign: 1, exp: EXP_BIAS, sig: 1n << 63n };
    else if (x.exp >= EXP_BIAS && !(x.exp === EXP_BIAS && x.sig === 1n << 63n)) {
      // |x| > 1, outside the SDM's domain ("undefined"): ST(0) is left, PE set, C1 = 0 (measured on
      // AMD Zen 5 with src/selfcheck/x87-accuracy-probe.c; assumed for every vendor).
      s.raise(Exc.PE);
      return;
    } else if (x.exp === EXP_BIAS) {
      // x = +1: the CPU rounds an approximation just below 1 by RC; x = -1: -1/2 with C1 = 0 in
      // every mode; PE both (measured on AMD Zen 5 with test/x87-functions.test.ts; assumed for
      // every vendor).
      if (x.sign) { r = { sign: 1, exp: EXP_BIAS - 1, sig: 1n << 63n }; s.raise(Exc.PE); s.setC1(false); }
      else r = roundApprox(s, { sign: 0, mant: (1n << BigInt(ONE_OFF)) - 1n, e: -ONE_OFF, exact: false }, true);
    } else { const a = exactOf(x); r = roundApprox(s, exp2m1(a.sign, a.mant, a.e)); }
  } else if (k === Kind.Zero) r = m === Mnemonic.Fsin ? x : { sign: 0, exp: EXP_BIAS, sig: 1n << 63n };
  else {
    const a = exactOf(x);
    const t = trig(a.sign, a.mant, a.e, REDUCTION_PI_BITS);
    r = roundApprox(s, m === Mnemonic.Fsin ? t.sin : t.cos);
  }
  s.set(0, r);
}

/** FPTAN (tan, then 1.0), FSINCOS (sin, then cos), FXTRACT (exponent, then significand): two results, one pushed. */
function unaryPush(s: X87Unit, m: Mnemonic): void {
  const both = (f: F80): void => { s.set(0, f); s.push(f); };
  // Underflow is reported before overflow (as FLD; SDM Vol. 1 8.5.1.1).
  const trigOp = m !== Mnemonic.Fxtract;
  // A stack underflow or overflow clears C2 of FPTAN/FSINCOS (measured on AMD Zen 5; FXTRACT leaves it).
  if (s.empty(0)) { if (trigOp) s.setC2(false); if (s.underflow()) return; both(INDEFINITE); return; }
  if (!s.empty(7)) { if (trigOp) s.setC2(false); if (s.overflow()) return; both(INDEFINITE); return; }
  s.setC1(false);
  const x = s.st(0), k = kindOf(x);
  const pre = unaryPre(s, x);
  // As unaryInPlace: an invalid operand clears C2 of FPTAN/FSINCOS, masked or not (measured).
  if (pre === 'stop') { if (trigOp) s.setC2(false); return; }
  if (pre) { both(pre); if (trigOp) s.setC2(false); return; }
  if (trigOp) {
    if (k === Kind.Infinity) { s.setC2(false); if (!s.raise(Exc.IE)) both(INDEFINITE); return; }
    if (x.exp >= TRIG_LIMIT_EXP) { s.setC2(true); return; }
    s.setC2(false);
  }
  if (m === Mnemonic.Fxtract) {
    // SDM Vol. 2A FXTRACT: +-0 raises ZE and gives -inf and the zero; +-inf gives +inf and itself.
    if (k === Kind.Zero) { if (s.raise(Exc.ZE)) return; s.set(0, infinity(1)); s.push(x); return; }
    if (k === Kind.Infinity) { s.set(0, infinity(0)); s.push(x); return; }
    if (k === Kind.Denormal && s.raise(Exc.DE)) return;
    const a = exactOf(x);
    const n = a.mant.toString(2).length;
    const exponent = a.e + n - 1;
    s.set(0, fromInteger(BigInt(exponent)));
    s.push({ sign: x.sign, exp: EXP_BIAS, sig: a.mant << BigInt(64 - n) });
    return;
  }
  if (k === Kind.Denormal && s.raise(Exc.DE)) return;
  const oneF: F80 = { sign: 0, exp: EXP_BIAS, sig: 1n << 63n };
  if (k === Kind.Zero) { s.set(0, x); s.push(m === Mnemonic.Fptan ? oneF : oneF); return; }
  const a = exactOf(x);
  const t = trig(a.sign, a.mant, a.e, REDUCTION_PI_BITS);
  if (m === Mnemonic.Fptan) { const r = roundApprox(s, t.tan); s.set(0, r); s.push(oneF); return; }
  // C1 is the sine's rounding (measured on AMD Zen 5): the cosine is rounded first.
  const cos = roundApprox(s, t.cos);
  const sin = roundApprox(s, t.sin);
  s.set(0, sin);
  s.push(cos);
}

/** FYL2X, FYL2XP1, FPATAN: ST(1) <- f(ST(1), ST(0)), pop. */
function binaryPop(s: X87Unit, m: Mnemonic): void {
  const done = (f: F80): void => { s.set(1, f); s.pop(); };
  if (s.empty(0) || s.empty(1)) { if (s.underflow()) return; done(INDEFINITE); return; }
  s.setC1(false);
  const x = s.st(0), y = s.st(1);
  const pre = binaryPre(s, x, y);
  if (pre === 'stop') return;
  if (pre) { done(pre); return; }
  const kx = kindOf(x), ky = kindOf(y);
  const denormal = isDenormal(x) || isDenormal(y);
  const invalid = (): void => { if (!s.raise(Exc.IE)) done(INDEFINITE); };
  const withDe = (f: () => F80): void => { if (denormal && s.raise(Exc.DE)) return; done(f()); };
  const xinf = kx === Kind.Infinity, yinf = ky === Kind.Infinity, xz = kx === Kind.Zero, yz = ky === Kind.Zero;
  if (m === Mnemonic.Fpatan) {
    // SDM Vol. 2A FPATAN Table 3-29 (no invalid operation: +-0/+-0 give +-0 or +-pi).
    const pi = (num: number, den: number): F80 => { const a = piTimes(num, den); return roundApprox(s, { ...a, sign: y.sign }); };
    if (yz) return withDe(() => (x.sign === 0 ? y : pi(1, 1)));
    if (yinf) return withDe(() => (xinf ? pi(x.sign ? 3 : 1, 4) : pi(1, 2)));
    if (xz) return withDe(() => pi(1, 2));
    if (xinf) return withDe(() => (x.sign ? pi(1, 1) : zero(y.sign)));
    return withDe(() => { const a = exactOf(x), b = exactOf(y); return roundApprox(s, atan2(b.sign, b.mant, b.e, a.sign, a.mant, a.e)); });
  }
  if (m === Mnemonic.Fyl2x) {
    // SDM Vol. 2A FYL2X Table 3-49: y * log2(x).
    if (x.sign === 1 && !xz) return invalid();
    if (xz) {
      // ZE without DE for a denormal y, even with DE unmasked (measured on AMD Zen 5: FSW 3804H).
      if (yz) return invalid();
      if (!yinf && s.raise(Exc.ZE)) return;
      return done(infinity(y.sign ^ 1));
    }
    const b = exactOf(y);
    if (xinf) return yz ? invalid() : withDe(() => infinity(y.sign));
    const a = exactOf(x);
    const isOne = a.mant !== 0n && (a.mant & (a.mant - 1n)) === 0n && a.e + a.mant.toString(2).length - 1 === 0;
    if (yinf) return isOne ? invalid() : withDe(() => infinity(y.sign ^ (compareOne(x) < 0 ? 1 : 0)));
    if (yz) return withDe(() => zero(y.sign ^ (compareOne(x) < 0 ? 1 : 0)));
    return withDe(() => logResult(s, times(b.sign, b.mant, b.e, log2(a.mant, a.e))));
  }
  // FYL2XP1, SDM Vol. 2A Table 3-50: y * log2(x + 1) for |x| < 1 - sqrt(2)/2; beyond, the same function.
  if (xz) { if (yinf) return invalid(); return withDe(() => (yz ? zero(y.sign ^ x.sign) : zero(y.sign ^ x.sign))); }
  if (xinf) { if (x.sign) return invalid(); return yz ? invalid() : withDe(() => infinity(y.sign)); }
  const a = exactOf(x);
  if (yinf) return withDe(() => infinity(y.sign ^ x.sign));
  if (yz) return withDe(() => zero(y.sign ^ x.sign));
  // x <= -1 (outside the SDM's domain, log2 undefined): ST(1) <- x itself, whatever y, with PE and
  // C1 = 0, no IE or ZE (measured on AMD Zen 5 for x from -1 to -1e10, y of either sign, every RC;
  // DE first for a denormal y); assumed for every vendor.
  if (compareMinusOne(x) <= 0) return withDe(() => { s.raise(Exc.PE); return x; });
  const b = exactOf(y);
  const l = a.e + a.mant.toString(2).length - 1 < -1 ? log2p1(a.sign, a.mant, a.e) : log2OfOnePlus(a.sign, a.mant, a.e);
  return withDe(() => logResult(s, times(b.sign, b.mant, b.e, l)));
}
/**
 * FYL2X/FYL2XP1's rounded result: PE even when it is exact and not zero (y times the log2 of a
 * power of two; measured on AMD Zen 5: FYL2X(2, 3), FYL2X(4, 0.5), FYL2XP1(1, 3) set PE with C1 = 0,
 * FYL2X(1, y) = 0 does not); assumed for every vendor.
 */
function logResult(s: X87Unit, a: Approx): F80 {
  const r = roundApprox(s, a);
  if (a.exact && a.mant !== 0n) s.raise(Exc.PE);
  return r;
}
/** log2(1 + x) through 1 + x formed exactly (|x| >= 1/2). */
function log2OfOnePlus(sign: number, mant: bigint, e: number): Approx {
  const lo = Math.min(e, 0);
  const v = (1n << BigInt(-lo)) + (sign ? -1n : 1n) * (mant << BigInt(e - lo));
  return log2(v, lo);
}
/** Compare a positive finite value with 1. */
function compareOne(f: F80): number {
  const a = exactOf(f);
  const top = a.e + a.mant.toString(2).length - 1;
  if (top !== 0) return top < 0 ? -1 : 1;
  return a.mant === 1n << BigInt(-a.e) ? 0 : 1;
}
/** Compare a finite value with -1. */
function compareMinusOne(f: F80): number {
  if (f.sign === 0) return 1;
  return -compareOne(f);
}

/** FSCALE: ST(0) <- ST(0) * 2^trunc(ST(1)) (SDM Vol. 2A FSCALE Table 3-40). */
function fscale(s: X87Unit): void {
  if (s.empty(0) || s.empty(1)) { if (s.underflow()) return; s.set(0, INDEFINITE); return; }
  s.setC1(false);
  const x = s.st(0), y = s.st(1);
  const pre = binaryPre(s, x, y);
  if (pre === 'stop') return;
  if (pre) { s.set(0, pre); return; }
  const kx = kindOf(x), ky = kindOf(y);
  const denormal = isDenormal(x) || isDenormal(y);
  const de = (): boolean => denormal && s.raise(Exc.DE);
  if (ky === Kind.Infinity) {
    if ((y.sign === 1 && kx === Kind.Infinity) || (y.sign === 0 && kx === Kind.Zero)) { if (!s.raise(Exc.IE)) s.set(0, INDEFINITE); return; }
    if (de()) return;
    s.set(0, y.sign ? zero(x.sign) : infinity(x.sign));
    return;
  }
  if (de()) return;
  if (kx === Kind.Zero || kx === Kind.Infinity) return;
  const n = roundToIntegerValue(y, Rounding.Chop).v;
  // Scales beyond the exponent range give the same overflow or underflow as the range's end.
  const LIMIT = 1n << 20n;
  const scale = Number(n > LIMIT ? LIMIT : n < -LIMIT ? -LIMIT : n);
  const a = exactOf(x);
  // Massive overflow or underflow (SDM Vol. 1 8.5.4, 8.5.5): unmasked, a result still out of range
  // after the 24576 bias adjustment is a signed infinity or zero. Measured on AMD Zen 5 for the
  // overflow: -inf with OE, PE and C1 = 1; the underflow's flags (UE, PE, C1 = 0) are assumed.
  const biased = a.e + a.mant.toString(2).length - 1 + scale + EXP_BIAS;
  if (biased - BIAS_ADJUST >= EXP_MAX && !s.masked(Exc.OE)) { s.raise(Exc.OE | Exc.PE); s.setC1(true); s.set(0, infinity(x.sign)); return; }
  if (biased + BIAS_ADJUST <= 0 && !s.masked(Exc.UE)) { s.raise(Exc.UE | Exc.PE); s.setC1(false); s.set(0, zero(x.sign)); return; }
  s.set(0, s.round(a.sign, a.mant, a.e + scale, false, FULL));
}
/** The exponent bias adjustment of an unmasked overflow or underflow to a register (SDM Vol. 1 8.5.4). */
const BIAS_ADJUST = 24576;

/** FPREM (quotient chopped) and FPREM1 (quotient rounded to nearest even), SDM Vol. 2A FPREM/FPREM1. */
function fprem(s: X87Unit, ieee: boolean): void {
  if (s.empty(0) || s.empty(1)) { s.setC2(false); if (s.underflow()) return; s.set(0, INDEFINITE); return; }
  s.setC1(false);
  const x = s.st(0), y = s.st(1);
  // A NaN or an invalid operation, masked or not, clears C2 and keeps C0/C3 (measured on AMD Zen 5:
  // FSW 7101H from 4700H with IE masked, F181H unmasked).
  const pre = binaryPre(s, x, y);
  if (pre === 'stop') { s.setC2(false); return; }
  if (pre) { s.set(0, pre); s.setC2(false); return; }
  const kx = kindOf(x), ky = kindOf(y);
  if (kx === Kind.Infinity || ky === Kind.Zero) { s.setC2(false); if (!s.raise(Exc.IE)) s.set(0, INDEFINITE); return; }
  if ((isDenormal(x) || isDenormal(y)) && s.raise(Exc.DE)) return;
  if (kx === Kind.Zero || ky === Kind.Infinity) { s.setCc(0, 0, 0); return; }
  const a = exactOf(x), b = exactOf(y);
  const ea = a.e + a.mant.toString(2).length - 1, eb = b.e + b.mant.toString(2).length - 1;
  const d = ea - eb;
  const lo = Math.min(a.e, b.e);
  const A = a.mant << BigInt(a.e - lo);
  if (d >= 64) {
    // Partial remainder: the quotient at exponent difference d - N, chopped; C2 = 1.
    const sh = d - partialRemainderBits(d);
    const B = (b.mant << BigInt(b.e - lo)) << BigInt(sh);
    const q = A / B;
    const r = A - q * B;
    s.set(0, r === 0n ? zero(x.sign) : s.round(x.sign, r, lo, false, FULL));
    s.setCc(0, 1, 0);
    return;
  }
  const B = b.mant << BigInt(b.e - lo);
  let q = A / B;
  let r = A - q * B;
  if (ieee && (2n * r > B || (2n * r === B && (q & 1n) === 1n))) { q += 1n; r -= B; }
  const sign = r < 0n ? x.sign ^ 1 : x.sign;
  const mag = r < 0n ? -r : r;
  s.set(0, mag === 0n ? zero(x.sign) : s.round(sign, mag, lo, false, FULL));
  // C0 = Q2, C3 = Q1, C1 = Q0.
  s.setCc(Number((q >> 1n) & 1n), 0, Number((q >> 2n) & 1n));
  s.setC1((q & 1n) === 1n);
}

/** FBLD: push the packed BCD integer (SDM Vol. 2A FBLD; digits above 9 taken at their value, an assumption). */
function fbld(s: X87Unit, b: Uint8Array): void {
  if (!s.empty(7)) { if (s.overflow()) return; s.push(INDEFINITE); return; }
  s.setC1(false);
  let v = 0n;
  for (let i = BCD_DIGITS / 2 - 1; i >= 0; i--) v = v * 100n + BigInt((b[i]! >> 4) * 10 + (b[i]! & 15));
  const sign = b[9]! >> 7;
  s.push(v === 0n ? zero(sign) : { ...fromInteger(v), sign });
}

/** FBSTP: store ST(0) rounded by RC as packed BCD, pop (SDM Vol. 2A FBSTP). */
function fbstp(s: X87Unit, store: (b: Uint8Array) => void): void {
  if (s.empty(0)) { if (s.underflow()) return; store(BCD_INDEFINITE); s.pop(); return; }
  s.setC1(false);
  const f = s.st(0), k = kindOf(f);
  if (k === Kind.Unsupported || isNaN(k) || k === Kind.Infinity) { if (s.raise(Exc.IE)) return; store(BCD_INDEFINITE); s.pop(); return; }
  // No #D: a denormal rounds to 0 with PE (SDM Vol. 2A FBSTP lists #IS, #IA, #P; measured on AMD Zen 5 by `selfcheck x87-functions`).
  const r = roundToIntegerValue(f, s.rc);
  const mag = r.v < 0n ? -r.v : r.v;
  if (mag >= BCD_MAX) { if (s.raise(Exc.IE)) return; store(BCD_INDEFINITE); s.pop(); return; }
  if (r.inexact) s.raise(Exc.PE);
  s.setC1(r.up);
  const out = new Uint8Array(10);
  let v = mag;
  for (let i = 0; i < BCD_DIGITS / 2; i++) { const two = Number(v % 100n); v /= 100n; out[i] = ((Math.floor(two / 10)) << 4) | (two % 10); }
  out[9] = f.sign << 7;
  store(out);
  s.pop();
}

