/**
 * Floating-point templates and states for the instruction referee (insn-selfcheck.ts): every
 * emulated VEX/EVEX floating-point form (emulator/vector/float.ts, mxcsr.ts) with registers 0-31,
 * masks and zeroing, broadcasts, memory operands, embedded rounding and SAE; registers and memory
 * seeded with special values (signed zeros, denormals, the smallest and largest normals,
 * infinities, quiet and signalling NaNs, integer boundaries) and ordinary numbers; MXCSR with a
 * random rounding mode, DAZ, FTZ, sticky flags and, in a quarter of the cases, unmasked exceptions.
 */
import type { CpuModel } from '../../emulator/cpu-model.js';
import { XSAVE_HEADER_OFFSET } from '../../emulator/cpu-model.js';
import { LEGACY } from '../../emulator/register-file.js';
import { XFeature } from '../../emulator/xfeatures.js';
import type { Prng } from './cases.js';

export type FloatFeature = 'sse3' | 'sse41' | 'avx' | 'fma' | 'f16c' | 'avx512f' | 'avx512dq' | 'avx512vl' | 'avx512bf16';
export interface FloatTemplate { t: string; needs: FloatFeature[]; fp: 4 | 8 }

const ARITH = ['add', 'sub', 'mul', 'div', 'min', 'max'];
const FMA = ['fmadd', 'fmsub', 'fnmadd', 'fnmsub', 'fmaddsub', 'fmsubadd'];

