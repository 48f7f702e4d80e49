/**
 * arch/x86/kernel/fpu/xstate.c, boot time: fpu__init_system_xstate() as the kernel variant does
 * it on a given CPU. Which components Linux enables (XCR0, IA32_XSS), the kernel and user
 * feature sets (fpu_kernel_cfg / fpu_user_cfg, 5.16+ names; earlier kernels kept the same
 * numbers in globals), their sizes and the buffer format. Behaviour read from the kernel source
 * as summarized in ../shared/reference/linux-fpu-uabi.md §1.3; no kernel code copied.
 */
import type { CpuModel } from '../emulator/cpu-model.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import { XSAVE_CPUID_FEATURES } from '../emulator/xsave-cpuid-features.js';
import { KernelBehaviour, type KernelVariant } from './variants.js';
import { X86Feature, bootCpuCaps, xsaveCpuidFeature } from './cpufeature.js';

const mask = (...fs: XFeature[]): number => fs.reduce((m, f) => (m | bit(f)) >>> 0, 0);

/** XFEATURE_MASK_FP | XFEATURE_MASK_SSE (asm/fpu/xstate.h XFEATURE_MASK_FPSSE). */
export const XFEATURE_MASK_FPSSE = mask(XFeature.X87, XFeature.SSE);
/** XFEATURE_MASK_USER_DYNAMIC: AMX tile data (5.16+). */
export const XFEATURE_MASK_USER_DYNAMIC = mask(XFeature.TILEDATA);
/** XFEATURE_MASK_INDEPENDENT: architectural LBR, in IA32_XSS but saved only by perf. */
export const XFEATURE_MASK_INDEPENDENT = mask(XFeature.LBR);
/** init_pkru_value (arch/x86/mm/pkeys.c): every key but 0 access-disabled. */
export const INIT_PKRU_VALUE = 0x55555554;

/** XFEATURE_MASK_USER_SUPPORTED for a variant. */
export function userSupportedMask(v: KernelVariant): number {
  let m = mask(XFeature.X87, XFeature.SSE, XFeature.AVX, XFeature.BNDREGS, XFeature.BNDCSR, XFeature.OPMASK, XFeature.ZMM_HI256, XFeature.HI16_ZMM, XFeature.PKRU);
  if (v.has(KernelBehaviour.DynamicXfeatures)) m |= mask(XFeature.TILECFG, XFeature.TILEDATA);
  if (v.has(KernelBehaviour.ApxXstate)) m |= mask(XFeature.APX);
  return m >>> 0;
}

/** XFEATURE_MAX (asm/fpu/types.h): 20 with APX (6.16), 19 before; ARCH_REQ_XCOMP_PERM's bound. */
export function xfeatureMax(v: KernelVariant): number {
  return v.has(KernelBehaviour.ApxXstate) ? XFeature.APX + 1 : XFeature.APX;
}

/** XFEATURE_MASK_SUPERVISOR_SUPPORTED for a variant: PASID (5.10), CET_USER (6.6), CET_KERNEL (6.18, KVM only). */
export function supervisorSupportedMask(v: KernelVariant): number {
  let m = mask(XFeature.PASID);
  if (v.has(KernelBehaviour.CetUserXstate)) m |= mask(XFeature.CET_U);
  if (v.has(KernelBehaviour.CetKernelXstateForKvm)) m |= mask(XFeature.CET_S);
  return m >>> 0;
}

/** XFEATURE_MASK_USER_RESTORE: what the kernel's XRSTOR(S) restores for user space; PKRU apart from 5.14. */
export function userRestoreMask(v: KernelVariant): number {
  const all = userSupportedMask(v);
  return v.has(KernelBehaviour.PkruInThreadStruct) ? (all & ~bit(XFeature.PKRU)) >>> 0 : all;
}

/** The CPUID feature each component needs: xstate.c xsave_cpuid_features[] (emulator/xsave-cpuid-features.ts). */

export interface FpuStateConfig {
  maxFeatures: number;
  defaultFeatures: number;
  maxSize: number;
  defaultSize: number;
  /** FP|SSE with FXSR (5.16 fpu_state_config::legacy_features). */
  legacyFeatures: number;
}

/** What fpu__init_system_xstate() leaves behind. */
export interface FpuConfig {
  /** The CPU has XSAVE and the kernel uses it (otherwise FXSR-only operation and no NT_X86_XSTATE). */
  useXsave: boolean;
  /** fpu_kernel_cfg: the kernel's buffers (user and supervisor features). */
  kernel: FpuStateConfig;
  /** fpu_user_cfg: the UABI (standard format); maxFeatures is XCR0. */
  user: FpuStateConfig;
  independentFeatures: number;
  xcr0: number;
  xss: number;
  /** The kernel's buffers are in the compacted format (X86_FEATURE_XCOMPACTED: XSAVES or XSAVEC). */
  compacted: boolean;
  /** The instruction os_xsave() uses, by the kernel's preference XSAVES > XSAVEC > XSAVEOPT > XSAVE. */
  saveInsn: 'XSAVES' | 'XSAVEC' | 'XSAVEOPT' | 'XSAVE';
  /** mxcsr_feature_mask: the MXCSR_MASK the CPU reports (0xFFBF without one). */
  mxcsrFeatureMask: number;
}

