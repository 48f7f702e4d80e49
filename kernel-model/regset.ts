/**
 * The FPU regsets of ptrace and core dumps (arch/x86/kernel/fpu/regset.c) and the generic
 * PTRACE_GETREGSET / PTRACE_SETREGSET size rules (kernel/ptrace.c ptrace_regset). The tracee is
 * stopped, so its state is in fpu.fpstate (switch_fpu_prepare ran when it stopped); a SET
 * leaves the registers to be reloaded on resume (fpu_force_restore). Rules and errnos from
 * ../shared/reference/linux-fpu-uabi.md §4.
 */
import type { CpuModel } from '../emulator/cpu-model.js';
import { XSAVE_HEADER_OFFSET } from '../emulator/cpu-model.js';
import { LEGACY } from '../emulator/register-file.js';
import { XFEATURE_MASK_FPSSE } from './fpu-config.js';
import { newFpstate, type TaskFpu } from './fpstate.js';
import { KernelBehaviour } from './variants.js';
import { Errno, XstateCopyMode, copy_uabi_to_xstate, copy_xstate_to_uabi_buf } from './xstate.js';

/** Core-note / regset types (include/uapi/linux/elf.h). */
export enum NoteType {
  NT_PRSTATUS = 1,
  NT_PRFPREG = 2,
  NT_X86_XSTATE = 0x202,
}

/** struct user_regset .size: both FPU regsets are arrays of u64 (sizeof(u64)). */
const REGSET_WORD = 8;
/** sizeof(struct user_i387_struct): the FXSAVE image of NT_PRFPREG. */
export const USER_I387_STRUCT_SIZE = 512;

export interface RegsetResult {
  /** 0, or the errno the call fails with. */
  errno: number;
  /** The iov_len written back (the clamped length). */
  len: number;
  /** GET: the bytes copied out (len of them). */
  data?: Uint8Array;
  reason?: string;
}

/** .n * .size of a regset, or undefined for a note type the x86-64 view does not have. */
function regsetBytes(fpu: TaskFpu, note: NoteType): number | undefined {
  if (note === NoteType.NT_PRFPREG) return USER_I387_STRUCT_SIZE;
  if (note === NoteType.NT_X86_XSTATE) return fpu.cfg.useXsave ? fpu.cfg.user.maxSize : 0;
  return undefined;
}

/** ptrace_regset()'s checks: unknown type -EINVAL, length not a multiple of .size -EINVAL, then clamp. */
function clampLength(fpu: TaskFpu, note: NoteType, iovLen: number): { len: number } | RegsetResult {
  const total = regsetBytes(fpu, note);
  if (total === undefined) return { errno: Errno.EINVAL, len: iovLen, reason: `note type 0x${note.toString(16)} is not an FPU regset of this model` };
  if (iovLen % REGSET_WORD !== 0) return { errno: Errno.EINVAL, len: iovLen, reason: `iov_len ${iovLen} is not a multiple of ${REGSET_WORD}` };
  return { len: Math.min(iovLen, total) };
}

/** PTRACE_GETREGSET (and the core-dump writer with the full length). */
export function ptrace_getregset(cpu: CpuModel, fpu: TaskFpu, note: NoteType, iovLen: number): RegsetResult {
  const c = clampLength(fpu, note, iovLen);
  if ('errno' in c) return c;
  const full = note === NoteType.NT_X86_XSTATE ? xstateregs_get(cpu, fpu) : xfpregs_get(cpu, fpu);
  if ('errno' in full) return { ...full, len: c.len };
  return { errno: 0, len: c.len, data: full.subarray(0, c.len) };
}

/** PTRACE_SETREGSET: the handler gets pos 0 and count = the clamped length. */
export function ptrace_setregset(cpu: CpuModel, fpu: TaskFpu, note: NoteType, buf: Uint8Array, iovLen: number): RegsetResult {
  const c = clampLength(fpu, note, iovLen);
  if ('errno' in c) return c;
  const data = buf.subarray(0, c.len);
  const r = note === NoteType.NT_X86_XSTATE ? xstateregs_set(cpu, fpu, data) : xfpregs_set(fpu, data);
  return { ...r, len: c.len };
}

