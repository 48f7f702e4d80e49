/**
 * Binding of the native floating-point kernel (emulator/native/sse-float.c): one call computes
 * every element of one instruction with the host's scalar SSE/FMA/F16C instructions under the
 * guest's rounding, DAZ and FTZ, and returns the exception flags raised. See the C file for why
 * that is exact on any x86-64 host.
 */
import koffi from 'koffi';
import { buildNative } from '../../src/native.js';
import { CpuFault, Vector } from '../xsave.js';

/** Operation kinds (sse-float.c enum kind). */
export enum FpKind {
  Add = 1, Sub, Mul, Div, Min, Max, Sqrt,
  Fmadd, Fmsub, Fnmadd, Fnmsub, Fmaddsub, Fmsubadd,
  Cmp, Comi, Ucomi, Cvt, Cvtt, Round, Rndscale, Addsub, Ps2ph, Rcp, Rsqrt,
  Getexp, Getmant, Scalef, Range, Reduce, Fixupimm, Fpclass, Rcp14, Rsqrt14,
  /** AVX512-FP16 conversions (binary16 <-> binary32/64); the arithmetic kinds on F16 are AVX512-FP16's too. */
  Cvt16, Cvtt16,
  /** AVX512-FP16 complex multiplies on (real, imaginary) binary16 pairs: imm8 bit 0 conjugate, bit 1 accumulate into c (the destination). */
  Cmul,
}
/** Element types (sse-float.c enum type). */
export enum FpType { F32 = 0, F64, I32, I64, U32, U64, F16, I16, U16 }
export const TYPE_BYTES: Record<FpType, number> = { [FpType.F32]: 4, [FpType.F64]: 8, [FpType.I32]: 4, [FpType.I64]: 8, [FpType.U32]: 4, [FpType.U64]: 8, [FpType.F16]: 2, [FpType.I16]: 2, [FpType.U16]: 2 };

/** The op word: kind in bits 7:0, source type in 11:8, destination type in 15:12. */
export const fpOp = (k: FpKind, src: FpType, dst: FpType = src): number => k | (src << 8) | (dst << 12);

/** Host capability bits of xl_fp_host_caps. */
export enum HostCap { Sse41 = 1, Fma = 2, F16c = 4, Avx = 8, Avx512f = 16, Avx512fp16 = 32 }
/** What each kind needs of the host (the C kernel executes these instructions). */
function capsNeeded(k: FpKind): number {
  switch (k) {
    case FpKind.Fmadd: case FpKind.Fmsub: case FpKind.Fnmadd: case FpKind.Fnmsub: case FpKind.Fmaddsub: case FpKind.Fmsubadd: return HostCap.Fma | HostCap.Avx;
    case FpKind.Cmp: return HostCap.Avx;
    case FpKind.Ps2ph: return HostCap.F16c | HostCap.Avx;
    case FpKind.Round: case FpKind.Rndscale: case FpKind.Reduce: return HostCap.Sse41;
    case FpKind.Rcp14: case FpKind.Rsqrt14: return HostCap.Avx512f;
    default: return 0;
  }
}

interface Api {
  vendor: string;
  run: (op: number, n: number, a: Uint8Array, b: Uint8Array | null, c: Uint8Array | null, out: Uint8Array, mxcsr: number, imm: number, lo: number, hi: number) => number;
  caps: number;
}
let api: Api | undefined;
function load(): Api {
  if (api) return api;
  const so = buildNative('../emulator/native/sse-float.c', ['-O2', '-shared', '-fPIC']);
  const lib = koffi.load(so);
  // Typed arrays are passed as pointers to their own memory (see unicorn.ts uc_mem_read).
  const run = lib.func('uint32_t xl_fp_run(uint32_t op, uint32_t n, const uint8_t *a, const uint8_t *b, const uint8_t *c, uint8_t *out, uint32_t mxcsr, uint32_t imm, uint32_t mask_lo, uint32_t mask_hi)');
  const caps = lib.func('uint32_t xl_fp_host_caps(void)')() as number;
  const vbuf = Buffer.alloc(12);
  lib.func('void xl_fp_host_vendor(uint8_t *out)')(vbuf);
  api = { run: run as Api['run'], caps, vendor: vbuf.toString('latin1') };
  return api;
}

/**
 * Compute n elements: returns the OR of the flags (MXCSR bits 5:0) of the elements whose mask
 * bit is set; `out` receives their results (other elements untouched).
 */
export function fpRun(op: number, n: number, a: Uint8Array, b: Uint8Array | null, c: Uint8Array | null, out: Uint8Array, mxcsr: number, imm: number, lo: number, hi: number): number {
  const k = load();
  const need = capsNeeded((op & 0xff) as FpKind);
  if ((k.caps & need) !== need) throw new CpuFault(Vector.UD, `this host lacks the ${HostCap[need & ~k.caps] ?? 'FMA/F16C/SSE4.1'} instructions the floating-point kernel computes ${FpKind[op & 0xff]} with (emulator/native/sse-float.c)`);
  return k.run(op, n, a, b, c, out, mxcsr, imm, lo >>> 0, hi >>> 0) >>> 0;
}

/** Whether the host has AVX512-FP16 (the kernel can run VRCPSH/VRSQRTSH itself). */
export function hostHasAvx512fp16(): boolean {
  return (load().caps & HostCap.Avx512fp16) !== 0;
}

/** The host's CPUID vendor string (the kernel computes with the host's instructions). */
export function hostVendor(): string {
  return load().vendor;
}

/**
 * The profile's CPU computes an approximation the model cannot reproduce here: RCPPS/RSQRTPS give
 * vendor-specific results (SDM Vol. 2B RCPPS: "relative error <= 1.5 * 2^-12", the table is the
 * implementation's), so the host computes them only when its vendor is the profile's. The machine
 * stops the run naming the instruction, as for any instruction the model does not emulate.
 */
export class ApproximationUnknown extends Error {}
