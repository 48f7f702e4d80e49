/**
 * The signal-delivery side of arch/x86/kernel/signal.c around the FPU frame code of
 * kernel-model/sigframe.ts: the worst-case frame size (init_sigframe_size, AT_MINSIGSTKSZ), the
 * sigaltstack size checks that depend on it, where a 64-bit frame goes (get_sigframe with the
 * 5.14 overflow check), and the glue that runs sigframe.ts over a guest Machine. Behaviour from
 * ../shared/reference/linux-fpu-uabi.md §5 and §6; no kernel code copied.
 */
import { GuestMemoryFault, type Machine } from '../emulator/machine.js';
import type { XsaveContext } from '../emulator/xsave.js';
import type { FpuConfig } from './fpu-config.js';
import type { TaskFpu } from './fpstate.js';
import {
  FP_XSTATE_MAGIC2_SIZE, SIGFRAME_RED_ZONE, copy_fpstate_to_sigframe, fpu__alloc_mathframe, fpu__clear_user_states, fpu__restore_sig,
  type GuestMemory, type RestoreSigResult,
} from './sigframe.js';
import { KernelBehaviour, type KernelVariant } from './variants.js';

/**
 * Kernel build options the model assumes, as distribution kernels (and this project's hosts) are
 * built. CONFIG_IA32_EMULATION: the worst-case frame is the ia32 one, and fpu__get_fpstate_size()
 * counts an fsave header; measured: this host prints "signal: max sigframe size: 11952" with
 * fpu_user_cfg.max_size 11008, which only this assumption reproduces.
 * CONFIG_STRICT_SIGALTSTACK_SIZE off and no strict_sas_size on the command line.
 */
export const KERNEL_CONFIG = { IA32_EMULATION: true, STRICT_SIGALTSTACK_SIZE: false } as const;

/** sizeof(struct rt_sigframe) on x86-64 (arch/x86/include/asm/sigframe.h): pretcode, ucontext, siginfo. */
export const RT_SIGFRAME_SIZE = 440;
/**
 * sizeof(struct sigframe_ia32) (asm/sigframe.h): pretcode 4, sig 4, sigcontext_32 88, the unused
 * _fpstate_32 624 (8-aligned by the u64 in _fpx_sw_bytes), extramask 4, retcode 8, padded to 8.
 */
export const SIGFRAME_IA32_SIZE = 736;
/** sizeof(struct fregs_state) (asm/fpu/types.h): the FSAVE header of ia32 frames. */
export const FREGS_STATE_SIZE = 112;
/** FRAME_ALIGNMENT, MAX_FRAME_PADDING, MAX_XSAVE_PADDING (arch/x86/kernel/signal.c). */
export const FRAME_ALIGNMENT = 16;
const MAX_FRAME_PADDING = FRAME_ALIGNMENT - 1;
const MAX_XSAVE_PADDING = 63;
/** MAX_FRAME_SIGINFO_UCTXT_SIZE (signal.c): the largest of the four frame structs. */
const MAX_FRAME_SIGINFO_UCTXT_SIZE = KERNEL_CONFIG.IA32_EMULATION ? SIGFRAME_IA32_SIZE : RT_SIGFRAME_SIZE;
/** MINSIGSTKSZ (include/uapi/asm-generic/signal.h, x86 uapi asm/signal.h): sigaltstack's floor. */
export const MINSIGSTKSZ = 2048;

const roundUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/** fpu__get_fpstate_size() (fpu/xstate.c): the largest FPU part of a frame. */
export function fpu__get_fpstate_size(cfg: FpuConfig): number {
  let size = cfg.user.maxSize + (cfg.useXsave ? FP_XSTATE_MAGIC2_SIZE : 0);
  if (KERNEL_CONFIG.IA32_EMULATION) size += FREGS_STATE_SIZE; // the fsave header of ia32 frames (FXSR CPUs)
  return size;
}

/** init_sigframe_size(): max_frame_size, the value of AT_MINSIGSTKSZ and of the dmesg line. */
export function max_frame_size(cfg: FpuConfig): number {
  return roundUp(MAX_FRAME_SIGINFO_UCTXT_SIZE + MAX_FRAME_PADDING + fpu__get_fpstate_size(cfg) + MAX_XSAVE_PADDING, FRAME_ALIGNMENT);
}

/** AT_MINSIGSTKSZ for the auxv, or undefined where the variant has no such entry (before 5.14). */
export function atMinsigstksz(cfg: FpuConfig, v: KernelVariant): number | undefined {
  return v.has(KernelBehaviour.AtMinsigstksz) ? max_frame_size(cfg) : undefined;
}

/**
 * validate_sigaltstack() (fpu/xstate.c, ARCH_REQ_XCOMP_PERM): false (-ENOSPC) when a thread has
 * an alternate stack smaller than the frame the new user size `usize` needs.
 */
export function validate_sigaltstack(cfg: FpuConfig, usize: number, altstackSizes: readonly bigint[]): boolean {
  const framesize = BigInt(max_frame_size(cfg) - cfg.user.maxSize + usize);
  return altstackSizes.every((s) => s === 0n || s >= framesize);
}