function build(): FloatTemplate[] {
  const T: FloatTemplate[] = [];
  const add = (t: string, needs: FloatFeature[], fp: 4 | 8): void => { T.push({ t, needs, fp }); };
  for (const op of ARITH) {
    const rnd = op === 'min' || op === 'max' ? '{sae}' : '{er}';
    for (const [suf, fp] of [['ps', 4], ['pd', 8]] as const) {
      add(`v${op}${suf} {y}, {y}, {y}`, ['avx'], fp);
      add(`v${op}${suf} {m}, {x}, {x}`, ['avx'], fp);
      add(`v${op}${suf} ${rnd}{Ez}, {Ez}, {Ez}{mask}`, ['avx512f'], fp);
      add(`v${op}${suf} {m}{b${fp}z}, {Ez}, {Ez}{mask}`, ['avx512f'], fp);
      add(`v${op}${suf} {Ey}, {Ey}, {Ey}{mask}`, ['avx512f', 'avx512vl'], fp);
    }
    for (const [suf, fp] of [['ss', 4], ['sd', 8]] as const) {
      add(`v${op}${suf} {x}, {x}, {x}`, ['avx'], fp);
      add(`v${op}${suf} {m}, {x}, {x}`, ['avx'], fp);
      add(`v${op}${suf} ${rnd}{Ex}, {Ex}, {Ex}{mask}`, ['avx512f'], fp);
      add(`v${op}${suf} {m}, {Ex}, {Ex}{mask}`, ['avx512f'], fp);
    }
  }
  for (const [suf, fp] of [['ps', 4], ['pd', 8]] as const) {
    add(`vsqrt${suf} {y}, {y}`, ['avx'], fp);
    add(`vsqrt${suf} {er}{Ez}, {Ez}{mask}`, ['avx512f'], fp);
    add(`vsqrt${suf} {m}{b${fp}z}, {Ez}{mask}`, ['avx512f'], fp);
    add(`vround${suf} {i}, {y}, {y}`, ['avx'], fp);
    add(`vrndscale${suf} {i}, {sae}{Ez}, {Ez}{mask}`, ['avx512f'], fp);
    add(`vrndscale${suf} {i}, {Ex}, {Ex}{mask}`, ['avx512f', 'avx512vl'], fp);
    add(`vcmp${suf} {p}, {y}, {y}, {y}`, ['avx'], fp);
    add(`vcmp${suf} {p}, {m}, {x}, {x}`, ['avx'], fp);
    add(`vcmp${suf} {p}, {sae}{Ez}, {Ez}, {k}{maskk}`, ['avx512f'], fp);
    add(`vcmp${suf} {p}, {m}{b${fp}z}, {Ez}, {k}{maskk}`, ['avx512f'], fp);
    add(`vaddsub${suf} {y}, {y}, {y}`, ['avx'], fp);
    add(`vhadd${suf} {y}, {y}, {y}`, ['avx'], fp);
    add(`vhsub${suf} {x}, {x}, {x}`, ['avx'], fp);
    for (const f of FMA) for (const form of ['132', '213', '231']) {
      add(`v${f}${form}${suf} {y}, {y}, {y}`, ['fma'], fp);
      add(`v${f}${form}${suf} {er}{Ez}, {Ez}, {Ez}{mask}`, ['avx512f'], fp);
      add(`v${f}${form}${suf} {m}{b${fp}z}, {Ez}, {Ez}{mask}`, ['avx512f'], fp);
    }
  }
  for (const [suf, fp] of [['ss', 4], ['sd', 8]] as const) {
    add(`vsqrt${suf} {x}, {x}, {x}`, ['avx'], fp);
    add(`vsqrt${suf} {er}{Ex}, {Ex}, {Ex}{mask}`, ['avx512f'], fp);
    add(`vround${suf} {i}, {m}, {x}, {x}`, ['avx'], fp);
    add(`vrndscale${suf} {i}, {Ex}, {Ex}, {Ex}{mask}`, ['avx512f'], fp);
    add(`vcmp${suf} {p}, {x}, {x}, {x}`, ['avx'], fp);
    add(`vcmp${suf} {p}, {sae}{Ex}, {Ex}, {k}{maskk}`, ['avx512f'], fp);
    add(`vcomi${suf} {x}, {x}`, ['avx'], fp);
    add(`vucomi${suf} {m}, {x}`, ['avx'], fp);
    add(`vcomi${suf} {sae}{Ex}, {Ex}`, ['avx512f'], fp);
    for (const f of FMA.slice(0, 4)) for (const form of ['132', '213', '231']) {
      add(`v${f}${form}${suf} {x}, {x}, {x}`, ['fma'], fp);
      add(`v${f}${form}${suf} {er}{Ex}, {Ex}, {Ex}{mask}`, ['avx512f'], fp);
    }
  }
  add('vdpps {i}, {y}, {y}, {y}', ['avx'], 4);
  add('vdppd {i}, {x}, {x}, {x}', ['avx'], 8);
  // Conversions (VEX).
  add('vcvtps2pd {x}, {y}', ['avx'], 4);
  add('vcvtpd2ps {y}, {x}', ['avx'], 8);
  add('vcvtdq2ps {y}, {y}', ['avx'], 4);
  add('vcvtps2dq {y}, {y}', ['avx'], 4);
  add('vcvttps2dq {m}, {x}', ['avx'], 4);
  add('vcvtdq2pd {x}, {y}', ['avx'], 4);
  add('vcvtpd2dq {y}, {x}', ['avx'], 8);
  add('vcvttpd2dq {x}, {x}', ['avx'], 8);
  add('vcvtph2ps {x}, {y}', ['f16c'], 4);
  add('vcvtps2ph {i}, {y}, {x}', ['f16c'], 4);
  add('vcvtps2ph {i}, {x}, {m}', ['f16c'], 4);
  add('vcvtss2sd {x}, {x}, {x}', ['avx'], 4);
  add('vcvtsd2ss {m}, {x}, {x}', ['avx'], 8);
  add('vcvtsi2ss {r32}, {x}, {x}', ['avx'], 4);
  add('vcvtsi2sd {r64}, {x}, {x}', ['avx'], 8);
  add('vcvtsi2ssq {m}, {x}, {x}', ['avx'], 8);
  add('vcvtss2si {x}, {r32}', ['avx'], 4);
  add('vcvttss2si {m}, {r64}', ['avx'], 4);
  add('vcvtsd2si {x}, {r64}', ['avx'], 8);
  add('vcvttsd2si {x}, {r32}', ['avx'], 8);
  // Conversions (EVEX).
  add('vcvtps2pd {sae}{Ey}, {Ez}{mask}', ['avx512f'], 4);
  add('vcvtpd2ps {er}{Ez}, {Ey}{mask}', ['avx512f'], 8);
  add('vcvtdq2ps {er}{Ez}, {Ez}{mask}', ['avx512f'], 4);
  add('vcvtps2dq {er}{Ez}, {Ez}{mask}', ['avx512f'], 4);
  add('vcvttpd2dq {sae}{Ez}, {Ey}{mask}', ['avx512f'], 8);
  add('vcvtudq2ps {er}{Ez}, {Ez}{mask}', ['avx512f'], 4);
  add('vcvtps2udq {er}{Ez}, {Ez}{mask}', ['avx512f'], 4);
  add('vcvttps2udq {sae}{Ez}, {Ez}{mask}', ['avx512f'], 4);
  add('vcvtudq2pd {Ey}, {Ez}{mask}', ['avx512f'], 4);
  add('vcvtpd2udq {er}{Ez}, {Ey}{mask}', ['avx512f'], 8);
  add('vcvttpd2udq {Ex}, {Ex}{mask}', ['avx512f', 'avx512vl'], 8);
  add('vcvtqq2ps {er}{Ez}, {Ey}{mask}', ['avx512dq'], 8);
  add('vcvtqq2pd {er}{Ez}, {Ez}{mask}', ['avx512dq'], 8);
  add('vcvtuqq2ps {er}{Ez}, {Ey}{mask}', ['avx512dq'], 8);
  add('vcvtuqq2pd {er}{Ez}, {Ez}{mask}', ['avx512dq'], 8);
  add('vcvtps2qq {er}{Ey}, {Ez}{mask}', ['avx512dq'], 4);
  add('vcvttps2qq {sae}{Ey}, {Ez}{mask}', ['avx512dq'], 4);
  add('vcvtps2uqq {er}{Ey}, {Ez}{mask}', ['avx512dq'], 4);
  add('vcvttps2uqq {Ex}, {Ey}{mask}', ['avx512dq', 'avx512vl'], 4);
  add('vcvtpd2qq {er}{Ez}, {Ez}{mask}', ['avx512dq'], 8);
  add('vcvttpd2qq {sae}{Ez}, {Ez}{mask}', ['avx512dq'], 8);
  add('vcvtpd2uqq {er}{Ez}, {Ez}{mask}', ['avx512dq'], 8);
  add('vcvttpd2uqq {m}{b8z}, {Ez}{mask}', ['avx512dq'], 8);
  add('vcvtph2ps {sae}{Ey}, {Ez}{mask}', ['avx512f'], 4);
  add('vcvtps2ph {i}, {Ez}, {Ey}{mask}', ['avx512f'], 4);
  add('vcvtss2sd {sae}{Ex}, {Ex}, {Ex}{mask}', ['avx512f'], 4);
  add('vcvtsd2ss {er}{Ex}, {Ex}, {Ex}{mask}', ['avx512f'], 8);
  add('vcvtsi2ss {r32}, {Ex}, {Ex}', ['avx512f'], 4);
  add('vcvtusi2sd {r64}, {Ex}, {Ex}', ['avx512f'], 8);
  add('vcvtusi2ss {r64}, {Ex}, {Ex}', ['avx512f'], 8);
  add('vcvtusi2ssl {m}, {Ex}, {Ex}', ['avx512f'], 4);
  add('vcvtss2usi {Ex}, {r64}', ['avx512f'], 4);
  add('vcvttss2usi {Ex}, {r32}', ['avx512f'], 4);
  add('vcvtsd2usi {Ex}, {r32}', ['avx512f'], 8);
  add('vcvttsd2usi {m}, {r64}', ['avx512f'], 8);
  add('vcvtsd2si {Ex}, {r64}', ['avx512f'], 8);
  // Legacy SSE/SSE2/SSE3/SSE4.1 (two operands, bits above 127 kept, aligned packed memory operands).
  for (const op of ARITH) for (const [suf, fp] of [['ps', 4], ['pd', 8], ['ss', 4], ['sd', 8]] as const) {
    add(`${op}${suf} {x}, {x}`, [], fp);
    add(`${op}${suf} ${suf[0] === 'p' ? '{ma}' : '{m}'}, {x}`, [], fp);
  }
  for (const [suf, fp] of [['ps', 4], ['pd', 8], ['ss', 4], ['sd', 8]] as const) {
    add(`sqrt${suf} {x}, {x}`, [], fp);
    add(`cmp${suf} {p8}, {x}, {x}`, [], fp);
    add(`round${suf} {i}, {x}, {x}`, ['sse41'], fp);
  }
  for (const [suf, fp] of [['ps', 4], ['pd', 8]] as const) {
    add(`addsub${suf} {x}, {x}`, ['sse3'], fp);
    add(`hadd${suf} {x}, {x}`, ['sse3'], fp);
    add(`hsub${suf} {ma}, {x}`, ['sse3'], fp);
    add(`dp${suf} {i}, {x}, {x}`, ['sse41'], fp);
  }
  for (const [suf, fp] of [['ss', 4], ['sd', 8]] as const) {
    add(`comi${suf} {x}, {x}`, [], fp);
    add(`ucomi${suf} {m}, {x}`, [], fp);
  }
  for (const [t, fp] of [['cvtps2pd {x}, {x}', 4], ['cvtpd2ps {x}, {x}', 8], ['cvtdq2ps {ma}, {x}', 4], ['cvtps2dq {x}, {x}', 4], ['cvttps2dq {x}, {x}', 4],
    ['cvtdq2pd {m}, {x}', 4], ['cvtpd2dq {x}, {x}', 8], ['cvttpd2dq {x}, {x}', 8], ['cvtss2sd {x}, {x}', 4], ['cvtsd2ss {m}, {x}', 8],
    ['cvtsi2ss {r32}, {x}', 4], ['cvtsi2sdq {m}, {x}', 8], ['cvtss2si {x}, {r64}', 4], ['cvttsd2si {m}, {r32}', 8], ['cvtsd2si {x}, {r32}', 8], ['cvttss2si {x}, {r64}', 4]] as const) add(t, [], fp);
  // AVX512_BF16.
  add('vcvtneps2bf16 {Ez}, {Ey}{mask}', ['avx512bf16'], 4);
  add('vcvtneps2bf16 {Ey}, {Ex}{mask}', ['avx512bf16', 'avx512vl'], 4);
  add('vcvtne2ps2bf16 {m}{b4z}, {Ez}, {Ez}{mask}', ['avx512bf16'], 4);
  add('vcvtne2ps2bf16 {Ey}, {Ey}, {Ey}{mask}', ['avx512bf16', 'avx512vl'], 4);
  add('vdpbf16ps {Ez}, {Ez}, {Ez}{mask}', ['avx512bf16'], 4);
  add('vdpbf16ps {m}{b4z}, {Ez}, {Ez}{mask}', ['avx512bf16'], 4);
  add('vdpbf16ps {Ex}, {Ex}, {Ex}{mask}', ['avx512bf16', 'avx512vl'], 4);
  // AVX-512F/DQ without an SSE counterpart (float-avx512.ts): every mnemonic in packed 512-bit
  // register (with SAE or embedded rounding), memory/broadcast and 128/256-bit (VL) forms, and the
  // scalar register and memory forms.
  for (const [suf, fp] of [['ps', 4], ['pd', 8]] as const) {
    const b = `{b${fp}z}`;
    for (const [op, imm, rnd, needs] of [['getexp', '', '{sae}', ['avx512f']], ['getmant', '{i}, ', '{sae}', ['avx512f']], ['reduce', '{i}, ', '{sae}', ['avx512dq']],
      ['rcp14', '', '', ['avx512f']], ['rsqrt14', '', '', ['avx512f']]] as const) {
      add(`v${op}${suf} ${imm}${rnd}{Ez}, {Ez}{mask}`, [...needs], fp);
      add(`v${op}${suf} ${imm}{m}${b}, {Ez}{mask}`, [...needs], fp);
      add(`v${op}${suf} ${imm}{Ey}, {Ey}{mask}`, [...needs, 'avx512vl'], fp);
      add(`v${op}${suf} ${imm}{Ex}, {Ex}{mask}`, [...needs, 'avx512vl'], fp);
    }
    for (const [op, imm, rnd, needs] of [['scalef', '', '{er}', ['avx512f']], ['range', '{i}, ', '{sae}', ['avx512dq']], ['fixupimm', '{i}, ', '{sae}', ['avx512f']]] as const) {
      add(`v${op}${suf} ${imm}${rnd}{Ez}, {Ez}, {Ez}{mask}`, [...needs], fp);
      add(`v${op}${suf} ${imm}{m}${b}, {Ez}, {Ez}{mask}`, [...needs], fp);
      add(`v${op}${suf} ${imm}{Ey}, {Ey}, {Ey}{mask}`, [...needs, 'avx512vl'], fp);
      add(`v${op}${suf} ${imm}{Ex}, {Ex}, {Ex}{mask}`, [...needs, 'avx512vl'], fp);
    }
    add(`vfpclass${suf} {i}, {Ez}, {k}{maskk}`, ['avx512dq'], fp);
    add(`vfpclass${suf}z {i}, {m}${b}, {k}{maskk}`, ['avx512dq'], fp);
    add(`vfpclass${suf} {i}, {Ey}, {k}{maskk}`, ['avx512dq', 'avx512vl'], fp);
    add(`vfpclass${suf}x {i}, {m}, {k}{maskk}`, ['avx512dq', 'avx512vl'], fp);
  }
  for (const [suf, fp] of [['ss', 4], ['sd', 8]] as const) {
    for (const [op, imm, rnd, needs] of [['getexp', '', '{sae}', ['avx512f']], ['getmant', '{i}, ', '{sae}', ['avx512f']], ['reduce', '{i}, ', '{sae}', ['avx512dq']],
      ['rcp14', '', '', ['avx512f']], ['rsqrt14', '', '', ['avx512f']], ['scalef', '', '{er}', ['avx512f']], ['range', '{i}, ', '{sae}', ['avx512dq']],
      ['fixupimm', '{i}, ', '{sae}', ['avx512f']]] as const) {
      add(`v${op}${suf} ${imm}${rnd}{Ex}, {Ex}, {Ex}{mask}`, [...needs], fp);
      add(`v${op}${suf} ${imm}{m}, {Ex}, {Ex}{mask}`, [...needs], fp);
    }
    add(`vfpclass${suf} {i}, {Ex}, {k}{maskk}`, ['avx512dq'], fp);
    add(`vfpclass${suf} {i}, {m}, {k}{maskk}`, ['avx512dq'], fp);
  }
  // The MMX-operand conversions (float-mmx.ts): register forms are MMX instructions (the x87 state
  // enters MMX mode; the referee clears a pending x87 exception in their states: see insn-selfcheck.ts).
  for (const [t, fp] of [['cvtpi2ps {mm}, {x}', 4], ['cvtpi2ps {m}, {x}', 4], ['cvtpi2pd {mm}, {x}', 8], ['cvtpi2pd {m}, {x}', 8],
    ['cvtps2pi {x}, {mm}', 4], ['cvtps2pi {m}, {mm}', 4], ['cvttps2pi {x}, {mm}', 4], ['cvttps2pi {m}, {mm}', 4],
    ['cvtpd2pi {x}, {mm}', 8], ['cvtpd2pi {ma}, {mm}', 8], ['cvttpd2pi {x}, {mm}', 8], ['cvttpd2pi {ma}, {mm}', 8]] as const) add(t, [], fp);
  // Approximations (the host's vendor table; the referee's profile is the host's).
  add('vrcpps {y}, {y}', ['avx'], 4);
  add('vrsqrtps {m}, {x}', ['avx'], 4);
  add('vrcpss {x}, {x}, {x}', ['avx'], 4);
  add('vrsqrtss {m}, {x}, {x}', ['avx'], 4);
  add('rcpps {x}, {x}', [], 4);
  add('rsqrtss {m}, {x}', [], 4);
  // MXCSR.
  add('stmxcsr {m}', [], 4);
  add('ldmxcsr {m}', [], 4);
  add('vstmxcsr {m}', ['avx'], 4);
  add('vldmxcsr {m}', ['avx'], 4);
  return T;
}
export const FLOAT_TEMPLATES: readonly FloatTemplate[] = build();

