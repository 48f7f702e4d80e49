/**
 * clone and fork (kernel/fork.c copy_process, Linux 6.18): threads on the same engine, processes
 * on a copy of the address space.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Machine, cloneXsaveContext } from '../../../emulator/machine.js';
import { X86Reg } from '../../../emulator/unicorn.js';
import { fpuCloneChild } from '../../../kernel-model/context-switch.js';
import { Sig, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_PARENT_SETTID, CLONE_SETTLS, CLONE_THREAD, CLONE_VFORK, CLONE_VM, CSIGNAL, Errno } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, TaskState, Task, Process } from '../sched.js';
import { PtraceEvent, ptraceEventEnabled } from '../ptrace.js';
import { copySeccomp } from './seccomp.js';
/** clone flags the ptrace side reads (include/uapi/linux/sched.h): CLONE_PTRACE attaches the child, CLONE_UNTRACED forbids it. */
const CLONE_PTRACE = 0x2000n;
const CLONE_UNTRACED = 0x00800000n;

export function clone(this: Kernel, t: Task, flags: bigint, newsp: bigint, ptid: bigint, ctid: bigint, tls: bigint): bigint | 'stop' {
  const p = t.proc;
  if ((flags & CLONE_THREAD) && !(flags & CLONE_VM)) return neg(Errno.EINVAL);
  // A process sharing the address space is modelled only as vfork's (CLONE_VM | CLONE_VFORK: the parent sleeps meanwhile).
  if ((flags & CLONE_VM) && !(flags & CLONE_THREAD) && !(flags & CLONE_VFORK)) return neg(Errno.EINVAL);
  const vfork = (flags & CLONE_VM) !== 0n && (flags & CLONE_VFORK) !== 0n && !(flags & CLONE_THREAD);
  // kernel_clone(): the event this clone reports (VFORK, CLONE for another exit signal, else FORK) if the tracer enabled it.
  const ev = flags & CLONE_UNTRACED ? 0 : flags & CLONE_VFORK ? PtraceEvent.VFORK : (flags & CSIGNAL) !== BigInt(Sig.SIGCHLD) ? PtraceEvent.CLONE : PtraceEvent.FORK;
  const trace = ev !== 0 && t.ptrace !== undefined && ptraceEventEnabled(t.ptrace.options, ev) ? ev : 0;
  const attach = t.ptrace !== undefined && (trace !== 0 || (flags & CLONE_PTRACE) !== 0n);
  /** The new task's first stop, and the parent's event stop with the new id (ptrace_event_pid); RAX gets the id after it. */
  const report = (child: Task): bigint | undefined => {
    if (attach) this.ptraceInitTask(t, child);
    if (!trace) return BigInt(child.tid);
    this.ptraceEvent(t, trace, BigInt(child.tid), BigInt(child.tid));
    return undefined;
  };
  return this.defer(t, () => {
    const m = p.machine;
    const tid = this.nextPid++;
    if (flags & CLONE_THREAD) {
      // A thread: same engine, a copy of the parent's registers (copy_thread), its own extended state copy.
      m.syncIn(true);
      const child = new Task(tid, p, cloneXsaveContext(t.fpu), t.kfpu.clone());
      // arch_dup_task_struct copies the thread struct: trap_nr, error_code, cr2.
      child.trapNr = t.trapNr; child.errorCode = t.errorCode; child.cr2 = t.cr2;
      fpuCloneChild(child);
      child.ctx = m.uc.contextSave();
      child.pendingRegs.set(X86Reg.RAX, 0n);
      if (newsp) child.pendingRegs.set(X86Reg.RSP, newsp);
      if (flags & CLONE_SETTLS) child.pendingRegs.set(X86Reg.FS_BASE, tls);
      child.sigmask = t.sigmask;
      child.segs = { ...t.segs };
      child.debugRegs = t.debugRegs.forkCopy();
      copySeccomp(t, child);
      // copy_process: the parent's CPU and affinity; rseq_fork: a CLONE_VM child registers its own area.
      child.cpu = t.cpu;
      child.cpusMask = t.cpusMask;
      const used = new Set(p.threads.filter((x) => x.state !== TaskState.Dead).map((x) => x.mmCid));
      while (used.has(child.mmCid)) child.mmCid++;
      if (flags & CLONE_CHILD_CLEARTID) child.clearChildTid = ctid;
      if (flags & CLONE_PARENT_SETTID) m.writeU32(ptid, tid);
      if (flags & CLONE_CHILD_SETTID) m.writeU32(ctid, tid);
      p.threads.push(child);
      this.tasks.push(child);
      return report(child);
    }
    // A process: a copy of the address space on a new engine (dup_mm), the CPU state and the extended
    // state; with CLONE_VM (vfork) the parent's engine itself, the child's registers a copy of the parent's.
    m.syncIn(true);
    const fpu = cloneXsaveContext(t.fpu);
    const cp = new Process(tid, undefined as unknown as Machine, p);
    cp.machine = vfork ? m : m.cloneAddressSpace(fpu, { onSyscall: () => this.onSyscall(cp), systemSources: this.systemSources, pageFault: (addr) => this.expandStack(cp, addr) });
    // copy_signal (rlimits) and dup_mm (mm->context: the protection keys).
    cp.rlimits = p.rlimits.map((r) => ({ ...r }));
    cp.pkeys = { ...p.pkeys };
    const child = new Task(tid, cp, fpu, t.kfpu.clone());
    child.trapNr = t.trapNr; child.errorCode = t.errorCode; child.cr2 = t.cr2;
    fpuCloneChild(child);
    // fpu_inherit_perms: the child starts with the parent's guest permission, locked bit included.
    cp.kvm = this.newKvmHost();
    cp.kvm.guestPerm = p.kvm.guestPerm;
    cp.kvm.guestPermLocked = p.kvm.guestPermLocked;
    cp.auxv = p.auxv;
    cp.argv = p.argv;
    cp.argStart = p.argStart;
    cp.argEnd = p.argEnd;
    cp.ldt = p.ldt && [...p.ldt]; // ldt_dup_context
    cp.exe = p.exe;
    cp.exePath = p.exePath;
    cp.fileMaps = p.fileMaps;
    if (vfork) {
      // The child is put on the shared engine when it is first scheduled (the parent's registers are saved then).
      child.ctx = m.uc.contextSave();
      child.pendingRegs.set(X86Reg.RAX, 0n);
      if (newsp) child.pendingRegs.set(X86Reg.RSP, newsp);
      if (flags & CLONE_SETTLS) child.pendingRegs.set(X86Reg.FS_BASE, tls);
      cp.vforkDone = { done: false };
    } else {
      cp.machine.writeCpuState(m.readCpuState());
      cp.machine.uc.regWrite(X86Reg.RAX, 0n);
      if (newsp) cp.machine.uc.regWrite(X86Reg.RSP, newsp);
      if (flags & CLONE_SETTLS) cp.machine.uc.regWrite(X86Reg.FS_BASE, tls);
    }
    cp.sigactions = p.sigactions.map((a) => ({ ...a }));
    cp.files = new Map([...p.files].map(([fd, f]) => [fd, f.kind === 'file' ? { ...f } : f]));
    for (const f of cp.files.values()) if (f.kind === 'pipe') f.refs++; // dup_fd: the child shares each open file
    child.cpu = t.cpu;
    child.cpusMask = t.cpusMask;
    // rseq_fork: without CLONE_VM the child keeps the registration (its copy of the area is at the same address).
    if (t.rseq) { child.rseq = { ...t.rseq }; child.rseqEvent = t.rseqEvent; child.rseqNotify = true; }
    cp.cloexec = new Set(p.cloexec);
    cp.brkStart = p.brkStart;
    cp.startData = p.startData;
    cp.endData = p.endData;
    cp.brk = p.brk;
    cp.exitSignal = Number(flags & CSIGNAL);
    child.sigmask = t.sigmask;
    child.segs = { ...t.segs };
    child.debugRegs = t.debugRegs.forkCopy();
    copySeccomp(t, child);
    child.altstack = { ...t.altstack };
    if (flags & CLONE_CHILD_CLEARTID) child.clearChildTid = ctid;
    if (flags & CLONE_CHILD_SETTID) cp.machine.writeU32(ctid, tid);
    if (flags & CLONE_PARENT_SETTID) m.writeU32(ptid, tid);
    cp.threads.push(child);
    if (!vfork) cp.loaded = child;
    p.children.push(cp);
    this.tasks.push(child);
    const r = report(child);
    if (!vfork) return r;
    // kernel_clone(): the PTRACE_EVENT_VFORK stop first, then wait_for_vfork_done.
    if (r === undefined) t.afterEventStop = () => this.waitForVforkDone(t, cp);
    else this.waitForVforkDone(t, cp);
    return undefined;
  });
}

