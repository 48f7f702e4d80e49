/**
 * The x87 computing instructions of emulator/x87/fpu-functions.ts against this host's CPU, one
 * instruction at a time on random operands (src/selfcheck/x87-accuracy-probe.c) in every rounding
 * mode and precision control: FSCALE, FPREM, FPREM1 and FXTRACT must agree bit for bit (results,
 * FSW, tags); the transcendental ones are within 1 ulp on real CPUs, not always correctly rounded
 * (SDM Vol. 1 8.3.10; README, x87), so they must agree in most cases and never be further apart
 * than the measured bound. Large FSIN/FCOS arguments check the 66-bit pi reduction.
 */
import { spawnSync } from 'node:child_process';
import type { Instruction } from 'iced-x86';
import { describe, expect, it } from 'vitest';
import { executeX87 } from '../emulator/x87/fpu.js';
import { TranscendentalSource, isThisHostCpu, withTranscendentalSource } from '../emulator/x87/host-functions.js';
import { type F80, readF80, writeF80 } from '../emulator/x87/float80.js';
import { XsaveContext } from '../emulator/xsave.js';
import { LEGACY } from '../emulator/register-file.js';
import { buildNative } from '../src/native.js';
import { Prng } from '../src/selfcheck/cases.js';
import { assembleLines } from '../src/selfcheck/insn-selfcheck.js';
import { hostModel } from './helpers.js';

/** 'f2xm1-outside': F2XM1 of |x| >= 1 (outside the SDM's domain, +-1 included). */
const OPS = ['f2xm1', 'fyl2x', 'fyl2xp1', 'fptan', 'fpatan', 'fsin', 'fcos', 'fsincos', 'fscale', 'fprem', 'fprem1', 'fxtract', 'f2xm1-outside'] as const;
type Op = (typeof OPS)[number];
const IN = 32, OUT = 48;
/** FNINIT, FLDCW, two FLDs: TOP 6, physical registers 6 and 7 valid. */
const START_FSW = 6 << 11, START_FTW = 0xc0;
const INT = 1n << 63n;

function operands(r: Prng, op: Op): [F80, F80] {
  const sig = (): bigint => ((BigInt(r.next()) << 32n) | BigInt(r.next())) | INT;
  const f = (sign: number, exp: number): F80 => ({ sign, exp, sig: sig() });
  const s = (): number => r.below(2);
  switch (op) {
    case 'f2xm1': return [f(s(), 0x3fff - 1 - r.below(64)), f(0, 0x3fff)];
    case 'fyl2x': return [f(0, 0x3fff - 2000 + r.below(4000)), f(s(), 0x3fff - 20 + r.below(40))];
    case 'fyl2xp1': return [f(s(), 0x3ffc - r.below(64)), f(s(), 0x3fff - 20 + r.below(40))];
    case 'fpatan': return [f(s(), 0x3fff - 40 + r.below(80)), f(s(), 0x3fff - 40 + r.below(80))];
    case 'fsin': case 'fcos': case 'fsincos': case 'fptan': return [f(s(), 0x3fff - 30 + r.below(93)), f(0, 0x3fff)];
    case 'fscale': return [f(s(), 1 + r.below(0x7ffd)), { sign: s(), exp: 0x3fff + r.below(16), sig: sig() }];
    case 'fprem': case 'fprem1': return [f(s(), 0x3fff - 100 + r.below(400)), f(s(), 0x3fff - 100 + r.below(200))];
    case 'fxtract': return [f(s(), 1 + r.below(0x7ffd)), f(0, 0x3fff)];
    case 'f2xm1-outside': return [r.chance(0.2) ? { sign: s(), exp: 0x3fff, sig: INT } : f(s(), 0x3fff + r.below(40)), f(0, 0x3fff)];
  }
}

interface Answer { fsw: number; ftw: number; st: F80[] }

