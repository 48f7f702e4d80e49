/**
 * A task's FPU state as the kernel keeps it (struct fpu / struct fpstate, arch/x86/include/asm/
 * fpu/types.h) and the two places it meets the CPU: save_fpregs_to_fpstate() when the task is
 * switched out (fpu/core.c, os_xsave) and the restore on return to user space
 * (fpregs_restore_userregs -> restore_fpregs_from_fpstate, plus x86_pkru_load for PKRU). The
 * hardware side is the CPU model (emulator/xsave.ts), run at CPL 0.
 */
import { MXCSR_INIT, XCOMP_BV_COMPACTED_HI, XSAVE_HEADER_OFFSET } from '../emulator/cpu-model.js';
import { LEGACY } from '../emulator/register-file.js';
import { CpuFault, Vector, XsaveContext, fxrstor, fxsave, xrstor, xrstors, xsave, xsavec, xsaveopt, xsaves } from '../emulator/xsave.js';
import { XFeature, bit } from '../emulator/xfeatures.js';
import { INIT_PKRU_VALUE, XFEATURE_MASK_USER_DYNAMIC, userRestoreMask, type FpuConfig } from './fpu-config.js';
import { KernelBehaviour, type KernelVariant } from './variants.js';

/** Linear addresses of kernel buffers in the CPU model: only their distinctness matters (XRSTOR_INFO). */
const KERNEL_FPSTATE_ADDR = 0x7f0000000000;

/** struct fpstate: the buffer and what it may hold. */
export interface Fpstate {
  /** The XSAVE buffer in the kernel's format (compacted when FpuConfig.compacted). */
  regs: Uint8Array;
  /** fpstate->xfeatures: what the kernel saves and restores for this task. */
  xfeatures: number;
  /** fpstate->user_xfeatures: what user space of this task may see and set. */
  userXfeatures: number;
  /** fpstate->user_size: the UABI size of user_xfeatures (signal frames). */
  userSize: number;
  /** fpstate->xfd: dynamic features still armed in IA32_XFD for this task. */
  xfd: number;
  compacted: boolean;
}

/** The kernel-side FPU state of one task: struct fpu plus thread.pkru and the process's permission. */
export class TaskFpu {
  fpstate: Fpstate;
  /** thread.pkru (pkru-in-thread-struct): the PKRU loaded on return to user space. */
  threadPkru: number;
  /** fpu->perm.__user_state_perm: user features this process may enable (ARCH_REQ_XCOMP_PERM). */
  permittedUserFeatures: number;
  /** thread.xcr0 of the ARCH_SET_XCR0 proposal: the task's own XCR0, 0 for the kernel's (arch-set-xcr0.ts). */
  threadXcr0 = 0;

  constructor(
    readonly cfg: FpuConfig,
    readonly variant: KernelVariant,
  ) {
    this.fpstate = newFpstate(cfg, cfg.kernel.defaultFeatures, cfg.user.defaultFeatures, cfg.user.defaultSize);
    this.threadPkru = cfg.user.maxFeatures & bit(XFeature.PKRU) ? INIT_PKRU_VALUE : 0;
    this.permittedUserFeatures = cfg.user.defaultFeatures;
  }

  /** fpu_clone(): a fork child's copy (same buffer contents, same permission, same PKRU). */
  clone(): TaskFpu {
    const t = new TaskFpu(this.cfg, this.variant);
    t.fpstate = { ...this.fpstate, regs: this.fpstate.regs.slice() };
    t.threadPkru = this.threadPkru;
    t.permittedUserFeatures = this.permittedUserFeatures;
    t.threadXcr0 = this.threadXcr0;
    return t;
  }
}

/**
 * A fresh buffer (fpstate_init_user / __fpstate_reset): the legacy area as fpstate_init_fxstate()
 * leaves it (FCW 037FH, MXCSR 1F80H, MXCSR_MASK), and XCOMP_BV set for the compacted format
 * (xstate_init_xcomp_bv). `zeroed` is a vzalloc'd buffer that nothing initialized
 * (fpstate_realloc() after the first use of a dynamic feature).
 */
export function newFpstate(cfg: FpuConfig, xfeatures: number, userXfeatures: number, userSize: number, zeroed = false): Fpstate {
  const size = cfg.compacted ? Math.max(cfg.kernel.maxSize, 576) : Math.max(cfg.user.maxSize, 512);
  const regs = new Uint8Array(size);
  const dv = new DataView(regs.buffer);
  if (!zeroed) {
    dv.setUint16(LEGACY.FCW, 0x037f, true);
    dv.setUint32(LEGACY.MXCSR, MXCSR_INIT, true);
    dv.setUint32(LEGACY.MXCSR_MASK, cfg.mxcsrFeatureMask, true);
  }
  if (cfg.compacted) {
    dv.setUint32(XSAVE_HEADER_OFFSET + 8, xfeatures, true);
    dv.setUint32(XSAVE_HEADER_OFFSET + 12, XCOMP_BV_COMPACTED_HI, true);
  }
  return { regs, xfeatures, userXfeatures, userSize, xfd: (XFEATURE_MASK_USER_DYNAMIC & cfg.user.maxFeatures & ~userXfeatures) >>> 0, compacted: cfg.compacted };
}

