/**
 * AVX512-FP16 arithmetic and conversions on binary16 elements (SDM Vol. 2, VADDPH ... VCVTSS2SH):
 * VADD/VSUB/VMUL/VDIV/VMIN/VMAX/VSQRT PH and SH, every FMA form (VFMADD/VFMSUB/VFNMADD/VFNMSUB
 * 132/213/231 PH and SH, VFMADDSUB/VFMSUBADD PH), VCMPPH/SH (to a mask register), VCOMISH/VUCOMISH,
 * and the conversions between binary16 and
 * integers (VCVTW2PH ... VCVTTSH2USI) and binary32/binary64 (VCVTSS2SH, VCVTSH2SS, VCVTSD2SH, VCVTSH2SD, VCVTPS2PHX, VCVTPH2PSX, VCVTPD2PH,
 * VCVTPH2PD); the complex multiplies (VFMULCPH ... VFCMADDCSH), VRCPPH/SH, VRSQRTPH/SH and
 * VRNDSCALEPH/SH below (VGETEXP, VGETMANT, VFPCLASS, VREDUCE, VSCALEF PH/SH are in float-avx512.ts
 * beside their PS/PD forms). No host here has AVX512-FP16: the native kernel computes them in binary64 and rounds
 * once to binary16 (f16_arith, f16_cvt, f16_complex ... in emulator/native/sse-float.c, which say why that is the
 * correctly rounded result and which rules are assumed); test/vector-fp16.test.ts checks them
 * against an exact rational reference. Operand shapes, masking, broadcast, embedded rounding and SAE
 * as for the binary32/64 forms (float.ts). */
import { Code, Mnemonic, OpKind, RegisterExt } from '../iced.js';
import { CpuFault, Vector } from '../xsave.js';
import { effectiveAddress, defineOps, readOp, setElem, vecIndex, vectorLength, writeDest, type Ctx, type Op } from './core.js';
import { FpKind, FpType, TYPE_BYTES, fpOp, fpRun, hostHasAvx512fp16, hostVendor } from './float-kernel.js';
import { commitFlags, fpEnvOf } from './mxcsr.js';
import {
  comis, fmaForm, maskFor, packedBinary, packedCompare, packedConvert, packedFma, packedUnary, scalarBinary, scalarCompare, scalarEnabled, scalarFma, scalarSrc, scalarToInt, scalarUnary, writeScalar, xmmOf,
} from './float.js';

const H = FpType.F16;

/** VCVTSS2SH xmm1{k}, xmm2, xmm3/m32 and the other scalar conversions: element 0 of src2 converted, dst[127:size] from src1. */
function scalarConvert(src: FpType, dst: FpType): Op {
  const ss = TYPE_BYTES[src], ds = TYPE_BYTES[dst];
  return (c) => {
    const upper = xmmOf(c, 1);
    const a = c.ins.opKind(2) === OpKind.Memory ? c.env.readMem(effectiveAddress(c.ins, c.env), ss) : xmmOf(c, 2).slice(0, ss);
    const on = scalarEnabled(c);
    const out = new Uint8Array(ds);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(FpKind.Cvt16, src, dst), 1, a, null, null, out, env.mxcsr, 0, on ? 1 : 0, 0));
    writeScalar(c, out, upper, ds, on);
  };
}

for (const [op, kind] of [['Add', FpKind.Add], ['Sub', FpKind.Sub], ['Mul', FpKind.Mul], ['Div', FpKind.Div], ['Min', FpKind.Min], ['Max', FpKind.Max]] as const) {
  defineOps([Mnemonic[`V${op.toLowerCase()}ph` as keyof typeof Mnemonic]], packedBinary(kind, H));
  defineOps([Mnemonic[`V${op.toLowerCase()}sh` as keyof typeof Mnemonic]], scalarBinary(kind, H));
}
defineOps([Mnemonic.Vsqrtph], packedUnary(FpKind.Sqrt, H));
defineOps([Mnemonic.Vsqrtsh], scalarUnary(FpKind.Sqrt, H));
defineOps([Mnemonic.Vcvtss2sh], scalarConvert(FpType.F32, H));
defineOps([Mnemonic.Vcvtsd2sh], scalarConvert(FpType.F64, H));
defineOps([Mnemonic.Vcvtsh2ss], scalarConvert(H, FpType.F32));
defineOps([Mnemonic.Vcvtsh2sd], scalarConvert(H, FpType.F64));
defineOps([Mnemonic.Vcvtps2phx], packedConvert(FpType.F32, H, FpKind.Cvt16));
defineOps([Mnemonic.Vcvtph2psx], packedConvert(H, FpType.F32, FpKind.Cvt16));
defineOps([Mnemonic.Vcvtpd2ph], packedConvert(FpType.F64, H, FpKind.Cvt16));
defineOps([Mnemonic.Vcvtph2pd], packedConvert(H, FpType.F64, FpKind.Cvt16));