/** Placeholders of the float templates, replaced before the common ones (insn-selfcheck.ts instantiate). */
export function instantiateFloat(r: Prng, t: string): string {
  return t.replace(/\{er\}|\{sae\}|\{p8\}|\{p\}|\{b4z\}|\{b8z\}|\{mm\}/g, (m) => {
    switch (m) {
      case '{mm}': return `%mm${r.below(8)}`;
      case '{p8}': return `$${r.below(8)}`;
      case '{er}': return r.chance(0.5) ? '' : `${r.pick(['{rn-sae}', '{rd-sae}', '{ru-sae}', '{rz-sae}'])}, `;
      case '{sae}': return r.chance(0.3) ? '{sae}, ' : '';
      case '{p}': return `$${r.below(32)}`;
      case '{b4z}': return r.chance(0.4) ? '{1to16}' : '';
      default: return r.chance(0.4) ? '{1to8}' : '';
    }
  });
}

/* Bit patterns (IEEE 754 binary32 / binary64). */
const F32_SPECIAL = [0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x00400000, 0x00800000, 0x80800000, 0x3f800000, 0xbf800000, 0x3fc00000, 0xbf000000,
  0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc12345, 0x7f800001, 0xffa00000, 0x4f000000, 0xcf000000, 0x4f800000, 0x5f000000, 0x5f800000, 0xdf000000, 0x4effffff, 0x3effffff, 0x0c000000, 0x72000000];
