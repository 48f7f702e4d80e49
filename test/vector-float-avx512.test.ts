/**
 * The AVX-512F/DQ floating-point instructions without an SSE counterpart (emulator/vector/
 * float-avx512.ts, the kernel's getexp ... fpclass in emulator/native/sse-float.c): the SDM's
 * special cases and the corners measured on AMD Zen 5 (each named where it is modelled), checked
 * on the model with no host involved; the vendor quirk vreduce-no-precision on profiles with and
 * without it; VRCP14/VRSQRT14 as vendor approximations; and the instruction referee on these
 * templates when the host has AVX-512F/DQ.
 */
import { Code, Decoder, DecoderOptions, Encoder, Instruction, Register } from 'iced-x86';
import { describe, expect, it } from 'vitest';
import { emulateVector, type ExecEnv } from '../emulator/avx.js';
import { vendorDefaults } from '../emulator/vendor-defaults.js';
import { builtinProfileIds, loadBuiltinQuietly } from '../emulator/profile.js';
import { Quirk } from '../emulator/quirks.js';
import { UpperBits, VectorFile, WriteKind } from '../emulator/vector-file.js';
import { ApproximationUnknown, FpKind, FpType, fpOp, fpRun, hostVendor } from '../emulator/vector/float-kernel.js';
import { MXCSR } from '../emulator/vector/mxcsr.js';
import { XsaveContext } from '../emulator/xsave.js';
import { runInsnSelfcheck } from '../src/selfcheck/insn-selfcheck.js';
import { hostModel } from './helpers.js';

class Env implements ExecEnv {
  constructor(readonly vec: VectorFile) {}
  getGpr(): bigint { return 0n; }
  setGpr(): void {}
  readMem(): Uint8Array { throw new Error('no memory in this test'); }
  writeMem(): void { throw new Error('no memory in this test'); }
  setStatusFlags(): void {}
  segmentBase(): bigint { return 0n; }
}
function machine(profile: string): { env: Env; vec: VectorFile } {
  const cpu = loadBuiltinQuietly(profile);
  const ctx = new XsaveContext(cpu);
  ctx.xcr0 = cpu.xcr0Supported;
  const vec = new VectorFile(ctx.regs);
  return { env: new Env(vec), vec };
}
function roundTrip(ins: Instruction): Instruction {
  const e = new Encoder(64);
  e.encode(ins, 0n);
  const bytes = e.takeBuffer();
  e.free();
  const d = new Decoder(64, bytes, DecoderOptions.None);
  const out = d.decode();
  d.free();
  return out;
}
const f32 = (bits: number): Uint8Array => { const b = new Uint8Array(16); new DataView(b.buffer).setUint32(0, bits >>> 0, true); return b; };

/** One binary32 element through the kernel: [result bits, flags]. */
function one(kind: FpKind, x: number, imm = 0, mxcsr: number = MXCSR.MASKS, y = 0, z = 0): [number, number] {
  const out = new Uint8Array(4);
  const fl = fpRun(fpOp(kind, FpType.F32), 1, f32(x), f32(y), f32(z), out, mxcsr, imm, 1, 0);
  return [new DataView(out.buffer).getUint32(0, true), fl];
}
/** One binary64 element: [result bits, flags]. */
function one64(kind: FpKind, x: bigint, imm = 0, mxcsr: number = MXCSR.MASKS, y = 0n, z = 0n): [bigint, number] {
  const b = (v: bigint): Uint8Array => { const a = new Uint8Array(8); new DataView(a.buffer).setBigUint64(0, v, true); return a; };
  const out = new Uint8Array(8);
  const fl = fpRun(fpOp(kind, FpType.F64), 1, b(x), b(y), b(z), out, mxcsr, imm, 1, 0);
  return [new DataView(out.buffer).getBigUint64(0, true), fl];
}
const { IE, DE, ZE, UE, PE, DAZ, FTZ } = MXCSR;
const M = MXCSR.MASKS;

