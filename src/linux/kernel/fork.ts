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
    cp.umask = p.umask;
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

/** struct clone_args (include/uapi/linux/sched.h): the sizes of its versions and its fields' offsets. */
const CLONE_ARGS_SIZE_VER0 = 64n;
const CLONE_ARGS_SIZE_VER2 = 88n;
enum CloneArgs { flags = 0, pidfd = 8, child_tid = 16, parent_tid = 24, exit_signal = 32, stack = 40, stack_size = 48, tls = 56, set_tid = 64, set_tid_size = 72, cgroup = 80 }
/** copy_struct_from_user's limit (PAGE_SIZE): a larger struct is -E2BIG. */
const CLONE_ARGS_MAX = 4096n;
/** clone3's flags beyond the legacy 32 (include/uapi/linux/sched.h) and the ones clone3 refuses. */
const CLONE_LEGACY_FLAGS = 0xffffffffn;
const CLONE_CLEAR_SIGHAND = 1n << 32n;
const CLONE_INTO_CGROUP = 1n << 33n;
const CLONE_DETACHED = 0x400000n;
const CLONE_NEWTIME = 0x80n;
const CLONE_PARENT = 0x8000n;
const CLONE_SIGHAND = 0x800n;
/** MAX_PID_NS_LEVEL (include/linux/pid_namespace.h): set_tid holds at most this many ids. */
const MAX_PID_NS_LEVEL = 32n;
/** _NSIG: the highest valid exit signal (valid_signal). */
const NSIG = 64n;
const INT_MAX = 0x7fffffffn;

/**
 * clone3 (kernel/fork.c copy_clone_args_from_user, clone3_args_valid, Linux 6.18): -E2BIG for a
 * struct larger than a page or with non-zero bytes past the known fields, -EINVAL for one smaller
 * than version 0, set_tid and its size that disagree, an exit signal out of range, flags outside
 * the known ones or with a signal byte, CLONE_SIGHAND with CLONE_CLEAR_SIGHAND, an exit signal
 * with CLONE_THREAD or CLONE_PARENT, a stack without a size or a size without a stack; then
 * kernel_clone as clone's, with the stack's top (stack + stack_size). CLONE_CLEAR_SIGHAND,
 * CLONE_INTO_CGROUP and set_tid are not modelled (a warning and -ENOSYS).
 */
export function clone3(this: Kernel, t: Task, uargs: bigint, size: bigint): bigint | 'stop' {
  if (size > CLONE_ARGS_MAX) return neg(Errno.E2BIG);
  if (size < CLONE_ARGS_SIZE_VER0) return neg(Errno.EINVAL);
  const m = t.proc.machine;
  const raw = m.read(uargs, Number(size));
  const known = Math.min(raw.length, Number(CLONE_ARGS_SIZE_VER2));
  if (raw.subarray(known).some((b) => b !== 0)) return neg(Errno.E2BIG);
  const b = new Uint8Array(Number(CLONE_ARGS_SIZE_VER2));
  b.set(raw.subarray(0, known));
  const v = new DataView(b.buffer);
  const get = (f: CloneArgs): bigint => v.getBigUint64(f, true);
  const flags = get(CloneArgs.flags), exitSignal = get(CloneArgs.exit_signal), stack = get(CloneArgs.stack), stackSize = get(CloneArgs.stack_size);
  const setTid = get(CloneArgs.set_tid), setTidSize = get(CloneArgs.set_tid_size);
  if (setTidSize > MAX_PID_NS_LEVEL || (!setTid && setTidSize > 0n) || (setTid && setTidSize === 0n)) return neg(Errno.EINVAL);
  if ((exitSignal & ~CSIGNAL) || exitSignal > NSIG) return neg(Errno.EINVAL);
  if ((flags & CLONE_INTO_CGROUP) && (get(CloneArgs.cgroup) > INT_MAX || size < CLONE_ARGS_SIZE_VER2)) return neg(Errno.EINVAL);
  // clone3_args_valid.
  if (flags & ~(CLONE_LEGACY_FLAGS | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP)) return neg(Errno.EINVAL);
  if (flags & (CLONE_DETACHED | (CSIGNAL & ~CLONE_NEWTIME))) return neg(Errno.EINVAL);
  if ((flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND)) === (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND)) return neg(Errno.EINVAL);
  if ((flags & (CLONE_THREAD | CLONE_PARENT)) && exitSignal) return neg(Errno.EINVAL);
  // clone3_stack_valid: no stack and no size, or both (within user space).
  if (stack === 0n ? stackSize !== 0n : stackSize === 0n) return neg(Errno.EINVAL);
  if (flags & (CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP) || setTid) {
    const what = flags & CLONE_CLEAR_SIGHAND ? 'CLONE_CLEAR_SIGHAND' : flags & CLONE_INTO_CGROUP ? 'CLONE_INTO_CGROUP' : 'set_tid';
    this.o.stderr(`xstate-lab: warning: clone3 with ${what} is not modelled; it returns -ENOSYS`);
    return neg(Errno.ENOSYS);
  }
  return this.clone(t, flags | exitSignal, stack ? stack + stackSize : 0n, get(CloneArgs.parent_tid), get(CloneArgs.child_tid), get(CloneArgs.tls));
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
