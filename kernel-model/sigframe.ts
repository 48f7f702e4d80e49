/**
 * The extended-state part of 64-bit signal frames (arch/x86/kernel/fpu/signal.c): where the frame
 * goes (fpu__alloc_mathframe / get_sigframe), how it is written (copy_fpstate_to_sigframe,
 * save_xstate_epilog), the handler's starting state (fpu__clear_user_states) and rt_sigreturn's
 * fpu__restore_sig. Behaviour from ../shared/reference/linux-fpu-uabi.md §5; no kernel code
 * copied. Memory is the guest's, reached through a GuestMemory; the CPU is the CPU model.
 */
import { XSAVE_HEADER_OFFSET } from '../emulator/cpu-model.js';
import { CpuFault, XsaveContext, fxrstor, fxsave, xgetbv, xrstor, xrstors, xsave } from '../emulator/xsave.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import { INIT_PKRU_VALUE, XFEATURE_MASK_FPSSE, XFEATURE_MASK_USER_DYNAMIC, userRestoreMask } from './fpu-config.js';
import { newFpstate, rdpkru, wrpkru, type TaskFpu } from './fpstate.js';
import { sigframeXcr0 } from './arch-set-xcr0.js';
import { KernelBehaviour } from './variants.js';

/** uapi/asm/sigcontext.h: FP_XSTATE_MAGIC1 in the sw bytes, FP_XSTATE_MAGIC2 after the area. */
export const FP_XSTATE_MAGIC1 = 0x46505853;
export const FP_XSTATE_MAGIC2 = 0x46505845;
export const FP_XSTATE_MAGIC2_SIZE = 4;
/** struct _fpx_sw_bytes at offset 464 of the frame's FXSAVE area: magic1, extended_size, xfeatures (u64), xstate_size, padding[7]. */
export const FPX_SW_BYTES_OFFSET = 464;
const SW_EXTENDED_SIZE = FPX_SW_BYTES_OFFSET + 4;
const SW_XFEATURES = FPX_SW_BYTES_OFFSET + 8;
const SW_XSTATE_SIZE = FPX_SW_BYTES_OFFSET + 16;
const FPX_SW_BYTES_SIZE = 48;
/** The FXSAVE image (fx_only frames, and the legacy part of XSAVE frames). */
const FXSAVE_SIZE = 512;
/** 64-bit get_sigframe: the red zone below the interrupted RSP (arch/x86/kernel/signal.c). */
export const SIGFRAME_RED_ZONE = 128;
/** The XSAVE area of a frame is 64-byte aligned (fpu__alloc_mathframe round_down). */
const SIGFRAME_FPSTATE_ALIGN = 64;
/** XFEATURE_MASK_SIGFRAME_INITOPT: components a frame may skip while they are in their init state. */
const XFEATURE_MASK_SIGFRAME_INITOPT = bit(XFeature.TILECFG) | XFEATURE_MASK_USER_DYNAMIC;
/** Where the model's init_fpstate lives for the CPU model (only distinctness matters). */
const INIT_FPSTATE_ADDR = 0x7f0000100000;

/** The guest memory a frame is written to and read from; a failing access returns false. */
export interface GuestMemory {
  read(addr: bigint, len: number): Uint8Array | undefined;
  write(addr: bigint, bytes: Uint8Array): boolean;
}

/** A stack of `size` bytes below `top`, filled with `fill`: the guest memory of model-level signal frames. */
export class StackMemory implements GuestMemory {
  readonly bytes: Uint8Array;
  readonly base: bigint;
  constructor(readonly top: bigint, size: number, fill: number) {
    this.bytes = new Uint8Array(size).fill(fill);
    this.base = top - BigInt(size);
  }
  private offset(addr: bigint, len: number): number | undefined {
    const o = Number(addr - this.base);
    return o >= 0 && o + len <= this.bytes.length ? o : undefined;
  }
  read(addr: bigint, len: number): Uint8Array | undefined {
    const o = this.offset(addr, len);
    return o === undefined ? undefined : this.bytes.slice(o, o + len);
  }
  write(addr: bigint, b: Uint8Array): boolean {
    const o = this.offset(addr, b.length);
    if (o === undefined) return false;
    this.bytes.set(b, o);
    return true;
  }
}