describe('AVX-512F/DQ floating point without an SSE counterpart', () => {
  it('VGETEXP (SDM Vol. 2C VGETEXPPD Table 5-15): floor(log2|x|), -INF for zeros, +INF for infinities, DE for a denormal, DAZ', () => {
    expect(one(FpKind.Getexp, 0x40400000)).toEqual([0x3f800000, 0]); // 3.0 -> 1
    expect(one(FpKind.Getexp, 0x80000000)).toEqual([0xff800000, 0]);
    expect(one(FpKind.Getexp, 0xff800000)).toEqual([0x7f800000, 0]);
    expect(one(FpKind.Getexp, 0x00000001)).toEqual([0xc3150000, DE]); // -149
    expect(one(FpKind.Getexp, 0x00000001, 0, M | DAZ)).toEqual([0xff800000, 0]);
    expect(one(FpKind.Getexp, 0x7fa00000)).toEqual([0x7fe00000, IE]);
    expect(one64(FpKind.Getexp, 1n)).toEqual([0xc090c80000000000n, DE]); // -1074
  });
  it('VGETMANT ("GetNormalizedMantissa"): intervals, sign control, zeros and (measured) -INF and DAZ', () => {
    // 12.0 = 1.5 * 2^3: [1,2) 1.5; [1/2,2) with odd exponent 0.75; [1/2,1) 0.75; [3/4,3/2) 0.75.
    expect(one(FpKind.Getmant, 0x41400000, 0)[0]).toBe(0x3fc00000);
    expect(one(FpKind.Getmant, 0x41400000, 1)[0]).toBe(0x3f400000);
    expect(one(FpKind.Getmant, 0x41400000, 2)[0]).toBe(0x3f400000);
    expect(one(FpKind.Getmant, 0x41400000, 3)[0]).toBe(0x3f400000);
    expect(one(FpKind.Getmant, 0xc1400000, 0)[0]).toBe(0xbfc00000);
    expect(one(FpKind.Getmant, 0xc1400000, 4)[0]).toBe(0x3fc00000); // sign control 01: +
    expect(one(FpKind.Getmant, 0xc1400000, 8)).toEqual([0xffc00000, IE]); // sign control 1x, negative: indefinite
    // Zeros give 1.0 (no IE even when negative with sign control 1x); -INF with 1x is invalid (measured, AMD Zen 5).
    expect(one(FpKind.Getmant, 0x80000000, 2)).toEqual([0xbf800000, 0]);
    expect(one(FpKind.Getmant, 0x80000000, 8)).toEqual([0xbf800000, 0]);
    expect(one(FpKind.Getmant, 0xff800000, 8)).toEqual([0xffc00000, IE]);
    expect(one(FpKind.Getmant, 0xff800000, 0)).toEqual([0xbf800000, 0]);
    // A denormal: normalized, DE; under DAZ a zero (1.0 whatever the interval).
    expect(one(FpKind.Getmant, 0x00600000, 0)).toEqual([0x3fc00000, DE]);
    expect(one(FpKind.Getmant, 0x00600000, 2, M | DAZ)).toEqual([0x3f800000, 0]);
  });
  it('VSCALEF ("SCALE", Table 5-39): one rounding, overflow and underflow by RC and FTZ, DE from src1 only, NaN and infinity rows', () => {
    expect(one(FpKind.Scalef, 0x3f800000, 0, M, 0x40400000)).toEqual([0x41000000, 0]); // 1 * 2^3
    expect(one(FpKind.Scalef, 0x3fc00000, 0, M, 0xbf000000)).toEqual([0x3f400000, 0]); // 1.5 * 2^floor(-0.5) = 0.75
    expect(one(FpKind.Scalef, 0x3f800000, 0, M, 0xc3000000)).toEqual([0x00200000, 0]); // 2^-128: exact denormal
    expect(one(FpKind.Scalef, 0x3f800001, 0, M, 0xc3000000)).toEqual([0x00200000, UE | PE]);
    expect(one(FpKind.Scalef, 0x3f800000, 0, M | FTZ, 0xc3000000)).toEqual([0, UE | PE]);
    expect(one(FpKind.Scalef, 0x3f800000, 0, M, 0x43800000)).toEqual([0x7f800000, MXCSR.OE | PE]);
    expect(one(FpKind.Scalef, 0x3f800000, 0, M | (3 << MXCSR.RC_SHIFT), 0x43800000)).toEqual([0x7f7fffff, MXCSR.OE | PE]);
    expect(one(FpKind.Scalef, 0x00000001, 0, M, 0x3f800000)).toEqual([0x00000002, DE]);
    expect(one(FpKind.Scalef, 0x3f800000, 0, M, 0x00000001)).toEqual([0x3f800000, 0]); // a denormal src2: no DE
    expect(one(FpKind.Scalef, 0x7fc00000, 0, M, 0x7f800000)).toEqual([0x7f800000, 0]); // QNaN, +INF -> +INF
    expect(one(FpKind.Scalef, 0xffc00001, 0, M, 0xff800000)).toEqual([0, 0]); // QNaN, -INF -> +0
    expect(one(FpKind.Scalef, 0, 0, M, 0x7f800000)).toEqual([0xffc00000, IE]); // 0 * 2^+INF
    expect(one(FpKind.Scalef, 0xff800000, 0, M, 0xff800000)).toEqual([0xffc00000, IE]); // INF * 2^-INF
  });
  it('VRANGE ("RangeDP"): the four selections, the sign control, QNaN gives the other operand, equal magnitudes of opposite signs', () => {
    const r = (x: number, y: number, imm: number, mx = M): [number, number] => one(FpKind.Range, x, imm, mx, y);
    expect(r(0x3f800000, 0xc0000000, 0b0100)[0]).toBe(0xc0000000); // min, sign of the selected
    expect(r(0x3f800000, 0xc0000000, 0b0101)[0]).toBe(0x3f800000); // max
    expect(r(0x3f800000, 0xc0000000, 0b0110)[0]).toBe(0x3f800000); // min magnitude
    expect(r(0x3f800000, 0xc0000000, 0b0111)[0]).toBe(0xc0000000); // max magnitude
    expect(r(0x3f800000, 0xc0000000, 0b0011)[0]).toBe(0x40000000); // sign control 00: src1's sign
    expect(r(0x3f800000, 0xc0000000, 0b1011)[0]).toBe(0x40000000); // 10: +
    expect(r(0x3f800000, 0xc0000000, 0b1110)[0]).toBe(0xbf800000); // 11: -
    expect(r(0x3f800000, 0x7fc00000, 0b0101)[0]).toBe(0x3f800000); // QNaN src2: src1
    expect(r(0x7fa00000, 0x3f800000, 0b0101)).toEqual([0x7fe00000, IE]);
    expect(r(0x00000000, 0x80000000, 0b0100)[0]).toBe(0x80000000); // min(+0, -0) = -0
    expect(r(0x3f800000, 0xbf800000, 0b0110)[0]).toBe(0xbf800000); // min magnitude of +-1: the negative
    expect(r(0x00000001, 0x3f800000, 0b0100)).toEqual([0x00000001, DE]);
  });
  it('VREDUCE ("ReduceArgumentDP"): x - round(x * 2^M) / 2^M, INF -> +0, FTZ, PE by SPE and (quirk) the result only', () => {
    const NO_PE = 0x100; // sse-float.c REDUCE_NO_PE (quirk vreduce-no-precision)
    expect(one(FpKind.Reduce, 0x3fc00000, 0x00)[0]).toBe(0xbf000000); // 1.5 - 2 (RNE)
    expect(one(FpKind.Reduce, 0x3fc00000, 0x01)[0]).toBe(0x3f000000); // 1.5 - 1 (down)
    expect(one(FpKind.Reduce, 0x3fd00000, 0x10)[0]).toBe(0x3e000000); // M = 1: 1.625 - 1.5
    expect(one(FpKind.Reduce, 0x7f800000, 0x00)).toEqual([0, 0]);
    expect(one(FpKind.Reduce, 0x3fc00001, 0x00)).toEqual([0xbefffffc, PE]); // SDM: the inexact rounding step
    expect(one(FpKind.Reduce, 0x3fc00001, 0x08)).toEqual([0xbefffffc, 0]); // SPE
    expect(one(FpKind.Reduce, 0x3fc00001, 0x00 | NO_PE)).toEqual([0xbefffffc, 0]); // quirk: the result is exact
    expect(one(FpKind.Reduce, 0x00000010, 0x40 | NO_PE, M | FTZ)).toEqual([0, PE]); // flushed
    expect(one(FpKind.Reduce, 0x00000010, 0x48 | NO_PE, M | FTZ)).toEqual([0, 0]);
  });
  it('VFIXUPIMM ("FIXUPIMM_DP"): the token, the response table, the fault bits of imm8, QNaN(tsrc) and DAZ as measured', () => {
    // Tokens: QNaN 0, SNaN 1, zero 2, +1 3, -INF 4, +INF 5, negative 6, positive 7. Table nibble j = response.
    const table = (resp: Record<number, number>): number => Object.entries(resp).reduce((t, [j, r]) => t | (r << (4 * Number(j))), 0) >>> 0;
    const fx = (x: number, tbl: number, imm = 0, mx = M, dest = 0x12345678): [number, number] => one(FpKind.Fixupimm, dest, imm, mx, x, tbl);
    expect(fx(0x40000000, table({ 7: 0 }))[0]).toBe(0x12345678); // 0000: keep the destination
    expect(fx(0x40000000, table({ 7: 1 }))[0]).toBe(0x40000000); // 0001: src1
    expect(fx(0x3f800000, table({ 3: 2 }))[0]).toBe(0x7fc00000); // 0010: QNaN(+1.0) (measured)
    expect(fx(0xc0000000, table({ 6: 12 }))[0]).toBe(0x42b40000); // 1100: 90.0
    expect(fx(0xc0000000, table({ 6: 13 }))[0]).toBe(0x3fc90fdb); // 1101: pi/2
    expect(fx(0xc0000000, table({ 6: 6 }))[0]).toBe(0xff800000); // 0110: INF of tsrc's sign
    expect(fx(0x00000000, 0, 0x01)).toEqual([0x12345678, ZE]);
    expect(fx(0x00000000, 0, 0x02)).toEqual([0x12345678, IE]);
    expect(fx(0x3f800000, 0, 0x04)).toEqual([0x12345678, ZE]);
    expect(fx(0xff800000, 0, 0x20)).toEqual([0x12345678, IE]);
    expect(fx(0x80000001, table({ 2: 1 }), 0, M | DAZ)[0]).toBe(0x80000000); // DAZ: a zero of its sign (measured)
    // Binary64: a negative denormal is token 6; response 0101 is +INF, 1110 the largest finite.
    expect(one64(FpKind.Fixupimm, 0n, 0, M, 0x8000000000000001n, 0x05000000n)[0]).toBe(0x7ff0000000000000n);
    expect(one64(FpKind.Fixupimm, 0n, 0, M, 0x8000000000000001n, 0x0e000000n)[0]).toBe(0x7fefffffffffffffn);
  });
  it('VFPCLASS: the eight classes, a denormal is a zero under DAZ (measured)', () => {
    const cls = (x: number, mx = M): number => { let c = 0; for (let b = 0; b < 8; b++) if (one(FpKind.Fpclass, x, 1 << b, mx)[0]) c |= 1 << b; return c; };
    expect(cls(0x7fc00000)).toBe(0x01);
    expect(cls(0x00000000)).toBe(0x02);
    expect(cls(0x80000000)).toBe(0x04);
    expect(cls(0x7f800000)).toBe(0x08);
    expect(cls(0xff800000)).toBe(0x10);
    expect(cls(0x00000001)).toBe(0x20);
    expect(cls(0x80000001)).toBe(0x60);
    expect(cls(0xbf800000)).toBe(0x40);
    expect(cls(0x3f800000)).toBe(0x00);
    expect(cls(0x7fa00000)).toBe(0x80);
    expect(cls(0x80000001, M | DAZ)).toBe(0x04);
  });

  it('quirk vreduce-no-precision: the AMD profiles have it, the Intel ones do not, and the instruction follows it', () => {
    const run = (profile: string): number => {
      const { env, vec } = machine(profile);
      vec.regs.mxcsr = MXCSR.MASKS;
      vec.write(2, f32(0x3fc00001), UpperBits.Zero, WriteKind.Compute);
      const ins = roundTrip(Instruction.createRegRegRegU32(Code.EVEX_Vreducess_xmm_k1z_xmm_xmmm32_imm8_sae, Register.XMM0, Register.XMM1, Register.XMM2, 0));
      expect(emulateVector(ins, env)).toBe(true);
      expect(new DataView(vec.read(0, 16).buffer).getUint32(0, true)).toBe(0xbefffffc);
      return vec.regs.mxcsr & MXCSR.FLAGS;
    };
    // Each built-in profile carries the quirk as the vendor defaults derive it from its own CPUID
    // (emulator/vendor-defaults.ts), never by a vendor named here.
    for (const id of builtinProfileIds()) {
      const cpu = loadBuiltinQuietly(id);
      const byDefaults = vendorDefaults(cpu.profile.vendor, cpu.cpuid).quirks.some((q) => q.id === Quirk.VreduceNoPrecision);
      expect(cpu.hasQuirk(Quirk.VreduceNoPrecision), id).toBe(byDefaults);
    }
    // One AVX-512 profile with the quirk and one without: PE as the quirk says (SDM Vol. 2C VREDUCESS).
    const avx512 = builtinProfileIds().filter((id) => loadBuiltinQuietly(id).features.avx512f);
    const withQuirk = avx512.find((id) => loadBuiltinQuietly(id).hasQuirk(Quirk.VreduceNoPrecision));
    const without = avx512.find((id) => !loadBuiltinQuietly(id).hasQuirk(Quirk.VreduceNoPrecision));
    expect(withQuirk && without, 'built-in AVX-512 profiles with and without vreduce-no-precision').toBeTruthy();
    expect(run(withQuirk!)).toBe(0);
    expect(run(without!)).toBe(PE);
  });

  it('VRCP14/VRSQRT14 on a profile of another vendor than the host stop naming the instruction (vendor approximation)', () => {
    const host = hostVendor();
    const other = builtinProfileIds().find((id) => { const c = loadBuiltinQuietly(id); return c.profile.vendor !== host && c.features.avx512f; });
    expect(other, `a built-in AVX-512 profile whose vendor is not ${host}`).toBeDefined();
    if (!other) return;
    const { env } = machine(other);
    const ins = roundTrip(Instruction.createRegReg(Code.EVEX_Vrcp14ps_zmm_k1z_zmmm512b32, Register.ZMM0, Register.ZMM1));
    expect(() => emulateVector(ins, env)).toThrow(ApproximationUnknown);
  });
});

