/**
 * The ARCH_SET_XCR0 proposal (Keno Fischer, "[RFC PATCH v2] x86/arch_prctl: Add ARCH_SET_XCR0
 * to set XCR0 per-thread", LKML 2020-04-07; never merged): a thread may run user code with a
 * smaller XCR0. Semantics from the patch text as summarized in ../shared/reference/
 * linux-fpu-uabi.md §9.3; the signal-frame question is the knob arch-set-xcr0-sigframe-full.
 */
import type { CpuModel } from '../emulator/cpu-model.js';
import { xcr0Invalid } from '../emulator/xsave.js';
import type { TaskFpu } from './fpstate.js';
import { KernelBehaviour } from './variants.js';
import { Errno } from './xstate.js';

/** The patch's option number, which merged kernels later gave to ARCH_GET_XCOMP_SUPP (uapi/asm/prctl.h). */
export const ARCH_SET_XCR0 = 0x1021;
/** xcr0_is_legal(): only bits 0..9 may be set (FP..PKRU). */
const XCR0_LEGAL_BITS = 0x3ff;

/**
 * arch_prctl(ARCH_SET_XCR0, value). Returns 0 or a positive errno. On kernels without the proposal
 * the number is ARCH_GET_XCOMP_SUPP, which takes a pointer: a small value is an unmapped address.
 * ASSUMPTION (the reference's reading of the patch): xstate_is_initial(), meant to refuse turning
 * off components that hold live state with -EPERM, tested the requested bits and never failed, so
 * it is modelled as never failing.
 */
export function arch_set_xcr0(cpu: CpuModel, fpu: TaskFpu, value: number): number {
  if (!fpu.variant.has(KernelBehaviour.ArchSetXcr0V2)) return Errno.EFAULT;
  const cfg = fpu.cfg;
  if (!cfg.useXsave) return Errno.ENODEV;
  if ((value & ~cfg.user.maxFeatures) !== 0) return Errno.ENODEV;
  if ((value & ~XCR0_LEGAL_BITS) !== 0 || xcr0Invalid(cpu, value >>> 0, 0) !== undefined) return Errno.EINVAL;
  fpu.threadXcr0 = value === cfg.user.maxFeatures ? 0 : value >>> 0;
  return 0;
}

/** The XCR0 the task's user code runs with: its own under the proposal, the kernel's otherwise. */
export function userXcr0(fpu: TaskFpu): number {
  return fpu.variant.has(KernelBehaviour.ArchSetXcr0V2) && fpu.threadXcr0 ? fpu.threadXcr0 : fpu.cfg.xcr0;
}

/** The XCR0 in force while the kernel writes or reads the task's signal frames. */
export function sigframeXcr0(fpu: TaskFpu): number {
  return fpu.variant.has(KernelBehaviour.ArchSetXcr0SigframeFull) ? fpu.cfg.xcr0 : userXcr0(fpu);
}