/** Run `f` at CPL 0 with the kernel's IA32_XSS and the task's IA32_XFD on the CPU model. */
function atCpl0<T>(ctx: XsaveContext, cfg: FpuConfig, fps: Fpstate, f: () => T): T {
  const cpl = ctx.cpl;
  ctx.cpl = 0;
  ctx.xcr0 = cfg.xcr0;
  ctx.xss = cfg.xss;
  ctx.xfd = fps.xfd;
  try {
    return f();
  } finally {
    ctx.cpl = cpl;
  }
}

/**
 * save_fpregs_to_fpstate() (fpu/core.c): os_xsave with fpstate->xfeatures. It leaves thread.pkru
 * alone, so fpu_sync_fpstate() of the current task (core dumps, ptrace of oneself) sees the PKRU
 * of the last context switch, not the register (measured: selfcheck core notes, Linux 6.18).
 */
export function save_fpregs_to_fpstate(ctx: XsaveContext, fpu: TaskFpu): void {
  const { cfg, fpstate } = fpu;
  const m = fpstate.xfeatures & ~cfg.independentFeatures;
  atCpl0(ctx, cfg, fpstate, () => {
    // os_fxsave: a kernel without XSAVE (no XSAVE on the CPU, or noxsave) saves with FXSAVE64.
    if (!cfg.useXsave) return fxsave(ctx, fpstate.regs, KERNEL_FPSTATE_ADDR);
    const save = { XSAVES: xsaves, XSAVEC: xsavec, XSAVEOPT: xsaveopt, XSAVE: xsave }[cfg.saveInsn];
    save(ctx, fpstate.regs, KERNEL_FPSTATE_ADDR, m, 0);
  });
}

/**
 * A task switched out (it stops, sleeps or is preempted): switch_fpu_prepare()'s
 * save_fpregs_to_fpstate(), and __switch_to's x86_pkru_load() `prev->pkru = rdpkru()` with
 * pkru-in-thread-struct.
 */
export function switch_fpu_prepare(ctx: XsaveContext, fpu: TaskFpu): void {
  save_fpregs_to_fpstate(ctx, fpu);
  if (fpu.variant.has(KernelBehaviour.PkruInThreadStruct) && fpu.cfg.user.maxFeatures & bit(XFeature.PKRU)) fpu.threadPkru = rdpkru(ctx);
}

/**
 * Return to user space after the registers were invalidated (fpregs_restore_userregs ->
 * restore_fpregs_from_fpstate with XFEATURE_MASK_FPSTATE), then x86_pkru_load's WRPKRU of
 * thread.pkru. ASSUMPTION: the model always executes that WRPKRU; Linux skips it when the
 * previous task on the CPU had the same PKRU, which only changes XINUSE[9] on CPUs that keep
 * PKRU in its initial configuration after a write of 0 (not Intel, measured).
 * Before 5.14 PKRU is restored from the buffer like any component; a buffer without PKRU gives
 * init_pkru_value (5.2 to 5.13 switch_fpu_finish; the reference marks this unverified).
 */
export function restore_fpregs_from_fpstate(ctx: XsaveContext, fpu: TaskFpu): void {
  const { cfg, fpstate, variant } = fpu;
  const inThread = variant.has(KernelBehaviour.PkruInThreadStruct);
  const m = (fpstate.xfeatures & (userRestoreMask(variant) | (cfg.xss & ~cfg.independentFeatures))) >>> 0;
  atCpl0(ctx, cfg, fpstate, () => {
    // Without XSAVE: FXRSTOR (restore_fpregs_from_fpstate: use_xsave() else use_fxsr()).
    if (!cfg.useXsave) return fxrstor(ctx, fpstate.regs, KERNEL_FPSTATE_ADDR);
    if (cfg.compacted && cfg.saveInsn === 'XSAVES') xrstors(ctx, fpstate.regs, KERNEL_FPSTATE_ADDR, m, 0);
    else xrstor(ctx, fpstate.regs, KERNEL_FPSTATE_ADDR, m, 0);
  });
  // The ARCH_SET_XCR0 proposal: the task's own XCR0 again on the way back to user space.
  if (fpu.threadXcr0 && variant.has(KernelBehaviour.ArchSetXcr0V2)) ctx.xcr0 = fpu.threadXcr0;
  if (!(cfg.user.maxFeatures & bit(XFeature.PKRU))) return;
  if (inThread) wrpkru(ctx, fpu.threadPkru);
  else if (!(xstateBv(fpstate.regs) & bit(XFeature.PKRU))) wrpkru(ctx, INIT_PKRU_VALUE);
}

