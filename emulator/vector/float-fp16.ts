/**
 * AVX512-FP16 arithmetic and conversions on binary16 elements (SDM Vol. 2, VADDPH ... VCVTSS2SH):
 * VADD/VSUB/VMUL/VDIV/VMIN/VMAX/VSQRT PH and SH, every FMA form (VFMADD/VFMSUB/VFNMADD/VFNMSUB
 * 132/213/231 PH and SH, VFMADDSUB/VFMSUBADD PH), VCMPPH/SH (to a mask register), VCOMISH/VUCOMISH,
 * and the conversions between binary16 and
 * binary32/binary64 (VCVTSS2SH, VCVTSH2SS, VCVTSD2SH, VCVTSH2SD, VCVTPS2PHX, VCVTPH2PSX, VCVTPD2PH,
 * VCVTPH2PD). No host here has AVX512-FP16: the native kernel computes them in binary64 and rounds
 * once to binary16 (f16_arith, f16_cvt in emulator/native/sse-float.c, which say why that is the
 * correctly rounded result and which rules are assumed); test/vector-float-avx512.test.ts checks them
 * against an exact rational reference. Operand shapes, masking, broadcast, embedded rounding and SAE
 * as for the binary32/64 forms (float.ts).
 */
import { Mnemonic, OpKind } from '../iced.js';
import { effectiveAddress, defineOps, type Op } from './core.js';
import { FpKind, FpType, TYPE_BYTES, fpOp, fpRun } from './float-kernel.js';
import { commitFlags, fpEnvOf } from './mxcsr.js';
import {
  comis, fmaForm, packedBinary, packedCompare, packedConvert, packedFma, packedUnary, scalarBinary, scalarCompare, scalarEnabled, scalarFma, scalarUnary, writeScalar, xmmOf,
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