/**
 * sigaltstack_size_valid() (signal.c): with dynamic features on the system, a stack must be
 * larger than the frame for the process's permitted user size once it holds a dynamic feature.
 */
export function sigaltstack_size_valid(cfg: FpuConfig, permittedUserSize: number, permitsDynamic: boolean, ssSize: bigint): boolean {
  const dynamicSystem = cfg.user.maxFeatures !== cfg.user.defaultFeatures; // fpu_state_size_dynamic()
  if (!dynamicSystem && !KERNEL_CONFIG.STRICT_SIGALTSTACK_SIZE) return true;
  const fsize = BigInt(max_frame_size(cfg) - fpu__get_fpstate_size(cfg) + permittedUserSize);
  if (ssSize > fsize) return true;
  return !(KERNEL_CONFIG.STRICT_SIGALTSTACK_SIZE || permitsDynamic);
}

/** The task's alternate signal stack (sas_ss_sp, sas_ss_size; 0 size when disabled). */
export interface AltStack { sp: bigint; size: bigint; enabled: boolean }

/** __on_sig_stack() (include/linux/sched/signal.h): the stack grows down. */
export function on_sig_stack(ss: AltStack, sp: bigint): boolean {
  return ss.enabled && sp > ss.sp && sp - ss.sp <= ss.size;
}

export interface SigframePlace {
  /** Where the rt_sigframe starts (the handler's RSP). */
  frame: bigint;
  /** buf_fx: the 64-byte aligned XSAVE area (uc_mcontext.fpstate). */
  bufFx: bigint;
  /** The handler runs on the alternate stack. */
  onAltstack: boolean;
  /** Set when get_sigframe() refuses: the frame overflows the alternate stack (5.14+). */
  overflow?: string;
}

/**
 * get_sigframe() for a 64-bit rt frame: red zone, the X/Open altstack switch, the math frame
 * (fpu__alloc_mathframe), the rt_sigframe below it with (sp + 8) 16-byte aligned, and since 5.14
 * ("x86/signal: Detect and prevent an alternate signal stack overflow", the AT_MINSIGSTKSZ series,
 * so tied to that behaviour) the check that the whole frame lies on the alternate stack.
 */
export function get_sigframe(fpu: TaskFpu, rsp: bigint, ss: AltStack, saOnstack: boolean): SigframePlace {
  const nested = on_sig_stack(ss, rsp);
  let sp = rsp - BigInt(SIGFRAME_RED_ZONE);
  let entering = false;
  if (saOnstack && ss.enabled && !on_sig_stack(ss, sp)) {
    sp = ss.sp + ss.size;
    entering = true;
  }
  const bufFx = fpu__alloc_mathframe(sp, fpu);
  const align = BigInt(FRAME_ALIGNMENT);
  const frame = ((bufFx - BigInt(RT_SIGFRAME_SIZE)) / align) * align - 8n;
  const place: SigframePlace = { frame, bufFx, onAltstack: nested || entering };
  if (fpu.variant.has(KernelBehaviour.AtMinsigstksz) && (nested || entering) && !on_sig_stack(ss, frame)) {
    place.overflow = `the frame at 0x${frame.toString(16)} overflows the alternate signal stack [0x${ss.sp.toString(16)}, +0x${ss.size.toString(16)})`;
  }
  return place;
}

/** The guest's memory as copy_to_user / copy_from_user see it (the guest's page permissions). */
export function machineMemory(m: Machine): GuestMemory {
  return {
    read(addr, len) {
      try { return m.read(addr, len); } catch (e) { if (e instanceof GuestMemoryFault) return undefined; throw e; }
    },
    write(addr, bytes) {
      try { m.write(addr, bytes); return true; } catch (e) { if (e instanceof GuestMemoryFault) return false; throw e; }
    },
  };
}

/**
 * copy_fpstate_to_sigframe() for the task on `m` (get_sigframe). The x87/SSE part lives in
 * unicorn, so it is brought into the register file first and written back after.
 */
export function setupSigframeFpu(m: Machine, xs: XsaveContext, fpu: TaskFpu, bufFx: bigint): boolean {
  m.syncIn(true);
  const ok = copy_fpstate_to_sigframe(xs, fpu, machineMemory(m), bufFx);
  m.syncOut(true);
  return ok;
}

/** handle_signal() after a frame was set up: fpu__clear_user_states(), the handler's starting state. */
export function clearUserStatesForHandler(m: Machine, xs: XsaveContext, fpu: TaskFpu): void {
  m.syncIn(true);
  fpu__clear_user_states(xs, fpu);
  m.syncOut(true);
}

/** fpu__restore_sig() from rt_sigreturn's restore_sigcontext; a failed restore means SIGSEGV. */
export function restoreSigframeFpu(m: Machine, xs: XsaveContext, fpu: TaskFpu, bufFx: bigint): RestoreSigResult {
  m.syncIn(true);
  const r = fpu__restore_sig(xs, fpu, machineMemory(m), bufFx === 0n ? null : bufFx);
  m.syncOut(true);
  return r;
}
