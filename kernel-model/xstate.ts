/**
 * arch/x86/kernel/fpu/xstate.c, the parts that turn a task's kernel XSAVE buffer into the user
 * ABI image: __copy_xstate_to_uabi_buf() as Linux 6.3 to 6.18 write it (behaviour read from the
 * kernel source, see ../shared/reference/linux-fpu-uabi.md §2; no kernel code copied).
 */
import { CpuModel, EXTENDED_REGION_OFFSET, FCW_INIT, MXCSR_INIT, XSAVE_HEADER_OFFSET } from '../emulator/cpu-model.js';
import { LEGACY } from '../emulator/register-file.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import type { Fpstate } from './fpstate.js';
import { KERNEL_VARIANTS, KernelBehaviour, type KernelVariant } from './variants.js';

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

/** fpu_user_cfg (5.16+): the user-visible maximum features and size. */
export interface FpuUserCfg {
  maxFeatures: number;
  maxSize: number;
}

/** The variant whose rules apply when a caller names none (the newest merged kernel). */
const LATEST = KERNEL_VARIANTS.find((v) => v.id === 'linux-6.18')!;

const u32 = (a: Uint8Array, o: number): number => (a[o] | (a[o + 1] << 8) | (a[o + 2] << 16) | (a[o + 3] << 24)) >>> 0;

/**
 * __copy_xstate_to_uabi_buf(): returns the image a ptrace GETREGSET / core dump shows, cut to
 * `len` bytes (a struct membuf cursor truncates every write).
 */
export function copy_xstate_to_uabi_buf(cpu: CpuModel, cfg: FpuUserCfg, fps: Pick<Fpstate, 'regs' | 'userXfeatures' | 'compacted'>, pkru: number, mode: XstateCopyMode, len = cfg.maxSize, variant: KernelVariant = LATEST): Uint8Array {
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
  // PKRU: from thread.pkru since 5.14 (e84ba47e313d), even with bit 9 clear until 6.3
  // (736a40b52861); before 5.14 the buffer held PKRU and was copied like any component.
  const pkruFromThread = variant.has(KernelBehaviour.PkruInThreadStruct);
  const pkruEvenWithoutBit = pkruFromThread && !variant.has(KernelBehaviour.UabiPkruOnlyWithBit);
  for (const c of cpu.extendedComponents) {
    const isPkru = c.number === XFeature.PKRU;
    const inMask = ((fps.userXfeatures >>> c.number) & 1) === 1;
    if (c.supervisor || !((bv >>> c.number) & 1)) {
      if (isPkru && pkruEvenWithoutBit && inMask) new DataView(out.buffer).setUint32(c.standardOffset, pkru >>> 0, true);
      continue;
    }
    if (isPkru && pkruFromThread) {
      new DataView(out.buffer).setUint32(c.standardOffset, pkru >>> 0, true);
      continue;
    }
    const from = offsets ? offsets[c.number] : c.standardOffset;
    out.set(src.subarray(from, from + c.size), c.standardOffset);
  }
  void EXTENDED_REGION_OFFSET;
  return out.slice(0, Math.min(len, cfg.maxSize));
}

/** Linux errno values the UABI copies return (include/uapi/asm-generic/errno-base.h). */
export enum Errno {
  EFAULT = 14,
  EINVAL = 22,
  ENODEV = 19,
  EOPNOTSUPP = 95,
}

/** Header reserved bytes checked by validate_user_xstate_header: XCOMP_BV and the 48 bytes after it. */
const HEADER_XCOMP_BV = XSAVE_HEADER_OFFSET + 8;
const HEADER_END = XSAVE_HEADER_OFFSET + 64;

/**
 * validate_user_xstate_header() (xstate.c, 4.14+ as validate_xstate_header): XSTATE_BV within the
 * task's user_xfeatures, XCOMP_BV zero, reserved bytes zero. Returns why the header is refused.
 */
export function validate_user_xstate_header(buf: Uint8Array, fps: Pick<Fpstate, 'userXfeatures'>): string | undefined {
  const bvLo = u32(buf, XSAVE_HEADER_OFFSET), bvHi = u32(buf, XSAVE_HEADER_OFFSET + 4);
  if (bvHi !== 0 || (bvLo & ~fps.userXfeatures) !== 0) return `XSTATE_BV 0x${bvHi ? bvHi.toString(16) + bvLo.toString(16).padStart(8, '0') : bvLo.toString(16)} has bits outside user_xfeatures 0x${fps.userXfeatures.toString(16)}`;
  for (let k = HEADER_XCOMP_BV; k < HEADER_END; k++) if (buf[k] !== 0) return k < HEADER_XCOMP_BV + 8 ? 'XCOMP_BV is not 0' : `reserved header byte ${k} is not 0`;
  return undefined;
}