/** fpu__init_system_xstate() on `cpu` for kernel variant `v`. */
export function fpu__init_system_xstate(cpu: CpuModel, v: KernelVariant): FpuConfig {
  // The kernel's capabilities after its boot options (kernel-model/cpufeature.ts), not raw CPUID.
  const caps = bootCpuCaps(cpu, v);
  const f = {
    fxsr: caps.has(X86Feature.FXSR), xsave: caps.has(X86Feature.XSAVE), xsaveopt: caps.has(X86Feature.XSAVEOPT),
    xsavec: caps.has(X86Feature.XSAVEC), xsaves: caps.has(X86Feature.XSAVES), xfd: caps.has(X86Feature.XFD),
  };
  const empty: FpuStateConfig = { maxFeatures: 0, defaultFeatures: 0, maxSize: 512, defaultSize: 512, legacyFeatures: f.fxsr ? XFEATURE_MASK_FPSSE : bit(XFeature.X87) };
  const base = { independentFeatures: 0, xcr0: 0, xss: 0, compacted: false, saveInsn: 'XSAVE' as const, mxcsrFeatureMask: cpu.mxcsrMask };
  // 1. No XSAVE (or noxsave): "x87 FPU will use FXSAVE".
  if (!f.xsave) return { useXsave: false, kernel: empty, user: empty, ...base };
  // 2. Candidates: what CPUID enumerates for XCR0 and IA32_XSS.
  let features = (cpu.xcr0Supported | cpu.xssSupported) >>> 0;
  // 3. FP and SSE are required.
  if ((features & XFEATURE_MASK_FPSSE) !== XFEATURE_MASK_FPSSE) return { useXsave: false, kernel: empty, user: empty, ...base };
  // 5. Independent features (arch LBR).
  const independent = (features & XFEATURE_MASK_INDEPENDENT) >>> 0;
  // 6. Drop components whose kernel feature flag is off (xsave_cpuid_features[]: boot_cpu_has, so
  //    clearcpuid=, noxsaves' dependents and, from 6.6, disabled pkeys remove components).
  for (const [i, need] of Object.entries(XSAVE_CPUID_FEATURES)) {
    const kf = xsaveCpuidFeature(need!.name, v);
    const on = kf === undefined ? ((cpu.cpuid.get(need!.leaf, need!.sub)[need!.reg] >>> need!.bit) & 1) === 1 : caps.has(kf);
    if (!on) features &= ~bit(Number(i));
  }
  // 7. Dynamic features need XFD.
  const dynamic = v.has(KernelBehaviour.DynamicXfeatures) ? XFEATURE_MASK_USER_DYNAMIC : 0;
  if (!f.xfd) features &= ~dynamic;
  // 8. Only what this kernel supports; supervisor state only with XSAVES.
  features &= userSupportedMask(v) | (f.xsaves ? supervisorSupportedMask(v) : 0);
  features >>>= 0;
  const user = (features & userSupportedMask(v)) >>> 0;
  const compacted = f.xsaves || f.xsavec;
  const kernelSize = (m: number): number => (compacted ? cpu.compactedLayout(m).size : cpu.standardSize(m & user));
  const legacyFeatures = f.fxsr ? XFEATURE_MASK_FPSSE : bit(XFeature.X87);
  const kernelDefault = (features & ~dynamic) >>> 0;
  const userDefault = (user & ~dynamic) >>> 0;
  return {
    useXsave: true,
    kernel: { maxFeatures: features, defaultFeatures: kernelDefault, maxSize: kernelSize(features), defaultSize: kernelSize(kernelDefault), legacyFeatures },
    user: { maxFeatures: user, defaultFeatures: userDefault, maxSize: cpu.standardSize(user), defaultSize: cpu.standardSize(userDefault), legacyFeatures },
    independentFeatures: independent,
    xcr0: user,
    // fpu__init_cpu_xstate writes IA32_XSS only with XSAVES (noxsaves leaves it 0, arch LBR included).
    xss: f.xsaves ? ((features & ~user) | independent) >>> 0 : 0,
    compacted,
    saveInsn: f.xsaves ? 'XSAVES' : f.xsavec ? 'XSAVEC' : f.xsaveopt ? 'XSAVEOPT' : 'XSAVE',
    mxcsrFeatureMask: cpu.mxcsrMask,
  };
}