function onHost(cases: { op: Op; fcw: number; a: F80; b: F80 }[]): Answer[] {
  const input = Buffer.alloc(cases.length * IN);
  cases.forEach((c, k) => { input.writeUInt32LE(c.op === 'f2xm1-outside' ? 0 : OPS.indexOf(c.op), k * IN); input.writeUInt16LE(c.fcw, k * IN + 4); writeF80(input, k * IN + 8, c.a); writeF80(input, k * IN + 18, c.b); });
  const res = spawnSync(buildNative('selfcheck/x87-accuracy-probe.c'), [], { input, maxBuffer: 1 << 28 });
  expect(res.status, res.stderr.toString()).toBe(0);
  return cases.map((_, k) => { const o = res.stdout.subarray(k * OUT, (k + 1) * OUT); return { fsw: o.readUInt16LE(0), ftw: o[2]!, st: [0, 1, 2].map((i) => readF80(o, 8 + 10 * i)) }; });
}

const decodedOps = new Map<Op, Instruction>();
/** The instruction, assembled once (assembleLines runs the assembler). */
function decoded(op: Op): Instruction {
  let ins = decodedOps.get(op);
  if (!ins) { ins = assembleLines([op === 'f2xm1-outside' ? 'f2xm1' : op])[0]!.ins; decodedOps.set(op, ins); }
  return ins;
}

function onModel(ctx: XsaveContext, op: Op, fcw: number, a: F80, b: F80, src = TranscendentalSource.Rule): Answer {
  const v = ctx.regs.legacyView, L = ctx.regs.legacy;
  v.setUint16(LEGACY.FCW, fcw, true);
  v.setUint16(LEGACY.FSW, START_FSW, true);
  L[LEGACY.FTW] = START_FTW;
  L.fill(0, LEGACY.ST0, LEGACY.XMM0);
  writeF80(L, LEGACY.ST0, a);
  writeF80(L, LEGACY.ST0 + LEGACY.ST_STRIDE, b);
  withTranscendentalSource(src, () => executeX87(ctx, decoded(op), { ea: () => 0n, read: () => new Uint8Array(10), write: () => {}, setAx: () => {}, setCompareFlags: () => {}, rflags: () => 0n }));
  return { fsw: v.getUint16(LEGACY.FSW, true), ftw: L[LEGACY.FTW]!, st: [0, 1, 2].map((i) => readF80(L, LEGACY.ST0 + i * LEGACY.ST_STRIDE)) };
}

/** Distance in ulps of two values of the same sign (as ordered integers); Infinity across signs. */
function ulps(x: F80, y: F80): number {
  if (x.sign !== y.sign) return Infinity;
  const o = (f: F80): bigint => (BigInt(f.exp) << 64n) | f.sig;
  const d = o(x) - o(y);
  return Number(d < 0n ? -d : d);
}

/** An operand from every class: normals near 1 and far, zeros, infinities, NaNs, denormals, unnormals, values near -1. */
function special(r: Prng): F80 {
  const sig = (): bigint => ((BigInt(r.next()) << 32n) | BigInt(r.next())) | INT;
  const sign = r.below(2);
  switch (r.below(10)) {
    case 0: return { sign, exp: 0, sig: 0n };
    case 1: return { sign, exp: 0x7fff, sig: INT };
    case 2: return { sign, exp: 0x7fff, sig: INT | (1n << 62n) | BigInt(r.next()) };
    case 3: return { sign, exp: 0x7fff, sig: INT | BigInt(r.next() | 1) };
    case 4: return { sign, exp: 0, sig: BigInt(r.next() | 1) << BigInt(r.below(32)) };
    case 5: return { sign, exp: 1 + r.below(0x7ffd), sig: sig() & ~INT };
    case 6: return { sign: 1, exp: 0x3fff + r.below(3), sig: r.chance(0.3) ? INT : sig() };
    case 7: return { sign, exp: 1 + r.below(0x7ffd), sig: sig() };
    default: return { sign, exp: 0x3fff - 70 + r.below(140), sig: sig() };
  }
}