/** XSTATE_BV (low 32 bits) of a buffer. */
export function xstateBv(regs: Uint8Array): number {
  return new DataView(regs.buffer, regs.byteOffset).getUint32(XSAVE_HEADER_OFFSET, true);
}

/** RDPKRU (SDM Vol. 2B): the PKRU register of the CPU model. */
export function rdpkru(ctx: XsaveContext): number {
  const c = ctx.regs.comp[XFeature.PKRU];
  return c ? new DataView(c.buffer, c.byteOffset).getUint32(0, true) : 0;
}

/** WRPKRU (SDM Vol. 2B): writes PKRU; XINUSE[9] becomes 1 even for a value of 0 (measured on Intel). */
export function wrpkru(ctx: XsaveContext, value: number): void {
  const c = ctx.regs.comp[XFeature.PKRU];
  if (!c) throw new CpuFault(Vector.UD, 'WRPKRU: no PKRU on this CPU');
  new DataView(c.buffer, c.byteOffset).setUint32(0, value >>> 0, true);
  ctx.regs.touched(XFeature.PKRU);
}

/**
 * The #NM path for a dynamic feature (traps.c handle_xfd_event -> xfd_enable_feature): with
 * permission, fpstate_realloc() installs a new vzalloc'd buffer for the permitted features (the
 * old buffer is not copied: the registers are live) and disarms XFD; returns false without
 * permission (the task then gets SIGILL, ILL_ILLOPC).
 */
export function xfd_enable_feature(ctx: XsaveContext, fpu: TaskFpu, xfdErr: number): boolean {
  const want = (xfdErr & XFEATURE_MASK_USER_DYNAMIC) >>> 0;
  if (!want || (want & ~fpu.permittedUserFeatures) !== 0) return false;
  const cfg = fpu.cfg;
  const user = (fpu.fpstate.userXfeatures | fpu.permittedUserFeatures) >>> 0;
  const kernel = (fpu.fpstate.xfeatures | (fpu.permittedUserFeatures & cfg.user.maxFeatures)) >>> 0;
  const cpu = ctx.cpu;
  fpu.fpstate = newFpstate(cfg, kernel, user, cpu.standardSize(user), true);
  ctx.xfd = fpu.fpstate.xfd;
  ctx.xfdErr = 0;
  return true;
}

/** ARCH_REQ_XCOMP_PERM's effect on the permission (rules and errnos: arch_prctl model). */
export function grantPermission(fpu: TaskFpu, features: number): void {
  fpu.permittedUserFeatures = (fpu.permittedUserFeatures | features) >>> 0;
}

/** Run a user-mode XRSTOR the way a task experiences it: an XFD #NM is handled and the instruction retried. */
export function userXrstor(ctx: XsaveContext, fpu: TaskFpu, area: Uint8Array, address: number, eax: number, edx: number): void {
  ctx.cpl = 3;
  ctx.xfd = fpu.fpstate.xfd;
  try {
    xrstor(ctx, area, address, eax, edx);
  } catch (e) {
    if (!(e instanceof CpuFault) || e.vector !== Vector.NM || !ctx.xfdErr || !xfd_enable_feature(ctx, fpu, ctx.xfdErr)) throw e;
    xrstor(ctx, area, address, eax, edx);
  }
}

/** Trap numbers of the FPU exceptions (arch/x86/include/asm/trapnr.h). */
export const X86_TRAP_MF = 16;
export const X86_TRAP_XF = 19;
/** si_code values for SIGFPE (include/uapi/asm-generic/siginfo.h). */
export enum FpeCode { FPE_FLTDIV = 3, FPE_FLTOVF = 4, FPE_FLTUND = 5, FPE_FLTRES = 6, FPE_FLTINV = 7 }

/**
 * fpu__exception_code() (arch/x86/kernel/fpu/core.c, called by math_error in traps.c): the
 * si_code of the SIGFPE for #MF from the unmasked x87 flags (FSW & ~FCW), or for #XM from the
 * unmasked SIMD flags (MXCSR & ~(MXCSR >> 7)), tested in the kernel's order: invalid, divide by
 * zero, overflow, denormal or underflow, precision. 0: a spurious exception, for which math_error
 * sends nothing.
 */
export function fpu__exception_code(ctx: XsaveContext, trapNr: number): number {
  const v = ctx.regs.legacyView;
  let err: number;
  if (trapNr === X86_TRAP_MF) err = v.getUint16(LEGACY.FSW, true) & ~v.getUint16(LEGACY.FCW, true);
  else { const mxcsr = ctx.regs.mxcsr; err = ~(mxcsr >>> 7) & mxcsr; }
  if (err & 0x001) return FpeCode.FPE_FLTINV;
  if (err & 0x004) return FpeCode.FPE_FLTDIV;
  if (err & 0x008) return FpeCode.FPE_FLTOVF;
  if (err & 0x012) return FpeCode.FPE_FLTUND;
  if (err & 0x020) return FpeCode.FPE_FLTRES;
  return 0;
}