const M = Mnemonic as unknown as Record<string, Mnemonic>;
for (const [name, kind] of [['fmadd', FpKind.Fmadd], ['fmsub', FpKind.Fmsub], ['fnmadd', FpKind.Fnmadd], ['fnmsub', FpKind.Fnmsub], ['fmaddsub', FpKind.Fmaddsub], ['fmsubadd', FpKind.Fmsubadd]] as const) {
  for (const form of ['132', '213', '231']) {
    defineOps([M[`Vf${name.slice(1)}${form}ph`]!], packedFma(kind, H, fmaForm(form)));
    if (kind !== FpKind.Fmaddsub && kind !== FpKind.Fmsubadd) defineOps([M[`Vf${name.slice(1)}${form}sh`]!], scalarFma(kind, H, fmaForm(form)));
  }
}
defineOps([Mnemonic.Vcmpph], packedCompare(H));
defineOps([Mnemonic.Vcmpsh], scalarCompare(H));
defineOps([Mnemonic.Vcomish], comis(true, H));
defineOps([Mnemonic.Vucomish], comis(false, H));

/** A GPR or rm32/rm64 operand's width: 64 bits? */
function is64(c: Ctx, k: number): boolean {
  if (c.ins.opKind(k) === OpKind.Register) return RegisterExt.size(c.ins.opRegister(k)) === 8;
  return /rm64|r64/.test(Code[c.ins.code]);
}
/** VCVT(U)SI2SH xmm1, xmm2, r/m32|64: the integer to element 0, dst[127:16] from src1. */
function intToHalf(unsigned: boolean): Op {
  return (c) => {
    const upper = xmmOf(c, 1);
    const w64 = is64(c, 2), bytes = w64 ? 8 : 4;
    const st = unsigned ? (w64 ? FpType.U64 : FpType.U32) : (w64 ? FpType.I64 : FpType.I32);
    let a: Uint8Array;
    if (c.ins.opKind(2) === OpKind.Memory) a = c.env.readMem(effectiveAddress(c.ins, c.env), bytes);
    else { a = new Uint8Array(bytes); setElem(a, 0, bytes, c.env.getGpr(c.ins.opRegister(2))); }
    const out = new Uint8Array(2);
    const env = fpEnvOf(c);
    commitFlags(c, env, fpRun(fpOp(FpKind.Cvt16, st, H), 1, a, null, null, out, env.mxcsr, 0, 1, 0));
    writeScalar(c, out, upper, 2, true);
  };
}
/** VCVT(T)SH2(U)SI r32|64, xmm/m16: the single-precision driver with the binary16 conversions. */
const halfToInt = (unsigned: boolean, trunc: boolean): Op => scalarToInt(H, unsigned, trunc, [FpKind.Cvt16, FpKind.Cvtt16]);
defineOps([Mnemonic.Vcvtsi2sh], intToHalf(false));
defineOps([Mnemonic.Vcvtusi2sh], intToHalf(true));
defineOps([Mnemonic.Vcvtsh2si], halfToInt(false, false));
defineOps([Mnemonic.Vcvttsh2si], halfToInt(false, true));
defineOps([Mnemonic.Vcvtsh2usi], halfToInt(true, false));
defineOps([Mnemonic.Vcvttsh2usi], halfToInt(true, true));
/** Packed integer <-> binary16: [integer name in the mnemonic, type]. */
for (const [n, t] of [['w', FpType.I16], ['uw', FpType.U16], ['dq', FpType.I32], ['udq', FpType.U32], ['qq', FpType.I64], ['uqq', FpType.U64]] as const) {
  defineOps([M[`Vcvt${n}2ph`]!], packedConvert(t, H, FpKind.Cvt16));
  defineOps([M[`Vcvtph2${n}`]!], packedConvert(H, t, FpKind.Cvt16));
  defineOps([M[`Vcvttph2${n}`]!], packedConvert(H, t, FpKind.Cvtt16));
}

/** The kernel's Cmul imm8: bit 0 the conjugate of src2, bit 1 accumulate into the destination. */
const CMUL_CONJUGATE = 1, CMUL_ACCUMULATE = 2;
/** A complex pair: two binary16 values, the unit of masking and broadcast (SDM Vol. 2C VFMULCPH). */
const PAIR_BYTES = 4;