function compare(op: Op, n: number, seed: number, o: { src?: TranscendentalSource; specials?: boolean } = {}): { same: number; worst: number; cases: number; firstDiff?: string } {
  const r = new Prng(seed);
  // With specials: random exception masks too (unmasked exceptions leave what the CPU leaves).
  const cases = Array.from({ length: n }, () => {
    const [a, b] = o.specials ? [special(r), special(r)] : operands(r, op);
    return { op, fcw: (o.specials ? r.below(64) : 0x3f) | 0x40 | (r.pick([0, 2, 3]) << 8) | (r.below(4) << 10), a, b };
  });
  const host = onHost(cases);
  const ctx = new XsaveContext(hostModel());
  let same = 0, worst = 0, firstDiff: string | undefined;
  cases.forEach((c, k) => {
    const h = host[k]!, m = onModel(ctx, op, c.fcw, c.a, c.b, o.src);
    const top = (h.fsw >> 11) & 7;
    const valid = (i: number): boolean => ((h.ftw >> ((top + i) & 7)) & 1) === 1;
    let d = 0;
    for (let i = 0; i < 3; i++) if (valid(i)) d = Math.max(d, ulps(h.st[i]!, m.st[i]!));
    if (d === 0 && h.fsw === m.fsw && h.ftw === m.ftw) same++;
    else firstDiff ??= `${op} FCW ${c.fcw.toString(16)} of ${JSON.stringify([c.a, c.b], (_, x) => (typeof x === 'bigint' ? x.toString(16) : x))}: host FSW ${h.fsw.toString(16)} model ${m.fsw.toString(16)}, ${d} ulps`;
    worst = Math.max(worst, h.ftw === m.ftw ? d : Infinity);
  });
  return { same, worst, cases: n, firstDiff };
}

describe('x87 transcendental instructions on the host path (host-functions.ts) against this host', () => {
  it('the live host profile is this CPU (assumption x87-transcendental-host); a built-in profile never is', () => {
    expect(isThisHostCpu(hostModel())).toBe(true);
    expect(isThisHostCpu(hostModel((p) => { p.source.kind = 'instlatx64-dump'; }))).toBe(false);
    // Another stepping (CPUID.01H:EAX[3:0]) is another CPU.
    expect(isThisHostCpu(hostModel((p) => { const l1 = p.cpuid['00000001']!; l1[0] = `0x${(Number(l1[0]) ^ 1).toString(16).padStart(8, '0')}`; }))).toBe(false);
  });
  for (const op of ['f2xm1', 'fyl2x', 'fyl2xp1', 'fptan', 'fpatan', 'fsin', 'fcos', 'fsincos'] as const) {
    it(`${op}: bit for bit (values, FSW with C1/C2 and the flags, tags) on in-range operands and on every class with random masks`, () => {
      for (const s of [compare(op, 300, 21, { src: TranscendentalSource.Host }), compare(op, 300, 22, { src: TranscendentalSource.Host, specials: true })]) {
        expect(s.same, s.firstDiff).toBe(s.cases);
      }
    });
  }
});

describe('x87 computing instructions against this host (rule path: correctly rounded)', () => {
  for (const op of ['fscale', 'fprem', 'fprem1', 'fxtract', 'f2xm1-outside'] as const) {
    it(`${op}: bit for bit`, () => {
      const s = compare(op, 600, 11);
      expect(s.same, s.firstDiff).toBe(s.cases);
    });
  }
  // Measured bounds (README, x87): within 1 ulp; FCOS/FPTAN/FSINCOS up to 5 ulps near a zero of the cosine.
  const bound: Partial<Record<Op, number>> = { fcos: 8, fptan: 8, fsincos: 8 };
  for (const op of ['f2xm1', 'fyl2x', 'fyl2xp1', 'fpatan', 'fsin', 'fcos', 'fsincos', 'fptan'] as const) {
    it(`${op}: the correctly rounded value is the CPU's in at least 90% of the cases, never more than ${bound[op] ?? 1} ulp(s) off`, () => {
      const s = compare(op, 600, 12);
      console.log(`${op}: ${s.same} of ${s.cases} identical (value, FSW, tags), worst ${s.worst} ulp(s)`);
      expect(s.same / s.cases, s.firstDiff).toBeGreaterThan(0.9);
      expect(s.worst, s.firstDiff).toBeLessThanOrEqual(bound[op] ?? 1);
    });
  }
});
