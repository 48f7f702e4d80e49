/**
 * Kernel variants for `exec --kernel`: the facts of a Linux version that a static program can see
 * here. Only what this first slice uses is listed; kernel-model/ grows the named behaviours.
 */
import { InputError } from '../errors.js';
import type { CpuModel } from '../../emulator/cpu-model.js';
import { XFeature, bit } from '../../emulator/xfeatures.js';

export interface KernelVariant {
  id: string;
  /** utsname.release. */
  release: string;
  /** AT_MINSIGSTKSZ is in the auxv from 5.14 (arch/x86/include/asm/elf.h ARCH_DLINFO). */
  hasMinSigStkSz: boolean;
}

export const KERNEL_VARIANTS: readonly KernelVariant[] = [
  { id: 'linux-6.18', release: '6.18.0-xstate-lab', hasMinSigStkSz: true },
  { id: 'linux-6.1', release: '6.1.0-xstate-lab', hasMinSigStkSz: true },
  { id: 'linux-5.10', release: '5.10.0-xstate-lab', hasMinSigStkSz: false },
];
export const DEFAULT_KERNEL = 'linux-6.18';

export function resolveKernel(id: string): KernelVariant {
  const k = KERNEL_VARIANTS.find((v) => v.id === id);
  if (!k) throw new InputError('<command line>', '--kernel', `unknown kernel variant '${id}' (known: ${KERNEL_VARIANTS.map((v) => v.id).join(', ')})`);
  return k;
}

/**
 * XFEATURE_MASK_USER_SUPPORTED (arch/x86/kernel/fpu/xstate.h, 5.6+ without MPX): the user
 * components Linux enables in XCR0 when the CPU has them.
 */
const USER_SUPPORTED = bit(XFeature.X87) | bit(XFeature.SSE) | bit(XFeature.AVX) | bit(XFeature.OPMASK) | bit(XFeature.ZMM_HI256)
  | bit(XFeature.HI16_ZMM) | bit(XFeature.PKRU) | bit(XFeature.TILECFG) | bit(XFeature.TILEDATA);
/** XFEATURE_MASK_SUPERVISOR_SUPPORTED | XFEATURE_MASK_INDEPENDENT: PASID, CET user state, arch LBR. */
const SUPERVISOR_SUPPORTED = bit(XFeature.PASID) | bit(XFeature.CET_U) | bit(XFeature.LBR);
/** XFEATURE_MASK_USER_DYNAMIC: AMX tile data, armed in IA32_XFD until ARCH_REQ_XCOMP_PERM. */
export const USER_DYNAMIC = bit(XFeature.TILEDATA);
/** init_pkru_value: every key but 0 access-disabled (arch/x86/mm/pkeys.c). */
export const INIT_PKRU = 0x55555554;

/** XCR0, IA32_XSS and IA32_XFD as Linux sets them on this CPU (fpu__init_system_xstate). */
export function kernelXstateConfig(cpu: CpuModel): { xcr0: number; xss: number; xfd: number } {
  const xcr0 = (cpu.xcr0Supported & USER_SUPPORTED) >>> 0;
  const xss = (cpu.xssSupported & SUPERVISOR_SUPPORTED) >>> 0;
  const xfd = cpu.features.xfd ? (xcr0 & USER_DYNAMIC) >>> 0 : 0;
  return { xcr0, xss, xfd };
}
