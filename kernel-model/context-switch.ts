/**
 * Where the process model's tasks meet the kernel's FPU state (arch/x86/include/asm/fpu/sched.h
 * switch_fpu_prepare / switch_fpu_finish, fpregs_restore_userregs). The live registers of each
 * thread stay in its XsaveContext (x87/SSE in the unicorn context) while it runs; the kernel's
 * copy (TaskFpu.fpstate, thread.pkru) is brought up to date whenever the kernel looks at a task
 * that is off the CPU (a ptrace stop, a core dump), and loaded back when such a task resumes.
 */
import type { Machine } from '../emulator/machine.js';
import type { XsaveContext } from '../emulator/xsave.js';
import { bit, maskBits } from '../emulator/xfeatures.js';
import { XFEATURE_MASK_USER_DYNAMIC } from './fpu-config.js';
import { newFpstate, restore_fpregs_from_fpstate, switch_fpu_prepare, type TaskFpu } from './fpstate.js';

export interface FpuOwner {
  /** The thread's live extended state (the CPU's registers while it runs). */
  fpu: XsaveContext;
  /** The kernel's side: struct fpu with its fpstate, thread.pkru and the process's permission. */
  kfpu: TaskFpu;
}

/** Called by the scheduler for every switch, after the incoming thread's unicorn context is restored. */
export function switchExtendedState(machine: Machine, _prev: FpuOwner | undefined, next: FpuOwner): void {
  if (machine.xs !== next.fpu) machine.setXstate(next.fpu);
}

/**
 * The task leaves the CPU for the kernel to look at it (ptrace stop, core dump): switch_fpu_prepare
 * saves its registers into fpstate and thread.pkru. `machine` must hold this task's registers.
 */
export function fpuTaskStopped(machine: Machine, t: FpuOwner): void {
  if (machine.xs !== t.fpu) machine.setXstate(t.fpu);
  machine.syncIn(true);
  switch_fpu_prepare(t.fpu, t.kfpu);
}

/**
 * The task returns to user space after the kernel may have changed fpstate (PTRACE_SETREGSET,
 * SETFPREGS): restore_fpregs_from_fpstate and the WRPKRU of thread.pkru, then unicorn's x87/SSE.
 */
export function fpuTaskResumed(machine: Machine, t: FpuOwner): void {
  if (machine.xs !== t.fpu) machine.setXstate(t.fpu);
  restore_fpregs_from_fpstate(t.fpu, t.kfpu);
  t.fpu.xfd = t.kfpu.fpstate.xfd;
  t.fpu.cpl = 3;
  machine.syncOut(true);
}

/**
 * fpu_clone() (fpu/core.c, 5.16+) for a new task whose TaskFpu was cloned from its parent's: the
 * child starts from the default fpstate, because dynamic features (AMX tile data) are
 * caller-saved and not inherited. Its tiles are in their initial configuration and XFD is armed
 * again; the permission stays (a fork child inherits it, a thread shares it).
 */
export function fpuCloneChild(child: FpuOwner): void {
  const { kfpu, fpu: xs } = child;
  const cfg = kfpu.cfg;
  const dynamic = (kfpu.fpstate.userXfeatures & XFEATURE_MASK_USER_DYNAMIC) >>> 0;
  if (dynamic) {
    kfpu.fpstate = newFpstate(cfg, cfg.kernel.defaultFeatures, cfg.user.defaultFeatures, cfg.user.defaultSize);
    for (const i of maskBits(dynamic)) {
      xs.regs.comp[i]?.fill(0);
      xs.regs.xinuse = (xs.regs.xinuse & ~bit(i)) >>> 0;
    }
    xs.xfd = kfpu.fpstate.xfd;
  }
  // fpu_clone's save_fpregs_to_fpstate(dst_fpu): the child's state is the kernel's save of the
  // parent's registers, which the child restores on its first return to user space; so what the
  // save instruction drops (AMD: the x87 pointers while FSW.ES = 0) the child never has.
  switch_fpu_prepare(xs, kfpu);
  restore_fpregs_from_fpstate(xs, kfpu);
}