/** xstate_sigframe_size(): the task's user_size plus magic2 with XSAVE, 512 without. */
export function xstate_sigframe_size(fpu: TaskFpu): number {
  return fpu.cfg.useXsave ? fpu.fpstate.userSize + FP_XSTATE_MAGIC2_SIZE : FXSAVE_SIZE;
}

/** fpu__alloc_mathframe() on a 64-bit frame: the fpstate address for an RSP (after the red zone and any altstack switch). */
export function fpu__alloc_mathframe(sp: bigint, fpu: TaskFpu): bigint {
  const a = BigInt(SIGFRAME_FPSTATE_ALIGN);
  return ((sp - BigInt(xstate_sigframe_size(fpu))) / a) * a;
}

/** The fpstate of a frame for a signal that interrupts RSP `rsp` on the normal stack. */
export function sigframeFpstateAddress(rsp: bigint, fpu: TaskFpu): bigint {
  return fpu__alloc_mathframe(rsp - BigInt(SIGFRAME_RED_ZONE), fpu);
}

const u32 = (a: Uint8Array, o: number): number => new DataView(a.buffer, a.byteOffset).getUint32(o, true);
const put32 = (a: Uint8Array, o: number, v: number): void => new DataView(a.buffer, a.byteOffset).setUint32(o, v >>> 0, true);

/**
 * copy_fpstate_to_sigframe() for a native 64-bit frame whose registers are live. Returns false
 * when the frame cannot be written (the signal then becomes SIGSEGV).
 */
export function copy_fpstate_to_sigframe(ctx: XsaveContext, fpu: TaskFpu, mem: GuestMemory, bufFx: bigint): boolean {
  const { cfg, fpstate, variant } = fpu;
  if (!cfg.useXsave) {
    // A kernel without XSAVE (no XSAVE on the CPU, or noxsave): copy_fxregs_to_user, FXSAVE64 of
    // the live registers straight into the frame, then save_xstate_epilog's sw bytes, which are
    // fx_sw_reserved as nothing initialized it (fpu__init_prepare_fx_sw_frame runs only with
    // XSAVE): zeros, no magic1 and no magic2, so sigreturn takes the frame as fx_only.
    const area = mem.read(bufFx, FXSAVE_SIZE);
    if (!area) return false;
    const cpl = ctx.cpl;
    ctx.cpl = 0;
    try { fxsave(ctx, area, Number(bufFx)); } finally { ctx.cpl = cpl; }
    area.fill(0, FPX_SW_BYTES_OFFSET, FPX_SW_BYTES_OFFSET + FPX_SW_BYTES_SIZE);
    return mem.write(bufFx, area);
  }
  const size = fpstate.userSize;
  // 4.-5. sig_prepare_pkru(): a permissive PKRU while the frame is written (6.12+).
  const pkruOn = (cfg.user.maxFeatures & bit(XFeature.PKRU)) !== 0;
  const updatePkru = pkruOn && variant.has(KernelBehaviour.SigframePkruUpdate);
  const origPkru = pkruOn ? rdpkru(ctx) : 0;
  if (updatePkru && origPkru !== 0) wrpkru(ctx, 0); // write_pkru() skips an unchanged value
  // 3. The header is zeroed in user memory first.
  if (!mem.write(bufFx + BigInt(XSAVE_HEADER_OFFSET), new Uint8Array(64))) return false;
  // 4. XSAVE straight to the user buffer with RFBM = user_xfeatures, minus init-state dynamic
  //    features when the system has any (xfeatures_need_sigframe_write).
  let rfbm = fpstate.userXfeatures;
  if (cfg.user.maxFeatures & XFEATURE_MASK_USER_DYNAMIC) {
    const [inuse] = xgetbv(ctx, 1);
    rfbm &= (inuse | (cfg.user.maxFeatures & ~XFEATURE_MASK_SIGFRAME_INITOPT)) >>> 0;
  }
  const area = mem.read(bufFx, size);
  if (!area) return false;
  const cpl = ctx.cpl, xcr0 = ctx.xcr0;
  ctx.cpl = 0;
  ctx.xcr0 = sigframeXcr0(fpu); // the ARCH_SET_XCR0 proposal's knob; the kernel's XCR0 otherwise
  try {
    xsave(ctx, area, Number(bufFx), rfbm >>> 0, 0);
  } finally {
    ctx.cpl = cpl;
    ctx.xcr0 = xcr0;
  }
  // 5. update_pkru_in_sigframe(): the interrupted PKRU goes into the frame, with XSTATE_BV[9].
  if (updatePkru) {
    put32(area, ctx.cpu.components[XFeature.PKRU]!.standardOffset, origPkru);
    put32(area, XSAVE_HEADER_OFFSET, u32(area, XSAVE_HEADER_OFFSET) | bit(XFeature.PKRU));
  }
  // 7. save_xstate_epilog(): sw bytes, magic2, and FP|SSE forced into XSTATE_BV.
  const sw = new Uint8Array(FPX_SW_BYTES_SIZE);
  put32(sw, 0, FP_XSTATE_MAGIC1);
  put32(sw, 4, size + FP_XSTATE_MAGIC2_SIZE);
  put32(sw, 8, fpstate.userXfeatures);
  put32(sw, 16, size);
  area.set(sw, FPX_SW_BYTES_OFFSET);
  put32(area, XSAVE_HEADER_OFFSET, u32(area, XSAVE_HEADER_OFFSET) | XFEATURE_MASK_FPSSE);
  if (!mem.write(bufFx, area)) return false;
  const m2 = new Uint8Array(FP_XSTATE_MAGIC2_SIZE);
  put32(m2, 0, FP_XSTATE_MAGIC2);
  if (!mem.write(bufFx + BigInt(size), m2)) return false;
  if (updatePkru && origPkru !== 0) wrpkru(ctx, origPkru);
  return true;
}