/** xstateregs_get(): the full UABI image (copy_xstate_to_uabi_buf, XSAVE mode); -ENODEV without XSAVE. */
export function xstateregs_get(cpu: CpuModel, fpu: TaskFpu): Uint8Array | RegsetResult {
  if (!fpu.cfg.useXsave) return { errno: Errno.ENODEV, len: 0, reason: 'no XSAVE' };
  return copy_xstate_to_uabi_buf(cpu, fpu.cfg.user, fpu.fpstate, fpu.threadPkru, XstateCopyMode.XSAVE, fpu.cfg.user.maxSize, fpu.variant);
}

/**
 * xstateregs_set(): count must be the full UABI size (-EFAULT; 4.14 to 5.13: at least that size,
 * which the generic clamp makes the same), then copy_uabi_to_xstate with &thread.pkru. Before
 * 5.14 (no xstateregs-set-strict) a refused image also reset the tracee's FPU state to init.
 */
export function xstateregs_set(cpu: CpuModel, fpu: TaskFpu, data: Uint8Array): Omit<RegsetResult, 'len'> {
  const cfg = fpu.cfg;
  if (!cfg.useXsave) return { errno: Errno.ENODEV, reason: 'no XSAVE' };
  if (data.length !== cfg.user.maxSize) return { errno: Errno.EFAULT, reason: `count ${data.length} is not the full size ${cfg.user.maxSize}` };
  const pkru = { value: fpu.threadPkru };
  const r = copy_uabi_to_xstate(cpu, cfg.mxcsrFeatureMask, fpu.fpstate, data, pkru, fpu.variant);
  if (r.errno === 0) fpu.threadPkru = pkru.value >>> 0;
  else if (!fpu.variant.has(KernelBehaviour.XstateregsSetStrict)) {
    const f = fpu.fpstate;
    fpu.fpstate = newFpstate(cfg, f.xfeatures, f.userXfeatures, f.userSize);
  }
  return r;
}

/** xfpregs_get(): 512 bytes, FX mode (legacy state; bytes 416..511 zero). */
export function xfpregs_get(cpu: CpuModel, fpu: TaskFpu): Uint8Array | RegsetResult {
  if (!fpu.cfg.useXsave) return fpu.fpstate.regs.slice(0, USER_I387_STRUCT_SIZE);
  return copy_xstate_to_uabi_buf(cpu, { maxFeatures: fpu.cfg.user.maxFeatures, maxSize: USER_I387_STRUCT_SIZE }, fpu.fpstate, fpu.threadPkru, XstateCopyMode.FX, USER_I387_STRUCT_SIZE, fpu.variant);
}

/**
 * xfpregs_set() (5.14 "x86/fpu: Rewrite xfpregs_set()"): count must be 512 (-EINVAL), MXCSR
 * within mxcsr_feature_mask (-EINVAL, 145e9e0d8c6f), then all 512 bytes into the legacy area and
 * FP|SSE set in the kernel's XSTATE_BV.
 */
export function xfpregs_set(fpu: TaskFpu, data: Uint8Array): Omit<RegsetResult, 'len'> {
  if (data.length !== USER_I387_STRUCT_SIZE) return { errno: Errno.EINVAL, reason: `count ${data.length} is not ${USER_I387_STRUCT_SIZE}` };
  const mxcsr = new DataView(data.buffer, data.byteOffset).getUint32(LEGACY.MXCSR, true);
  if (mxcsr & ~fpu.cfg.mxcsrFeatureMask) return { errno: Errno.EINVAL, reason: `MXCSR 0x${mxcsr.toString(16)} sets reserved bits` };
  const k = fpu.fpstate.regs;
  k.set(data, 0);
  if (fpu.cfg.useXsave) {
    const dv = new DataView(k.buffer, k.byteOffset);
    dv.setUint32(XSAVE_HEADER_OFFSET, (dv.getUint32(XSAVE_HEADER_OFFSET, true) | XFEATURE_MASK_FPSSE) >>> 0, true);
  }
  return { errno: 0 };
}
