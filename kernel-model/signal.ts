/**
 * The extended-state part of x86-64 signal frames (arch/x86/kernel/fpu/signal.c). Everything the
 * process model needs goes through the functions here, so that the full XSAVE-format frame
 * (copy_fpstate_to_sigframe, fpu__restore_sig with FP_XSTATE_MAGIC1/2 and xfeatures) can replace
 * this first version without touching src/linux.
 *
 * This version writes the 512-byte FXSAVE image only (what Linux writes when XSAVE is not used,
 * fpu__alloc_mathframe without use_xsave): sw_reserved stays zero, so a reader sees no
 * FP_XSTATE_MAGIC1 and no extended state. State above the FXSAVE image (YMM/ZMM upper halves,
 * opmask, PKRU, tiles) is neither saved in the frame nor reset for the handler.
 */
import { MXCSR_INIT } from '../emulator/cpu-model.js';
import type { Machine } from '../emulator/machine.js';
import { CpuFault, fxrstor, fxsave, type XsaveContext } from '../emulator/xsave.js';
import { XFeature } from '../emulator/xfeatures.js';

/** Size of the FXSAVE image (SDM Vol. 2A FXSAVE, Table 3-43). */
export const FXSAVE_IMAGE_BYTES = 512;
/** The fpstate must be 64-byte aligned for XSAVE and 16 for FXSAVE; Linux aligns it to 64 (get_sigframe). */
export const SIGFRAME_FPSTATE_ALIGN = 64n;
/** sizeof(struct rt_sigframe) on x86-64: pretcode 8 + ucontext 304 + siginfo 128 (arch/x86/include/asm/sigframe.h). */
export const RT_SIGFRAME_BYTES = 440;
/** arch/x86/kernel/signal.c: MAX_FRAME_PADDING = FRAME_ALIGNMENT - 1, MAX_XSAVE_PADDING = 63. */
const MAX_FRAME_PADDING = 15;
const MAX_XSAVE_PADDING = 63;
/** FP_XSTATE_MAGIC2_SIZE (arch/x86/include/uapi/asm/sigcontext.h). */
const FP_XSTATE_MAGIC2_SIZE = 4;
/** FRAME_ALIGNMENT (arch/x86/kernel/signal.c). */
const FRAME_ALIGNMENT = 16;

/** Bytes the fpstate takes in a frame built by this version (fpu__alloc_mathframe). */
export function sigframeFpstateSize(_xs: XsaveContext): number {
  return FXSAVE_IMAGE_BYTES;
}

/**
 * AT_MINSIGSTKSZ as Linux 5.14+ computes it (arch/x86/kernel/signal.c init_sigframe_size): the
 * largest frame, with the XSAVE buffer for every user feature (fpu_user_cfg.max_size).
 */
export function minSigStackSize(userXstateMaxSize: number, usesXsave: boolean): number {
  const fp = usesXsave ? userXstateMaxSize + FP_XSTATE_MAGIC2_SIZE : FXSAVE_IMAGE_BYTES;
  const size = RT_SIGFRAME_BYTES + MAX_FRAME_PADDING + fp + MAX_XSAVE_PADDING;
  return Math.ceil(size / FRAME_ALIGNMENT) * FRAME_ALIGNMENT;
}

/**
 * copy_fpstate_to_sigframe: store the thread's x87/SSE state at `addr` (64-byte aligned, writable,
 * sigframeFpstateSize bytes), then give the handler a clean x87/SSE state as Linux does
 * (fpu__clear_user_states). Returns false when the frame cannot be written.
 */
export function copyFpstateToSigframe(m: Machine, xs: XsaveContext, addr: bigint): boolean {
  m.syncIn(true);
  const area = new Uint8Array(FXSAVE_IMAGE_BYTES);
  fxsave(xs, area, Number(addr), true, false);
  try {
    m.write(addr, area);
  } catch {
    return false;
  }
  const r = xs.regs;
  r.initX87();
  r.initSse();
  r.mxcsr = MXCSR_INIT;
  r.xinuse = (r.xinuse & ~((1 << XFeature.X87) | (1 << XFeature.SSE))) >>> 0;
  if (r.tracksZeroRegisters) r.regsInUse[XFeature.SSE] = 0;
  m.syncOut(true);
  return true;
}

/**
 * fpu__restore_sig: load the state saved at `addr` (0: the handler removed it, so the x87/SSE state
 * becomes initial). Returns false when Linux would fail the sigreturn (unreadable frame, reserved
 * MXCSR bits), which sends SIGSEGV.
 */
export function restoreFpstateFromSigframe(m: Machine, xs: XsaveContext, addr: bigint): boolean {
  if (addr === 0n) {
    xs.regs.initX87();
    xs.regs.initSse();
    xs.regs.mxcsr = MXCSR_INIT;
    m.syncOut(true);
    return true;
  }
  let area: Uint8Array;
  try {
    area = m.read(addr, FXSAVE_IMAGE_BYTES);
  } catch {
    return false;
  }
  try {
    // Alignment is Linux's concern, not the guest's: restore as if the image were aligned.
    fxrstor(xs, area, 0, true, false);
  } catch (e) {
    if (e instanceof CpuFault) return false;
    throw e;
  }
  m.syncOut(true);
  return true;
}