/**
 * wait_for_vfork_done() (kernel/fork.c): the vfork parent sleeps, killable only, until the child
 * execs or exits (complete_vfork_done); then, under PTRACE_O_TRACEVFORKDONE, it stops with
 * PTRACE_EVENT_VFORK_DONE (ptrace_message the child's pid); the call returns the child's pid.
 */
export function waitForVforkDone(this: Kernel, t: Task, cp: Process): void {
  const pid = BigInt(cp.pid);
  this.block(t, {
    what: 'vfork', killable: true,
    retry: () => {
      if (!cp.vforkDone?.done) return undefined;
      // The stop comes when the woken parent is next scheduled, before it returns to user space.
      if (t.ptrace && ptraceEventEnabled(t.ptrace.options, PtraceEvent.VFORK_DONE)) t.afterEventStop = () => this.ptraceEvent(t, PtraceEvent.VFORK_DONE, pid, pid);
      return pid;
    },
  });
}

/**
 * complete_vfork_done() from mm_release (kernel/fork.c): a vfork child that execs or exits gives
 * its parent's address space back; the engine no longer holds it.
 */
export function completeVforkDone(p: Process): void {
  if (!p.vforkDone || p.vforkDone.done) return;
  p.vforkDone.done = true;
  if (p.loaded?.proc === p) p.loaded = undefined;
}