const F64_SPECIAL: bigint[] = [0n, 0x8000000000000000n, 1n, 0x800fffffffffffffn, 0x0008000000000000n, 0x0010000000000000n, 0x8010000000000000n, 0x3ff0000000000000n, 0xbff0000000000000n, 0x3ff8000000000000n, 0xbfe0000000000000n,
  0x7fefffffffffffffn, 0xffefffffffffffffn, 0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff8000000012345n, 0x7ff0000000000001n, 0xfff4000000000000n,
  0x41e0000000000000n, 0xc1e0000000000000n, 0x41f0000000000000n, 0x43e0000000000000n, 0x43f0000000000000n, 0xc3e0000000000000n, 0x41dfffffffc00000n, 0x3fdfffffffffffffn, 0x36a0000000000000n, 0x47e0000000000000n, 0x380fffffffffffffn];

/** One element: a special value, an ordinary number near 1, any exponent, or raw bits (integers). */
function element(r: Prng, a: Uint8Array, o: number, es: 4 | 8): void {
  const roll = r.below(8);
  const dv = new DataView(a.buffer, a.byteOffset);
  if (es === 4) {
    let v: number;
    if (roll < 3) v = r.pick(F32_SPECIAL);
    else if (roll < 6) v = ((r.next() & 0x807fffff) | ((127 - 8 + r.below(16)) << 23)) >>> 0; // near 1: rounding in every mode
    else if (roll < 7) v = ((r.next() & 0x807fffff) | (r.below(256) << 23)) >>> 0;
    else v = r.next();
    dv.setUint32(o, v, true);
  } else {
    let v: bigint;
    if (roll < 3) v = r.pick(F64_SPECIAL);
    else {
      const lo = BigInt(r.next()), hi = BigInt(r.next());
      const mant = ((hi & 0xfffffn) << 32n) | lo, sign = BigInt(r.next() & 1) << 63n;
      const exp = roll < 6 ? BigInt(1023 - 30 + r.below(60)) : roll < 7 ? BigInt(r.below(2048)) : -1n;
      v = exp < 0n ? (hi << 32n) | lo : sign | (exp << 52n) | mant;
    }
    dv.setBigUint64(o, v, true);
  }
}
function fillElements(r: Prng, a: Uint8Array, from: number, to: number, es: 4 | 8): void {
  for (let o = from; o + es <= to; o += es) element(r, a, o, es);
}