/**
 * VFMULCPH/VFCMULCPH/VFMADDCPH/VFCMADDCPH zmm1{k1}{z}, zmm2, zmm3/m512/m32bcst {er} and the SH forms
 * xmm1{k1}{z}, xmm2, xmm3/m32 {er} (SDM Vol. 2C): complex products of (real, imaginary) binary16 pairs,
 * computed by the kernel (sse-float.c f16_complex, which cites the pseudo-code). Masking and broadcast
 * per 32-bit pair; the SH forms compute pair 0 and copy bits 127:32 from src1. #UD when the destination
 * is src1 or src2 ("Other Exceptions"). "Execution occurs as if all MXCSR exceptions are masked. MXCSR
 * status bits are updated": the flags are ORed in and no #XM is raised (none with embedded rounding,
 * which suppresses all exceptions: SDM Vol. 2A 2.7.1).
 */
function complexMultiply(conjugate: boolean, accumulate: boolean, scalarForm: boolean): Op {
  const imm = (conjugate ? CMUL_CONJUGATE : 0) | (accumulate ? CMUL_ACCUMULATE : 0);
  return (c) => {
    const d = vecIndex(c.ins.opRegister(0));
    if (d === vecIndex(c.ins.opRegister(1)) || (c.ins.opKind(2) === OpKind.Register && d === vecIndex(c.ins.opRegister(2)))) {
      throw new CpuFault(Vector.UD, `${Mnemonic[c.ins.mnemonic].toUpperCase()}: the destination register is also a source`);
    }
    const env = fpEnvOf(c);
    let flags: number;
    if (scalarForm) {
      const a = xmmOf(c, 1);
      const b = scalarSrc(c, 2, PAIR_BYTES);
      const on = scalarEnabled(c);
      const out = new Uint8Array(PAIR_BYTES);
      flags = fpRun(fpOp(FpKind.Cmul, H), 1, a, b, accumulate ? xmmOf(c, 0) : null, out, env.mxcsr, imm, on ? 1 : 0, 0);
      if (!env.suppress) c.vec.regs.mxcsr |= flags;
      writeScalar(c, out, a, PAIR_BYTES, on);
      return;
    }
    const w = vectorLength(c.ins.code);
    const n = w / PAIR_BYTES;
    const a = readOp(c, 1, w, PAIR_BYTES);
    const b = readOp(c, 2, w, PAIR_BYTES);
    const [lo, hi] = maskFor(c, n);
    const out = new Uint8Array(w);
    flags = fpRun(fpOp(FpKind.Cmul, H), n, a, b, accumulate ? c.vec.read(d, w).slice() : null, out, env.mxcsr, imm, lo, hi);
    if (!env.suppress) c.vec.regs.mxcsr |= flags;
    writeDest(c, out, PAIR_BYTES);
  };
}
for (const [name, conj, acc] of [['fmulc', false, false], ['fcmulc', true, false], ['fmaddc', false, true], ['fcmaddc', true, true]] as const) {
  defineOps([M[`V${name}ph`]!], complexMultiply(conj, acc, false));
  defineOps([M[`V${name}sh`]!], complexMultiply(conj, acc, true));
}

/** sse-float.c F16_APPROX_HOST: the host's own VRCPSH/VRSQRTSH computes the elements. */
const F16_APPROX_HOST = 0x100;
/**
 * VRCPPH/SH, VRSQRTPH/SH: the SDM bounds the error (< 2^-11 + 2^-14) without defining the bits, which
 * are the vendor's. When the host has AVX512-FP16 and is the profile's vendor, the host's instruction
 * computes them (as for VRCP14, float-avx512.ts); otherwise the kernel (f16_approx) gives the exact
 * value rounded to nearest, a named assumption (see there and the README). No exceptions, MXCSR not read.
 */
function approx16(kind: FpKind, scalarForm: boolean): Op {
  const onHost = (c: Ctx): number => (hostHasAvx512fp16() && hostVendor() === c.vec.regs.cpu.profile.vendor ? F16_APPROX_HOST : 0);
  return scalarForm ? scalarUnary(kind, H, onHost) : packedUnary(kind, H, onHost);
}
defineOps([Mnemonic.Vrcpph], approx16(FpKind.Rcp, false));
defineOps([Mnemonic.Vrcpsh], approx16(FpKind.Rcp, true));
defineOps([Mnemonic.Vrsqrtph], approx16(FpKind.Rsqrt, false));
defineOps([Mnemonic.Vrsqrtsh], approx16(FpKind.Rsqrt, true));
/** VRNDSCALEPH/SH: the binary32 rule on the widened value (sse-float.c f16_rndscale). */
defineOps([Mnemonic.Vrndscaleph], packedUnary(FpKind.Rndscale, H));
defineOps([Mnemonic.Vrndscalesh], scalarUnary(FpKind.Rndscale, H));
