/**
 * arch/x86/kernel/fpu/xstate.c, the parts that turn a task's kernel XSAVE buffer into the user
 * ABI image: __copy_xstate_to_uabi_buf() as Linux 6.3 to 6.18 write it (behaviour read from the
 * kernel source, see ../shared/reference/linux-fpu-uabi.md §2; no kernel code copied).
 */
import { CpuModel, EXTENDED_REGION_OFFSET, FCW_INIT, MXCSR_INIT, XSAVE_HEADER_OFFSET } from '../emulator/cpu-model.js';
import { LEGACY } from '../emulator/register-file.js';
import { XFeature, bit } from '../emulator/xfeatures.js';

/** enum xstate_copy_mode (5.14+). */
export enum XstateCopyMode {
  FP,
  FX,
  XSAVE,
}

/** Bytes 464..511 of the ptrace/core image: xstate_fx_sw_bytes[6] (asm/user.h USER_XSTATE_XCR0_WORD = 0). */
const SW_RESERVED_OFFSET = 464;
const XFEATURE_MASK_FP = bit(XFeature.X87);
const XFEATURE_MASK_SSE = bit(XFeature.SSE);
const XFEATURE_MASK_YMM = bit(XFeature.AVX);

/** The kernel's view of one task's FPU state (struct fpstate, the fields these copies read). */
export interface Fpstate {
  /** The XSAVE buffer as the kernel's XSAVES/XSAVE left it. */
  regs: Uint8Array;
  /** fpstate->xfeatures: what the buffer can hold. */
  xfeatures: number;
  /** fpstate->user_xfeatures: what user space of this task may see. */
  userXfeatures: number;
  /** The buffer is in the compacted format (XCOMP_BV[63]). */
  compacted: boolean;
}

/** fpu_user_cfg (5.16+): the user-visible maximum features and size. */
export interface FpuUserCfg {
  maxFeatures: number;
  maxSize: number;
}

const u32 = (a: Uint8Array, o: number): number => (a[o] | (a[o + 1] << 8) | (a[o + 2] << 16) | (a[o + 3] << 24)) >>> 0;

/**
 * __copy_xstate_to_uabi_buf(): returns the image a ptrace GETREGSET / core dump shows, cut to
 * `len` bytes (a struct membuf cursor truncates every write).
 */
export function copy_xstate_to_uabi_buf(cpu: CpuModel, cfg: FpuUserCfg, fps: Fpstate, pkru: number, mode: XstateCopyMode, len = cfg.maxSize): Uint8Array {
  const out = new Uint8Array(cfg.maxSize);
  const src = fps.regs;
  const srcBv = u32(src, XSAVE_HEADER_OFFSET);
  // 1. The header's XSTATE_BV, masked by the mode.
  let bv: number;
  if (mode === XstateCopyMode.FP) bv = srcBv & XFEATURE_MASK_FP;
  else if (mode === XstateCopyMode.FX) bv = srcBv & (XFEATURE_MASK_FP | XFEATURE_MASK_SSE);
  else bv = srcBv & fps.userXfeatures;
  bv >>>= 0;
  // 2.-5. The legacy region: from the buffer where the header says so, else init_fpstate.
  if (bv & XFEATURE_MASK_FP) {
    out.set(src.subarray(0, LEGACY.MXCSR), 0);
    out.set(src.subarray(LEGACY.ST0, LEGACY.XMM0), LEGACY.ST0);
  } else {
    out[LEGACY.FCW] = FCW_INIT & 0xff;
    out[LEGACY.FCW + 1] = FCW_INIT >> 8;
  }
  if (bv & (XFEATURE_MASK_SSE | XFEATURE_MASK_YMM)) out.set(src.subarray(LEGACY.MXCSR, LEGACY.MXCSR + 8), LEGACY.MXCSR);
  else {
    new DataView(out.buffer).setUint32(LEGACY.MXCSR, MXCSR_INIT, true);
    new DataView(out.buffer).setUint32(LEGACY.MXCSR_MASK, cpu.mxcsrMask, true); // mxcsr_feature_mask
  }
  if (bv & XFEATURE_MASK_SSE) out.set(src.subarray(LEGACY.XMM0, LEGACY.END_OF_SAVED), LEGACY.XMM0);
  // 6. FP and FX stop after the legacy region; the rest stays zero.
  if (mode !== XstateCopyMode.XSAVE) return out.slice(0, Math.min(len, 512));
  // 7. Software-reserved bytes: word 0 is the system's user feature mask (not the task's).
  new DataView(out.buffer).setUint32(SW_RESERVED_OFFSET, cfg.maxFeatures, true);
  new DataView(out.buffer).setUint32(XSAVE_HEADER_OFFSET, bv, true);
  // 8. Extended components in the header, at their standard offsets; PKRU from thread.pkru.
  const offsets = fps.compacted ? cpu.compactedLayout(u32(src, XSAVE_HEADER_OFFSET + 8)).offsets : undefined;
  for (const c of cpu.extendedComponents) {
    if (c.supervisor || !((bv >>> c.number) & 1)) continue;
    if (c.number === XFeature.PKRU) {
      new DataView(out.buffer).setUint32(c.standardOffset, pkru >>> 0, true);
      continue;
    }
    const from = offsets ? offsets[c.number] : c.standardOffset;
    out.set(src.subarray(from, from + c.size), c.standardOffset);
  }
  void EXTENDED_REGION_OFFSET;
  return out.slice(0, Math.min(len, cfg.maxSize));
}
