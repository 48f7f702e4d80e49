/**
 * arch_prctl (arch/x86/kernel/process_64.c do_arch_prctl_64, Linux 6.18) and the XCOMP options
 * of fpu_xstate_prctl (arch/x86/kernel/fpu/xstate.c).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { X86Reg } from '../../../../../emulator/unicorn.js';
import { XFeature } from '../../../../../emulator/xfeatures.js';
import { ARCH_SET_XCR0, arch_set_xcr0, userXcr0 } from '../../../../../kernel-model/arch-set-xcr0.js';
import { grantPermission } from '../../../../../kernel-model/fpstate.js';
import { XFEATURE_MASK_USER_DYNAMIC, userSupportedMask, xfeatureMax } from '../../../../../kernel-model/fpu-config.js';
import { validate_sigaltstack } from '../../../../../kernel-model/signal.js';
import { KernelBehaviour } from '../../../../../kernel-model/variants.js';
import { ArchPrctl, Errno, SS_DISABLE } from '../../../abi.js';
import type { Kernel } from '../../../kernel.js';
import { neg, TaskState, Task } from '../../../sched.js';
import { TASK_SIZE_MAX } from '../../../ptrace.js';

export function archPrctl(this: Kernel, t: Task, code: number, arg: bigint): bigint {
  const m = t.proc.machine;
  switch (code as ArchPrctl) {
    // do_arch_prctl_64: a base at or above TASK_SIZE_MAX is refused with -EPERM.
    case ArchPrctl.SET_FS: if (arg >= TASK_SIZE_MAX) return neg(Errno.EPERM); m.uc.regWrite(X86Reg.FS_BASE, arg); return 0n;
    case ArchPrctl.SET_GS: if (arg >= TASK_SIZE_MAX) return neg(Errno.EPERM); m.uc.regWrite(X86Reg.GS_BASE, arg); return 0n;
    case ArchPrctl.GET_FS: m.writeU64(arg, m.uc.regRead(X86Reg.FS_BASE)); return 0n;
    case ArchPrctl.GET_GS: m.writeU64(arg, m.uc.regRead(X86Reg.GS_BASE)); return 0n;
    case ArchPrctl.GET_XCOMP_SUPP: case ArchPrctl.GET_XCOMP_PERM: case ArchPrctl.REQ_XCOMP_PERM:
    case ArchPrctl.GET_XCOMP_GUEST_PERM: case ArchPrctl.REQ_XCOMP_GUEST_PERM:
      return this.fpuXstatePrctl(t, code as ArchPrctl, arg);
    // do_arch_prctl_common (arch/x86/kernel/process.c): get_cpuid_mode is 1 while CPUID does not
    // fault (TIF_NOCPUID clear); set_cpuid_mode needs X86_FEATURE_CPUID_FAULT. Assumption
    // `no-cpuid-faulting`: the model has no CPUID faulting (Intel MSR_PLATFORM_INFO[31], AMD
    // CpuidUserDis), so -ENODEV, as this project's host answers (its hypervisor hides it).
    case ArchPrctl.GET_CPUID: return 1n;
    case ArchPrctl.SET_CPUID: return neg(Errno.ENODEV);
    default: return neg(Errno.EINVAL);
  }
}

/**
 * fpu_xstate_prctl() (fpu/xstate.c, 5.16+ with dynamic-xfeatures; the options do not exist
 * before, so -EINVAL): the supported and permitted feature masks, and xstate_request_perm()
 * with the rules of linux-fpu-uabi.md §6.2.
 */
export function fpuXstatePrctl(this: Kernel, t: Task, code: ArchPrctl, arg: bigint): bigint {
  if (code === ARCH_SET_XCR0 && this.o.kernel.has(KernelBehaviour.ArchSetXcr0V2)) {
    // The proposal's option number (kernel-model/arch-set-xcr0.ts): the thread's user code runs with the new XCR0.
    const e = arch_set_xcr0(this.o.cpu, t.kfpu, Number(arg & 0xffffffffn));
    if (e) return neg(e);
    t.fpu.xcr0 = userXcr0(t.kfpu);
    return 0n;
  }
  if (!this.o.kernel.has(KernelBehaviour.DynamicXfeatures)) return neg(Errno.EINVAL);
  const cfg = this.fpuCfg;
  const m = t.proc.machine;
  const userSupported = userSupportedMask(this.o.kernel);
  switch (code) {
    case ArchPrctl.GET_XCOMP_SUPP: m.writeU64(arg, BigInt((cfg.user.maxFeatures | cfg.user.legacyFeatures) >>> 0)); return 0n;
    case ArchPrctl.GET_XCOMP_PERM: m.writeU64(arg, BigInt((t.kfpu.permittedUserFeatures & userSupported) >>> 0)); return 0n;
    case ArchPrctl.GET_XCOMP_GUEST_PERM: m.writeU64(arg, BigInt((t.proc.kvm.guestPerm & userSupported) >>> 0)); return 0n;
    default: break;
  }
  const guest = code === ArchPrctl.REQ_XCOMP_GUEST_PERM;
  if (arg >= BigInt(xfeatureMax(this.o.kernel))) return neg(Errno.EINVAL);
  // xstate_prctl_req[]: only XTILE_DATA can be requested.
  const req = Number(arg) === XFeature.TILEDATA ? XFEATURE_MASK_USER_DYNAMIC : 0;
  if (!req || (req & ~cfg.user.maxFeatures) !== 0) return neg(Errno.EOPNOTSUPP);
  const perm = guest ? t.proc.kvm.guestPerm : t.kfpu.permittedUserFeatures;
  if ((perm & req) === req) return 0n;
  // FPU_GUEST_PERM_LOCKED: the first vCPU's guest fpstate fixed the permission.
  if (guest && t.proc.kvm.guestPermLocked) return neg(Errno.EBUSY);
  const next = (perm | req) >>> 0;
  if (guest) { t.proc.kvm.guestPerm = next; return 0n; }
  const live = t.proc.threads.filter((x) => x.state !== TaskState.Dead);
  if (!validate_sigaltstack(cfg, this.o.cpu.standardSize(next), live.map((x) => (x.altstack.flags === SS_DISABLE ? 0n : x.altstack.size)))) return neg(Errno.ENOSPC);
  // The permission is the process's (group leader's): every thread sees it.
  for (const x of live) grantPermission(x.kfpu, req);
  return 0n;
}
