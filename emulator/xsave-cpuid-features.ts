/**
 * The CPUID feature flag each XSAVE state component goes with, as Linux pairs them in
 * xsave_cpuid_features[] (arch/x86/kernel/fpu/xstate.c): fpu__init_system_xstate() drops a
 * component from fpu_kernel_cfg.max_features when its flag is clear, whatever leaf 0DH says.
 * Kept here, below kernel-model/, because the profile loader warns about the same pairs.
 */
import { XFeature } from './xfeatures.js';

export interface XsaveCpuidFeature {
  leaf: number;
  sub: number;
  /** 0 EAX, 1 EBX, 2 ECX, 3 EDX. */
  reg: number;
  bit: number;
  /** Linux's X86_FEATURE_ name without the prefix. */
  name: string;
}

export const XSAVE_CPUID_FEATURES: Partial<Record<XFeature, XsaveCpuidFeature>> = {
  [XFeature.X87]: { leaf: 1, sub: 0, reg: 3, bit: 0, name: 'FPU' },
  [XFeature.SSE]: { leaf: 1, sub: 0, reg: 3, bit: 25, name: 'XMM' },
  [XFeature.AVX]: { leaf: 1, sub: 0, reg: 2, bit: 28, name: 'AVX' },
  [XFeature.BNDREGS]: { leaf: 7, sub: 0, reg: 1, bit: 14, name: 'MPX' },
  [XFeature.BNDCSR]: { leaf: 7, sub: 0, reg: 1, bit: 14, name: 'MPX' },
  [XFeature.OPMASK]: { leaf: 7, sub: 0, reg: 1, bit: 16, name: 'AVX512F' },
  [XFeature.ZMM_HI256]: { leaf: 7, sub: 0, reg: 1, bit: 16, name: 'AVX512F' },
  [XFeature.HI16_ZMM]: { leaf: 7, sub: 0, reg: 1, bit: 16, name: 'AVX512F' },
  [XFeature.PT]: { leaf: 7, sub: 0, reg: 1, bit: 25, name: 'INTEL_PT' },
  // OSPKE since 6.6 (18032b47adf1), PKU before; the model's kernel always enables PKU when present.
  [XFeature.PKRU]: { leaf: 7, sub: 0, reg: 2, bit: 3, name: 'PKU' },
  [XFeature.PASID]: { leaf: 7, sub: 0, reg: 2, bit: 29, name: 'ENQCMD' },
  [XFeature.CET_U]: { leaf: 7, sub: 0, reg: 2, bit: 7, name: 'SHSTK' },
  [XFeature.CET_S]: { leaf: 7, sub: 0, reg: 2, bit: 7, name: 'SHSTK' },
  [XFeature.TILECFG]: { leaf: 7, sub: 0, reg: 3, bit: 24, name: 'AMX_TILE' },
  [XFeature.TILEDATA]: { leaf: 7, sub: 0, reg: 3, bit: 24, name: 'AMX_TILE' },
  // CPUID.(EAX=07H,ECX=1):EDX[21] APX_F (Intel APX specification).
  [XFeature.APX]: { leaf: 7, sub: 1, reg: 3, bit: 21, name: 'APX' },
};