const cpu = hostModel();
const l7 = cpu.cpuid.get(7, 0);
/** CPUID.(07H,0):EBX bit 16 AVX512F, bit 17 AVX512DQ (SDM Vol. 2A Table 3-8). */
const hostAvx512fdq = ((l7[1] >>> 16) & 3) === 3;

describe('AVX-512F/DQ floating point against the host', () => {
  it.runIf(hostAvx512fdq)('VRCP14/VRSQRT14 of the host (the profile vendor\'s) stay within the SDM\'s bound: relative error < 2^-14', () => {
    let worst = 0;
    for (let m = 0; m < 1 << 23; m += 997) {
      const x = 0x3f800000 | m;
      const xv = new DataView(f32(x).buffer).getFloat32(0, true);
      const r = new DataView(f32(one(FpKind.Rcp14, x)[0]).buffer).getFloat32(0, true);
      const s = new DataView(f32(one(FpKind.Rsqrt14, x)[0]).buffer).getFloat32(0, true);
      worst = Math.max(worst, Math.abs(r * xv - 1), Math.abs(s * Math.sqrt(xv) - 1));
    }
    expect(worst).toBeLessThan(2 ** -14);
    expect(worst).toBeGreaterThan(0); // an approximation, not the exact value
  });
  it.runIf(hostAvx512fdq)('the instruction referee: every AVX-512F/DQ form of these mnemonics matches the host, #XM included', () => {
    const lines: string[] = [];
    const only = /^v(getexp|getmant|scalef|range|reduce|fixupimm|fpclass|rcp14|rsqrt14)/;
    const s = runInsnSelfcheck({ cpu, cases: 1500, seed: 11, log: (l) => lines.push(l), detail: 10 }, (t, floating) => floating && only.test(t));
    console.log(lines.join('\n'));
    expect(s.cases).toBe(1500);
    expect(s.mismatches, lines.join('\n')).toBe(0);
    expect(s.hostSigfpe).toBeGreaterThan(10);
  }, 120_000);
  // The quirk as the host's capture says (an AMD vendor default, an Intel absence): flipping it must make the referee disagree.
  it.runIf(hostAvx512fdq)('vreduce-no-precision is needed exactly as the host profile says: the referee disagrees with it flipped', () => {
    const has = cpu.hasQuirk(Quirk.VreduceNoPrecision);
    const flipped = hostModel((p) => {
      p.quirks = has ? p.quirks.filter((x) => x.id !== Quirk.VreduceNoPrecision) : [...p.quirks, { id: Quirk.VreduceNoPrecision, evidence: 'test: flipped' }];
    });
    const s = runInsnSelfcheck({ cpu: flipped, cases: 600, seed: 4, log: () => {}, detail: 0 }, (t, floating) => floating && /^vreduce/.test(t));
    expect(s.mismatches).toBeGreaterThan(0);
  }, 120_000);
  it.runIf(!hostAvx512fdq)('referee cannot run here', () => console.log('host has no AVX-512F/DQ: these forms are checked above against the SDM only'));
});