/** MXCSR fields (SDM Vol. 1 10.2.3). */
const MXCSR_DAZ = 0x40, MXCSR_MASKS = 0x1f80, MXCSR_RC_SHIFT = 13, MXCSR_FTZ = 0x8000, MXCSR_FLAGS = 0x3f;

/**
 * Seed a standard-format image for a floating-point case: XMM0-15 and the AVX, ZMM_Hi256 and
 * Hi16_ZMM components with elements of `es` bytes, those components marked in use, and an MXCSR
 * with a random rounding mode, DAZ, FTZ and sticky flags; exceptions all masked in three cases of
 * four, a random mask set otherwise. The data buffer gets elements too.
 */
export function seedFloatCase(r: Prng, cpu: CpuModel, xcr0: number, setup: Uint8Array, data: Uint8Array, es: 4 | 8): void {
  fillElements(r, setup, LEGACY.XMM0, LEGACY.XMM0 + 16 * LEGACY.XMM_BYTES, es);
  let bv = 1 << XFeature.SSE;
  for (const f of [XFeature.AVX, XFeature.ZMM_HI256, XFeature.HI16_ZMM]) {
    const c = cpu.components[f];
    if (!c || !((xcr0 >>> f) & 1)) continue;
    fillElements(r, setup, c.standardOffset, c.standardOffset + c.size, es);
    bv |= 1 << f;
  }
  setup[XSAVE_HEADER_OFFSET] |= bv & 0xff;
  let m = (r.below(4) << MXCSR_RC_SHIFT) | (r.chance(0.3) ? r.next() & MXCSR_FLAGS : 0);
  if (r.chance(0.3)) m |= MXCSR_DAZ;
  if (r.chance(0.3)) m |= MXCSR_FTZ;
  m |= r.chance(0.75) ? MXCSR_MASKS : r.next() & MXCSR_MASKS;
  const dv = new DataView(setup.buffer, setup.byteOffset);
  dv.setUint32(LEGACY.MXCSR, (m & cpu.mxcsrMask) >>> 0, true);
  fillElements(r, data, 0, data.length, es);
}