export interface UabiCopyResult {
  /** 0 or a positive errno (the kernel returns it negated). */
  errno: number;
  /** Why the copy was refused, for reports. */
  reason?: string;
}

/** A PKRU destination: thread.pkru (ptrace, sigreturn) or vcpu->arch.pkru (KVM), or none (KVM, bit 9 clear). */
export interface PkruRef {
  value: number;
}

/**
 * copy_uabi_to_xstate() (xstate.c, 5.14 rework; pkru argument 6.2): a standard-format UABI image
 * into the task's kernel buffer. Validates the header, then MXCSR when FP, SSE or YMM is present;
 * copies each present component to its place in the (possibly compacted) buffer; PKRU goes to
 * `*pkru` with pkru-ptrace-write (bit 9 clear: 0) and nowhere else before 6.2 (5.14 to 6.1 lose
 * it; before 5.14 it stays in the buffer, which is where PKRU lived). The kernel header's
 * XSTATE_BV becomes (old & supervisor) | user's.
 * `mxcsrMasked`: before 5.14 reserved MXCSR bits were masked off instead of refused.
 */
export function copy_uabi_to_xstate(cpu: CpuModel, mxcsrFeatureMask: number, fps: Fpstate, buf: Uint8Array, pkru: PkruRef | null, variant: KernelVariant = LATEST): UabiCopyResult {
  const why = validate_user_xstate_header(buf, fps);
  if (why) return { errno: Errno.EINVAL, reason: why };
  const bv = u32(buf, XSAVE_HEADER_OFFSET);
  const k = fps.regs;
  const kdv = new DataView(k.buffer, k.byteOffset);
  const strict = variant.has(KernelBehaviour.XstateregsSetStrict);
  if (bv & (XFEATURE_MASK_FP | XFEATURE_MASK_SSE | XFEATURE_MASK_YMM)) {
    let mxcsr = u32(buf, LEGACY.MXCSR);
    if (mxcsr & ~mxcsrFeatureMask) {
      if (strict) return { errno: Errno.EINVAL, reason: `MXCSR 0x${mxcsr.toString(16)} sets bits outside mxcsr_feature_mask 0x${mxcsrFeatureMask.toString(16)}` };
      mxcsr = (mxcsr & mxcsrFeatureMask) >>> 0;
    }
    if (!(bv & XFEATURE_MASK_FP)) {
      kdv.setUint32(LEGACY.MXCSR, mxcsr, true);
      k.set(buf.subarray(LEGACY.MXCSR_MASK, LEGACY.MXCSR_MASK + 4), LEGACY.MXCSR_MASK);
    } else if (!strict) {
      // copied below with the FP bytes; keep the masked value
      buf = buf.slice();
      new DataView(buf.buffer).setUint32(LEGACY.MXCSR, mxcsr, true);
    }
  }
  if (bv & XFEATURE_MASK_FP) k.set(buf.subarray(0, LEGACY.XMM0), 0);
  if (bv & XFEATURE_MASK_SSE) k.set(buf.subarray(LEGACY.XMM0, LEGACY.END_OF_SAVED), LEGACY.XMM0);
  const offsets = fps.compacted ? cpu.compactedLayout(u32(k, XSAVE_HEADER_OFFSET + 8)).offsets : undefined;
  const pkruInThread = variant.has(KernelBehaviour.PkruInThreadStruct);
  for (const c of cpu.extendedComponents) {
    if (c.supervisor || !((bv >>> c.number) & 1)) continue;
    const to = offsets ? offsets[c.number] : c.standardOffset;
    if (to === undefined) continue;
    k.set(buf.subarray(c.standardOffset, c.standardOffset + c.size), to);
  }
  if (pkruInThread && variant.has(KernelBehaviour.PkruPtraceWrite) && pkru && (fps.userXfeatures & bit(XFeature.PKRU))) {
    const pk = cpu.components[XFeature.PKRU];
    pkru.value = bv & bit(XFeature.PKRU) && pk ? u32(buf, pk.standardOffset) : 0;
  }
  const supervisor = cpu.xssSupported;
  kdv.setUint32(XSAVE_HEADER_OFFSET, ((u32(k, XSAVE_HEADER_OFFSET) & supervisor) | bv) >>> 0, true);
  kdv.setUint32(XSAVE_HEADER_OFFSET + 4, 0, true);
  return { errno: 0 };
}