/**
 * os_xrstor(&init_fpstate, mask): init_fpstate is in the kernel's format (compacted with XSAVES,
 * XSTATE_BV 0, legacy area from FXSAVE: FCW 037FH, MXCSR 1F80H) and restored with the kernel's
 * instruction. The format matters: the compacted form leaves MXCSR alone unless SSE is in the
 * mask, the standard form loads it whenever SSE or AVX is (measured: fx_only sigreturn keeps the
 * frame's MXCSR on the Intel host).
 */
function os_xrstor_init_fpstate(ctx: XsaveContext, fpu: TaskFpu, mask: number): void {
  const cfg = fpu.cfg;
  const init = newFpstate(cfg, cfg.kernel.maxFeatures, cfg.user.maxFeatures, cfg.user.maxSize);
  const cpl = ctx.cpl, xcr0 = ctx.xcr0;
  ctx.cpl = 0;
  ctx.xcr0 = cfg.xcr0; // the kernel's own restores run with its XCR0 (also under ARCH_SET_XCR0)
  try {
    // restore_fpregs_from_init_fpstate: fxrstor of init_fpstate's legacy image without XSAVE.
    if (!cfg.useXsave) fxrstor(ctx, init.regs, INIT_FPSTATE_ADDR, true);
    else if (cfg.compacted && cfg.saveInsn === 'XSAVES') xrstors(ctx, init.regs, INIT_FPSTATE_ADDR, mask, 0);
    else xrstor(ctx, init.regs, INIT_FPSTATE_ADDR, mask, 0);
  } finally {
    ctx.cpl = cpl;
    ctx.xcr0 = xcr0;
  }
}

/**
 * fpu__clear_user_states(): every user component to its initial configuration (XRSTOR from
 * init_fpstate with XFEATURE_MASK_USER_RESTORE), then PKRU = init_pkru_value. The handler starts so.
 */
export function fpu__clear_user_states(ctx: XsaveContext, fpu: TaskFpu): void {
  os_xrstor_init_fpstate(ctx, fpu, (userRestoreMask(fpu.variant) & fpu.cfg.user.maxFeatures) >>> 0);
  if (fpu.cfg.user.maxFeatures & bit(XFeature.PKRU)) {
    wrpkru(ctx, INIT_PKRU_VALUE);
    if (fpu.variant.has(KernelBehaviour.PkruInThreadStruct)) fpu.threadPkru = INIT_PKRU_VALUE;
  }
}

export interface RestoreSigResult {
  ok: boolean;
  /** fx_only: the frame was taken as a plain FXSAVE image (bad magic1/magic2/sizes). */
  fxOnly: boolean;
  reason?: string;
}

/**
 * fpu__restore_sig() for a native 64-bit frame at `bufFx` (the fast path, restore_fpregs_from_user).
 * A NULL fpstate resets the state and succeeds. On failure the state is reset too and the caller
 * forces SIGSEGV (rt_sigreturn's badframe).
 */
export function fpu__restore_sig(ctx: XsaveContext, fpu: TaskFpu, mem: GuestMemory, bufFx: bigint | null): RestoreSigResult {
  if (bufFx === null || bufFx === 0n) { fpu__clear_user_states(ctx, fpu); return { ok: true, fxOnly: false, reason: 'NULL fpstate' }; }
  const fail = (reason: string): RestoreSigResult => { fpu__clear_user_states(ctx, fpu); return { ok: false, fxOnly: false, reason }; };
  const { fpstate } = fpu;
  // 3. check_xstate_in_sigframe(): magic1 and the sizes, then magic2 after the area.
  const sw = mem.read(bufFx + BigInt(FPX_SW_BYTES_OFFSET), FPX_SW_BYTES_SIZE);
  if (!sw) return fail('sw bytes unreadable');
  let fxOnly = false;
  let xfeatures = fpstate.userXfeatures;
  const magic1 = u32(sw, 0), extSize = u32(sw, SW_EXTENDED_SIZE - FPX_SW_BYTES_OFFSET), xstateSize = u32(sw, SW_XSTATE_SIZE - FPX_SW_BYTES_OFFSET);
  if (magic1 !== FP_XSTATE_MAGIC1 || xstateSize < 576 || xstateSize > fpstate.userSize || xstateSize > extSize) fxOnly = true;
  else {
    const m2 = mem.read(bufFx + BigInt(xstateSize), FP_XSTATE_MAGIC2_SIZE);
    if (!m2) return fail('magic2 unreadable');
    if (u32(m2, 0) !== FP_XSTATE_MAGIC2) fxOnly = true;
    else xfeatures = u32(sw, SW_XFEATURES - FPX_SW_BYTES_OFFSET);
  }
  // 4. restore_fpregs_from_user(): XRSTOR from the frame with RFBM = the frame's xfeatures (the
  //    CPU ANDs it with XCR0; FXRSTOR for fx_only), then init_fpstate for the rest of the task's
  //    user_xfeatures (__restore_fpregs_from_user's init_bv), PKRU included.
  const xrestore = fxOnly ? XFEATURE_MASK_FPSSE : xfeatures >>> 0;
  const frame = mem.read(bufFx, fxOnly ? FXSAVE_SIZE : fpstate.userSize);
  if (!frame) return fail('frame unreadable');
  const xcr0 = ctx.xcr0;
  ctx.xcr0 = sigframeXcr0(fpu);
  try {
    if (fxOnly) fxrstor(ctx, frame, Number(bufFx), true);
    else xrstor(ctx, frame, Number(bufFx), xrestore, 0);
  } catch (e) {
    ctx.xcr0 = xcr0;
    if (e instanceof CpuFault) return fail(`${fxOnly ? 'FXRSTOR' : 'XRSTOR'} from the frame: ${e.message}`);
    throw e;
  }
  ctx.xcr0 = xcr0;
  const initBv = (fpstate.userXfeatures & ~xrestore) >>> 0;
  if (initBv) os_xrstor_init_fpstate(ctx, fpu, initBv);
  return { ok: true, fxOnly };
}
