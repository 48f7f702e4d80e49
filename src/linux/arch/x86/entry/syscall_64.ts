/**
 * System call entry (arch/x86/entry/entry_64.S entry_SYSCALL_64, arch/x86/entry/syscall_64.c
 * x64_sys_call, Linux 6.18): the SYSCALL hook, the dispatch by number and the answer for calls the
 * model lacks (kernel/sys_ni.c).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { GuestMemoryFault, type Machine } from '../../../../../emulator/machine.js';
import { X86Reg } from '../../../../../emulator/unicorn.js';
import { XFEATURE_MASK_USER_DYNAMIC } from '../../../../../kernel-model/fpu-config.js';
import { MINSIGSTKSZ, on_sig_stack, sigaltstack_size_valid } from '../../../../../kernel-model/signal.js';
import { CLONE_VFORK, CLONE_VM, AT_EMPTY_PATH, AT_FDCWD, ClockId, Errno, NSIG, SI_TKILL, SI_USER, SS_DISABLE, Sig, SigHow, Sys, Whence } from '../../../abi.js';
import { NOFILE_CUR } from '../../../fs/file.js';
import { pipe_read, pipe_write } from '../../../fs/pipe.js';
import type { Kernel } from '../../../kernel.js';
import { straceSyscall, type TraceMemory } from '../../../strace.js';
import { PTRACE_EVENTMSG_SYSCALL_ENTRY } from '../../../ptrace.js';
import { sys_rseq } from '../../../kernel/rseq.js';
import { SeccompMode, SeccompVerdict } from '../../../kernel/seccomp.js';
import { sasSsFlags } from '../../../kernel/signal.js';
import { MODELLED_NODE, sched_getaffinity, sched_setaffinity } from '../../../kernel/sched/affinity.js';
import { do_prlimit, do_sysinfo, type Rlim } from '../../../kernel/sys.js';
import { sys_pkey_alloc, sys_pkey_free } from '../mm/pkeys.js';
import { CLOCK_EPOCH_NS } from '../../../kernel/time/posix-timers.js';
import { cpuClockRes, cpuClockSample, cpuClockTarget, cpuNanosleep, isCpuClock, isDynamicClock } from '../../../kernel/time/posix-cpu-timers.js';
import { MASK64, FIRST_PID, neg, sigBit, UNBLOCKABLE, TaskState, Task, Process } from '../../../sched.js';
import { NOT_IMPLEMENTED_IN_LINUX, X32_FIRST, X32_LAST, syscallName } from '../../../syscall-table.js';

/** utsname field length (include/uapi/linux/utsname.h __NEW_UTS_LEN + 1). */
const UTS_FIELD = 65;
/** The fixed uname answer (the release comes from the kernel variant). */
const UTS = { sysname: 'Linux', nodename: 'xstate-lab', version: '#1 SMP PREEMPT_DYNAMIC xstate-lab', machine: 'x86_64', domainname: '(none)' };
/** sizeof(stack_t) on x86-64 (include/uapi/asm-generic/signal.h). */
const STACK_T_BYTES = 24;
/** sizeof(struct timezone) (include/uapi/linux/time.h): two ints. */
const TIMEZONE_BYTES = 8;
/** clock_nanosleep flag TIMER_ABSTIME (include/uapi/linux/time.h). */
const TIMER_ABSTIME = 1;
/** The length of SYSCALL (0F 05, SDM Vol. 2B): where RCX points after it. */
const SYSCALL_INSN_BYTES = 2n;
/** Registers a syscall reads: number and six arguments (arch/x86/entry/entry_64.S calling convention). */
export const SYSCALL_REGS: readonly X86Reg[] = [X86Reg.RAX, X86Reg.RDI, X86Reg.RSI, X86Reg.RDX, X86Reg.R10, X86Reg.R8, X86Reg.R9];

/** UC_HOOK_INSN(SYSCALL) for a process's engine: returns true to stop the engine (reschedule). */
export function onSyscall(this: Kernel, engineOwner: Process): boolean {
  // A lone task's run of several quanta: the clocks as one run per quantum left them, and the run ends with this quantum (sched/core.ts aloneQuanta).
  this.aloneCatchUp();
  // The task the engine holds: a vfork child runs on its parent's engine, whose hook names the parent.
  const t = engineOwner.loaded!;
  const p = t.proc;
  const m = p.machine;
  // SYSCALL (SDM Vol. 2B): RCX := the RIP of the next instruction, R11 := RFLAGS.
  // entry_SYSCALL_64 saves both in pt_regs (cx, r11), and the return, SYSRET or IRET alike,
  // gives user space those saved values back. Unicorn 2.0.1 runs this hook with RIP still at
  // the instruction and advances it afterwards (test/guests/syscall-regs.c shows the difference).
  const [rip, rflags] = m.uc.regReadBatch([X86Reg.RIP, X86Reg.RFLAGS]);
  m.uc.regWriteBatch([X86Reg.RCX, X86Reg.R11], [rip! + SYSCALL_INSN_BYTES, rflags!]);
  const a = m.uc.regReadBatch(SYSCALL_REGS);
  const nr = Number(a[0]! & 0xffffffffn);
  t.origRax = a[0]!;
  if (t.ptrace?.syscalls || t.ptrace?.sysemu) {
    // syscall-entry-stop (ptrace_report_syscall_entry): RAX reads -ENOSYS, orig_rax the number;
    // under SYSCALL_WORK_SYSCALL_EMU the call is then not made (syscall_trace_enter).
    m.uc.regWrite(X86Reg.RAX, neg(Errno.ENOSYS) & MASK64);
    t.syscallAfterEntryStop = true;
    t.syscallEmulated = t.ptrace.sysemu === true;
    this.ptraceStopTask(t, this.syscallStop(t, PTRACE_EVENTMSG_SYSCALL_ENTRY));
    return true;
  }
  if (t.seccomp.mode !== SeccompMode.DISABLED) {
    // syscall_trace_enter(): seccomp after the ptrace entry stop, with pt_regs->ax already -ENOSYS.
    m.uc.regWrite(X86Reg.RAX, neg(Errno.ENOSYS) & MASK64);
    const v = this.secureComputing(t, Number(BigInt.asIntN(32, a[0]!)), rip! + SYSCALL_INSN_BYTES, a.slice(1), false);
    if (v === SeccompVerdict.Stop) return true;
    if (v === SeccompVerdict.Skip) {
      const stop = t.state !== TaskState.Runnable || !p.alive || t.jobctlStopPending || this.signalPending(t);
      if (!stop) t.origRax = -1n;
      return stop;
    }
  }
  let r: bigint | 'stop';
  // exit and exit_group never return: strace prints them, `= ?`, before the process's end.
  const noReturn = nr === Sys.exit || nr === Sys.exit_group;
  if (this.o.trace && noReturn) this.o.trace(`${this.tracePid(t)}${straceSyscall(nr, a.slice(1), 'stop', traceMemory(m))}`);
  // The call's copies to and from user memory are checked against the thread's PKRU (Machine.userAccessPkru).
  m.syncPkru();
  m.userAccessPkru = true;
  try {
    r = this.syscall(t, nr, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!);
  } catch (e) {
    if (e instanceof GuestMemoryFault) r = neg(Errno.EFAULT);
    else throw e;
  } finally {
    m.userAccessPkru = false;
  }
  // strace's notation (src/linux/strace.ts), read from the guest's memory after the call.
  if (this.o.trace && !noReturn) this.o.trace(`${this.tracePid(t)}${straceSyscall(nr, a.slice(1), r, traceMemory(m))}`);
  if (r === 'stop') return true;
  m.uc.regWrite(X86Reg.RAX, r & MASK64);
  if (t.rseqNotify) this.rseqReturnToUser(t);
  const stop = t.state !== TaskState.Runnable || !p.alive || t.jobctlStopPending || this.signalPending(t);
  // Going on in user mode: a later stop is an interrupt, not this call's exit (orig_ax -1).
  if (!stop) t.origRax = -1n;
  return stop;
}

/** strace -f's `[pid N] ` once there is more than one task. */
export function tracePid(this: Kernel, t: Task): string {
  return this.tasks.length > 1 ? `[pid ${t.tid}] ` : '';
}

/** Guest memory for trace lines: unreadable memory is shown as its address, never a fault. */
function traceMemory(m: Machine): TraceMemory {
  return {
    cString: (addr, max) => { try { return m.readCString(addr, max); } catch { return undefined; } },
    bytes: (addr, len) => { try { return m.read(addr, len); } catch { return undefined; } },
  };
}

export function syscall(this: Kernel, t: Task, nr: number, a0: bigint, a1: bigint, a2: bigint, a3: bigint, a4: bigint, _a5: bigint): bigint | 'stop' {
  const p = t.proc;
  const m = p.machine;
  const i32 = (x: bigint): number => Number(BigInt.asIntN(32, x));
  switch (nr as Sys) {
    case Sys.read: {
      const f = p.files.get(i32(a0));
      if (f?.kind === 'pipe') return this.pipeIo(t, 'pipe read', pipe_read(f, Number(a2), (b) => m.write(a1, b)));
      if (f?.kind === 'signalfd') return this.signalfdRead(t, f, a1, Number(a2));
      if (f?.kind === 'eventfd') return this.eventfdRead(t, f, a1, Number(a2));
      if (f?.kind === 'timerfd') return this.timerfdRead(t, f, a1, Number(a2));
      if (f?.kind === 'socket') return this.socketRead(t, f, a1, Number(a2));
      return this.read(p, i32(a0), a1, Number(a2));
    }
    case Sys.write: {
      const f = p.files.get(i32(a0));
      if (f?.kind === 'pipe') return this.pipeIo(t, 'pipe write', pipe_write(f, m.read(a1, Number(a2)), () => this.sigpipe(t)));
      if (f?.kind === 'eventfd') return this.eventfdWrite(t, f, a1, Number(a2));
      if (f?.kind === 'socket') return this.socketWrite(t, f, m.read(a1, Number(a2)));
      return this.write(p, i32(a0), m.read(a1, Number(a2)));
    }
    case Sys.writev: {
      const parts: Uint8Array[] = [];
      for (let k = 0n; k < a2; k++) {
        const base = m.readU64(a1 + 16n * k);
        const len = m.readU64(a1 + 16n * k + 8n);
        parts.push(m.read(base, Number(len)));
      }
      const f = p.files.get(i32(a0));
      if (f?.kind === 'pipe') return this.pipeIo(t, 'pipe write', pipe_write(f, Buffer.concat(parts), () => this.sigpipe(t)));
      if (f?.kind === 'socket') return this.socketWrite(t, f, Buffer.concat(parts));
      return this.write(p, i32(a0), Buffer.concat(parts));
    }
    case Sys.readv: {
      const f = p.files.get(i32(a0));
      if (f?.kind === 'socket') return this.socketReadv(t, f, a1, Number(a2));
      if (f?.kind === 'pipe') {
        // One pipe_read over the whole iovec, scattered in order.
        const iov = Array.from({ length: Number(a2) }, (_, k) => ({ base: m.readU64(a1 + 16n * BigInt(k)), len: Number(m.readU64(a1 + 16n * BigInt(k) + 8n)) }));
        const scatter = (b: Uint8Array): void => {
          let off = 0;
          for (const v of iov) { if (off >= b.length) break; const n = Math.min(v.len, b.length - off); m.write(v.base, b.subarray(off, off + n)); off += n; }
        };
        return this.pipeIo(t, 'pipe read', pipe_read(f, iov.reduce((x, v) => x + v.len, 0), scatter));
      }
      let total = 0n;
      for (let k = 0n; k < a2; k++) {
        const n = this.read(p, i32(a0), m.readU64(a1 + 16n * k), Number(m.readU64(a1 + 16n * k + 8n)));
        if (n < 0n) return total ? total : n;
        total += n;
        if (n < m.readU64(a1 + 16n * k + 8n)) break;
      }
      return total;
    }
    case Sys.open: return this.open(p, m.readCString(a0), i32(a1));
    case Sys.openat: return i32(a0) === AT_FDCWD || m.readCString(a1).startsWith('/') ? this.open(p, m.readCString(a1), i32(a2)) : neg(Errno.ENOENT);
    case Sys.close: return this.closeFd(p, i32(a0)) ? 0n : neg(Errno.EBADF);
    case Sys.fcntl: return this.fcntl(p, i32(a0), Number(a1 & 0xffffffffn), a2, nr);
    case Sys.dup: {
      const f = p.files.get(i32(a0));
      if (!f) return neg(Errno.EBADF);
      const fd = this.installFd(p, f, false);
      if (fd >= 0) this.retain(f);
      return BigInt(fd);
    }
    case Sys.dup2: case Sys.dup3: return this.dup3(p, i32(a0), i32(a1), nr === Sys.dup3 ? i32(a2) : undefined);
    case Sys.pipe: case Sys.pipe2: return this.pipe2(p, a0, nr === Sys.pipe2 ? i32(a1) : 0);
    case Sys.sched_getaffinity: case Sys.sched_setaffinity: {
      const target = this.schedTarget(t, i32(a0));
      if (!target) return neg(Errno.ESRCH);
      if (nr === Sys.sched_getaffinity) return sched_getaffinity(this.topo, target, a1 & 0xffffffffn, (b) => m.write(a2, b));
      const r = sched_setaffinity(this.topo, target, a1 & 0xffffffffn, (n) => m.read(a2, n));
      // A migrated task's rseq area is updated on its next return to user space (rseq_migrate).
      if (r.migrated && target.rseq) { target.rseqEvent = true; target.rseqNotify = true; }
      return r.ret;
    }
    case Sys.getcpu: {
      // sys_getcpu (kernel/sys.c): the CPU and its node, each where a pointer was given.
      if (a0) m.writeU32(a0, t.cpu);
      if (a1) m.writeU32(a1, MODELLED_NODE);
      return 0n;
    }
    case Sys.rseq: return sys_rseq(t, m, this.rseqExt, a0, Number(a1 & 0xffffffffn), i32(a2), Number(a3 & 0xffffffffn));
    case Sys.fstat: return this.fstat(p, i32(a0), a1);
    case Sys.newfstatat: {
      const path = m.readCString(a1);
      if (path === '' && (Number(a3) & AT_EMPTY_PATH)) return this.fstat(p, i32(a0), a2);
      return this.statPath(p, path, a2);
    }
    case Sys.stat: case Sys.lstat: return this.statPath(p, m.readCString(a0), a1);
    case Sys.lseek: {
      const f = p.files.get(i32(a0));
      if (!f) return neg(Errno.EBADF);
      if (f.kind === 'host' || f.kind === 'pipe') return neg(Errno.ESPIPE); // no_llseek
      if (f.kind !== 'file') return 0n; // KVM's descriptors use noop_llseek: the position stays 0
      const base = a2 === BigInt(Whence.SET) ? 0 : a2 === BigInt(Whence.CUR) ? f.pos : a2 === BigInt(Whence.END) ? f.data.length : -1;
      const pos = base + Number(BigInt.asIntN(64, a1));
      if (base < 0 || pos < 0) return neg(Errno.EINVAL);
      f.pos = pos;
      return BigInt(pos);
    }
    case Sys.ioctl: return this.ioctl(p, i32(a0), Number(a1 & 0xffffffffn), a2);
    case Sys.access: return this.accessPath(p, m.readCString(a0));
    case Sys.faccessat: case Sys.faccessat2: return i32(a0) === AT_FDCWD || m.readCString(a1).startsWith('/') ? this.accessPath(p, m.readCString(a1)) : neg(Errno.ENOENT);
    case Sys.readlink: return this.readlink(p, m.readCString(a0), a1, i32(a2));
    case Sys.readlinkat: return i32(a0) === AT_FDCWD || m.readCString(a1).startsWith('/') ? this.readlink(p, m.readCString(a1), a2, i32(a3)) : neg(Errno.ENOENT);
    case Sys.modify_ldt: return this.modify_ldt(p, i32(a0), a1, a2);
    case Sys.getdents64: return this.getdents64(p, i32(a0), a1, Number(a2 & 0xffffffffn));
    case Sys.brk: return this.brk(p, a0);
    case Sys.mmap: return this.mmap(p, a0, a1, i32(a2), i32(a3), i32(a4), _a5);
    case Sys.munmap: return this.munmap(p, a0, a1);
    case Sys.mprotect: return this.do_mprotect_pkey(t, a0, a1, i32(a2), -1);
    case Sys.pkey_mprotect: return this.do_mprotect_pkey(t, a0, a1, i32(a2), i32(a3));
    case Sys.pkey_alloc: {
      const r = sys_pkey_alloc(p.pkeys, t.fpu, this.view.cr4Pke.value, a0, a1);
      m.syncPkru(); // the new key's rights are in this thread's PKRU
      return r;
    }
    case Sys.pkey_free: return sys_pkey_free(p.pkeys, this.view.cr4Pke.value, i32(a0));
    case Sys.mremap: return this.mremap(p, a0, a1, a2, i32(a3), a4);
    case Sys.madvise: return 0n;
    case Sys.exit: {
      const code = i32(a0);
      if (!this.ptraceExitEvent(t, (code & 0xff) << 8, () => this.exitThread(t, code))) this.exitThread(t, code);
      return 'stop';
    }
    case Sys.exit_group: {
      const code = i32(a0) & 0xff;
      if (!this.ptraceExitEvent(t, code << 8, () => this.endProcess(p, { code }))) this.endProcess(p, { code });
      return 'stop';
    }
    case Sys.arch_prctl: return this.archPrctl(t, Number(a0), a1);
    case Sys.set_tid_address: t.clearChildTid = a0; return BigInt(t.tid);
    case Sys.set_robust_list: return 0n;
    case Sys.rt_sigaction: return this.sigaction(p, i32(a0), a1, a2);
    case Sys.rt_sigprocmask: {
      const old = t.sigmask;
      if (a1) {
        const set = m.readU64(a1);
        if (a0 === BigInt(SigHow.SIG_BLOCK)) t.sigmask |= set;
        else if (a0 === BigInt(SigHow.SIG_UNBLOCK)) t.sigmask &= ~set;
        else if (a0 === BigInt(SigHow.SIG_SETMASK)) t.sigmask = set;
        else return neg(Errno.EINVAL);
        t.sigmask &= ~UNBLOCKABLE;
      }
      if (a2) m.writeU64(a2, old);
      return 0n;
    }
    case Sys.rt_sigpending: {
      // sys_rt_sigpending: the thread's and the process's pending signals that are blocked.
      const bits = [...t.pending, ...p.sharedPending].reduce((acc, x) => acc | sigBit(x.info.signo), 0n) & t.sigmask;
      m.writeU64(a0, bits);
      return 0n;
    }
    case Sys.rt_sigreturn: return this.defer(t, () => this.sigreturn(t));
    case Sys.sigaltstack: {
      const sp = m.uc.regRead(X86Reg.RSP);
      // do_sigaltstack (kernel/signal.c): the old stack is read before the change, written after it.
      const old = { sp: t.altstack.sp, size: t.altstack.size, flags: sasSsFlags(t, sp) };
      if (a0) {
        const v = new DataView(m.read(a0, STACK_T_BYTES).buffer);
        const r = this.doSigaltstack(t, { sp: v.getBigUint64(0, true), size: v.getBigUint64(16, true), flags: v.getInt32(8, true) }, sp);
        if (r) return neg(r);
      }
      if (a1) {
        const b = new Uint8Array(STACK_T_BYTES);
        const v = new DataView(b.buffer);
        v.setBigUint64(0, old.sp, true);
        v.setInt32(8, old.flags, true);
        v.setBigUint64(16, old.size, true);
        m.write(a1, b);
      }
      return 0n;
    }
    case Sys.getpid: return BigInt(p.pid);
    case Sys.gettid: return BigInt(t.tid);
    case Sys.getppid: return BigInt(p.parent?.pid ?? FIRST_PID - 1);
    case Sys.getuid: case Sys.geteuid: case Sys.getgid: case Sys.getegid: return 0n;
    // sys_getresuid / sys_getresgid (kernel/sys.c): real, effective and saved ids, root's as getuid's.
    case Sys.getresuid: case Sys.getresgid: for (const at of [a0, a1, a2]) m.writeU32(at, 0); return 0n;
    // sys_umask (kernel/sys.c): the old mask; the new one is mode & S_IRWXUGO.
    case Sys.umask: { const old = p.umask; p.umask = Number(a0 & 0o777n); return BigInt(old); }
    case Sys.getcwd: return this.sys_getcwd(p, a0, a1);
    case Sys.pread64: return this.pread64(p, i32(a0), a1, Number(a2), a3);
    case Sys.pwrite64: return this.pwrite64(p, i32(a0), a3);
    // sys_sched_getscheduler (kernel/sched/syscalls.c): -EINVAL for a negative pid, -ESRCH for none; every task is SCHED_NORMAL (0).
    case Sys.sched_getscheduler: {
      const pid = i32(a0);
      if (pid < 0) return neg(Errno.EINVAL);
      return this.schedTarget(t, pid) ? 0n : neg(Errno.ESRCH);
    }
    case Sys.getpgrp: case Sys.setsid: return BigInt(this.init!.pid);
    case Sys.clock_gettime: case Sys.clock_getres: {
      const clock = i32(a0);
      if (isCpuClock(clock)) {
        // posix_cpu_clock_get / posix_cpu_clock_getres (kernel/time/posix-cpu-timers.c).
        const target = cpuClockTarget(this, t, clock);
        if (!target) return neg(Errno.EINVAL);
        if (a1) this.writeTimespec(m, a1, nr === Sys.clock_getres ? cpuClockRes(clock) : cpuClockSample(target), 1n);
        return 0n;
      }
      // A dynamic (descriptor) clock names no posix clock device in the model: -EINVAL, as an unknown id.
      if (nr === Sys.clock_getres) {
        if (isDynamicClock(clock) || clock < ClockId.REALTIME || clock > ClockId.BOOTTIME) return neg(Errno.EINVAL);
        if (a1) this.writeTimespec(m, a1, 1n, 1n);
        return 0n;
      }
      const ns = this.readClock(clock);
      if (ns < 0n) return neg(Errno.EINVAL);
      if (a1) this.writeTimespec(m, a1, ns, 1n);
      return 0n;
    }
    case Sys.poll: {
      // sys_poll: a negative timeout waits for ever; milliseconds otherwise.
      const ms = i32(a2);
      return this.do_sys_poll(t, a0, a1 & 0xffffffffn, ms < 0 ? undefined : BigInt(ms) * 1_000_000n, undefined);
    }
    case Sys.ppoll: {
      let ns: bigint | undefined;
      if (a2) {
        const sec = BigInt.asIntN(64, m.readU64(a2)), nsec = BigInt.asIntN(64, m.readU64(a2 + 8n));
        if (sec < 0n || nsec < 0n || nsec >= 1_000_000_000n) return neg(Errno.EINVAL);
        ns = sec * 1_000_000_000n + nsec;
      }
      return this.do_sys_poll(t, a0, a1 & 0xffffffffn, ns, { sigmask: a3, size: a4, tsp: a2 });
    }
    case Sys.select: return this.core_sys_select(t, i32(a0), a1, a2, a3, a4, true, undefined);
    case Sys.pselect6: {
      // The sixth argument points to { const sigset_t *p; size_t size } (get_sigset_argpack).
      const sig = _a5 ? { sigmask: m.readU64(_a5), size: m.readU64(_a5 + 8n) } : undefined;
      return this.core_sys_select(t, i32(a0), a1, a2, a3, a4, false, sig);
    }
    case Sys.epoll_create: return i32(a0) <= 0 ? neg(Errno.EINVAL) : this.do_epoll_create(t, 0);
    case Sys.epoll_create1: return this.do_epoll_create(t, i32(a0));
    case Sys.epoll_ctl: return this.epoll_ctl(t, i32(a0), i32(a1), i32(a2), a3);
    case Sys.epoll_wait: case Sys.epoll_pwait: {
      // ep_timeout_to_timespec: a negative timeout waits for ever; milliseconds otherwise.
      const ms = i32(a3);
      const deadline = ms < 0 ? undefined : this.clockNs + BigInt(ms) * 1_000_000n;
      return this.do_epoll_wait(t, i32(a0), a1, i32(a2), deadline, nr === Sys.epoll_pwait ? { at: a4, size: _a5 } : undefined);
    }
    case Sys.epoll_pwait2: {
      // The timeout is read and checked first (get_timespec64, poll_select_set_timeout: -EINVAL for a negative or unnormalised one).
      let deadline: bigint | undefined;
      if (a3) {
        const sec = BigInt.asIntN(64, m.readU64(a3)), nsec = BigInt.asIntN(64, m.readU64(a3 + 8n));
        if (sec < 0n || nsec < 0n || nsec >= 1_000_000_000n) return neg(Errno.EINVAL);
        deadline = this.clockNs + sec * 1_000_000_000n + nsec;
      }
      return this.do_epoll_wait(t, i32(a0), a1, i32(a2), deadline, { at: a4, size: _a5 });
    }
    case Sys.eventfd: return this.do_eventfd(t, i32(a0), 0);
    case Sys.eventfd2: return this.do_eventfd(t, i32(a0), i32(a1));
    case Sys.timerfd_create: return this.timerfd_create(t, i32(a0), i32(a1));
    case Sys.timerfd_settime: return this.timerfd_settime(t, i32(a0), i32(a1), a2, a3);
    case Sys.timerfd_gettime: return this.timerfd_gettime(t, i32(a0), a1);
    case Sys.getrusage: return this.getrusage(t, i32(a0), a1);
    case Sys.times: return this.times(t, a0, this.readClock(ClockId.BOOTTIME));
    case Sys.gettimeofday:
      if (a0) this.writeTimespec(m, a0, this.readClock(ClockId.REALTIME), 1000n);
      // kernel/time/time.c: the timezone, sys_tz, is {0, 0} until settimeofday (not modelled) sets it.
      if (a1) m.write(a1, new Uint8Array(TIMEZONE_BYTES));
      return 0n;
    case Sys.time: {
      const s = this.readClock(ClockId.REALTIME) / 1_000_000_000n;
      if (a0) m.writeU64(a0, s);
      return s;
    }
    case Sys.nanosleep: case Sys.clock_nanosleep: {
      const [req, rmtp] = nr === Sys.nanosleep ? [a0, a1] : [a2, a3];
      const abs = nr === Sys.clock_nanosleep && (Number(a1) & TIMER_ABSTIME) !== 0;
      const sec = m.readU64(req), nsec = m.readU64(req + 8n);
      // timespec64_valid(): -EINVAL for a negative second count or nanoseconds out of range.
      if (BigInt.asIntN(64, sec) < 0n || nsec >= 1_000_000_000n) return neg(Errno.EINVAL);
      const ns = sec * 1_000_000_000n + nsec;
      if (nr === Sys.clock_nanosleep && isCpuClock(i32(a0))) return cpuNanosleep(this, t, i32(a0), abs, ns, rmtp);
      // An absolute time is on the named clock: CLOCK_REALTIME counts from the epoch, the others from boot.
      const absBase = nr === Sys.clock_nanosleep && Number(a0) !== ClockId.REALTIME ? CLOCK_EPOCH_NS : 0n;
      return this.hrtimerNanosleep(t, abs ? ns + absBase : this.clockNs + ns, !abs, rmtp);
    }
    case Sys.restart_syscall: {
      // sys_restart_syscall (kernel/signal.c): the restart_block the interrupted call left, else -EINTR.
      const fn = t.restartBlock;
      t.restartBlock = undefined;
      return fn ? fn() : neg(Errno.EINTR);
    }
    case Sys.pause: return this.sleepUntilSignal(t, 'pause');
    case Sys.getitimer: return this.getitimer(t, i32(a0), a1);
    case Sys.setitimer: return this.setitimer(t, i32(a0), a1, a2);
    case Sys.alarm: return this.alarm(t, a0);
    case Sys.execve: return this.execve(t, a0, a1, a2);
    case Sys.rt_sigsuspend: return this.sigsuspend(t, a0, a1);
    case Sys.timer_create: return this.timerCreate(t, i32(a0), a1, a2);
    case Sys.timer_settime: return this.timerSettime(t, i32(a0), i32(a1), a2, a3);
    case Sys.timer_gettime: return this.timerGettime(t, i32(a0), a1);
    case Sys.timer_getoverrun: return this.timerGetoverrun(t, i32(a0));
    case Sys.timer_delete: return this.timerDelete(t, i32(a0));
    case Sys.signalfd: case Sys.signalfd4: return this.signalfd4(t, i32(a0), a1, a2, nr === Sys.signalfd4 ? i32(a3) : 0);
    case Sys.rt_sigqueueinfo: return this.sigqueueinfo(t, undefined, i32(a0), i32(a1), a2);
    case Sys.rt_tgsigqueueinfo: return this.sigqueueinfo(t, i32(a0), i32(a1), i32(a2), a3);
    case Sys.rt_sigtimedwait: return this.sigtimedwait(t, a0, a1, a2, a3);
    case Sys.sched_yield: return this.defer(t, () => 0n);
    case Sys.getrandom: {
      m.write(a0, this.random.bytes(Number(a1)));
      return a1;
    }
    case Sys.sysinfo:
      // kernel/sys.c SYSCALL_DEFINE1(sysinfo): do_sysinfo, then copy_to_user (-EFAULT).
      m.write(a0, do_sysinfo(this.readClock(ClockId.BOOTTIME), this.tasks.filter((x) => x.state !== TaskState.Dead).length));
      return 0n;
    case Sys.uname: {
      const b = new Uint8Array(UTS_FIELD * 6);
      [UTS.sysname, UTS.nodename, this.o.kernel.release, UTS.version, UTS.machine, UTS.domainname]
        .forEach((s, k) => b.set(Buffer.from(s), k * UTS_FIELD));
      m.write(a0, b);
      return 0n;
    }
    case Sys.prlimit64: case Sys.getrlimit: case Sys.setrlimit: return this.prlimit(t, nr, a0, a1, a2, a3);
    case Sys.futex: return this.futex(t, a0, Number(a1), a2, a3, a4, _a5);
    case Sys.clone: return this.clone(t, a0, a1, a2, a3, a4);
    case Sys.clone3: return this.clone3(t, a0, a1);
    case Sys.socket: return this.sys_socket(t, i32(a0), i32(a1), i32(a2), nr);
    case Sys.connect: return this.sys_connect(t, i32(a0), a1, i32(a2));
    case Sys.socketpair: return this.sys_socketpair(t, i32(a0), i32(a1), i32(a2), a3, nr);
    case Sys.sendto: return this.sys_sendto(t, i32(a0), a1, Number(a2), i32(a3), a4, i32(_a5));
    case Sys.recvfrom: return this.sys_recvfrom(t, i32(a0), a1, Number(a2), i32(a3), a4, _a5);
    case Sys.sendmsg: return this.sys_sendmsg(t, i32(a0), a1, i32(a2));
    case Sys.recvmsg: return this.sys_recvmsg(t, i32(a0), a1, i32(a2));
    case Sys.shutdown: return this.sys_shutdown(t, i32(a0), i32(a1));
    // vfork: CLONE_VFORK | CLONE_VM | SIGCHLD (kernel/fork.c sys_vfork).
    case Sys.fork: case Sys.vfork: return this.clone(t, BigInt(Sig.SIGCHLD) | (nr === Sys.vfork ? CLONE_VFORK | CLONE_VM : 0n), 0n, 0n, 0n, 0n);
    case Sys.wait4: return this.wait4(t, i32(a0), a1, a2);
    case Sys.prctl: return this.prctl(t, i32(a0), a1, a2, a3, a4);
    case Sys.seccomp: return this.doSeccomp(t, Number(a0 & 0xffffffffn), Number(a1 & 0xffffffffn), a2);
    case Sys.ptrace: return this.ptraceSyscall(t, i32(a0), i32(a1), a2, a3);
    case Sys.waitid: return this.waitid(t, i32(a0), i32(a1), a2, Number(a3));
    case Sys.kill: {
      const pid = i32(a0), sig = i32(a1);
      const target = pid === 0 || pid === p.pid ? p : this.findProcess(pid);
      if (!target || !target.alive) return neg(Errno.ESRCH);
      if (sig < 0 || sig > NSIG) return neg(Errno.EINVAL);
      if (sig) this.sendToProcess(target, { signo: sig, code: SI_USER, pid: p.pid, uid: 0 });
      return 0n;
    }
    case Sys.tgkill: case Sys.tkill: {
      const [tgid, tid, sig] = nr === Sys.tkill ? [-1, i32(a0), i32(a1)] : [i32(a0), i32(a1), i32(a2)];
      const target = this.tasks.find((x) => x.tid === tid && (tgid === -1 || x.proc.pid === tgid) && x.state !== TaskState.Dead);
      if (!target) return neg(Errno.ESRCH);
      if (sig < 0 || sig > NSIG) return neg(Errno.EINVAL);
      if (sig) this.sendToThread(target, { signo: sig, code: SI_TKILL, pid: p.pid, uid: 0 });
      return 0n;
    }
    default: return this.unmodelled(nr);
  }
}

/**
 * sys_prlimit64, sys_getrlimit, sys_setrlimit (kernel/sys.c, Linux 6.18): the new limit read first
 * (EFAULT), the target task (prlimit64's pid, 0 for the caller; ESRCH), then do_prlimit
 * (kernel/sys.ts); the old limit written last (EFAULT).
 */
export function prlimit(this: Kernel, t: Task, nr: number, a0: bigint, a1: bigint, a2: bigint, a3: bigint): bigint {
  const m = t.proc.machine;
  const readRlim = (at: bigint): Rlim => ({ cur: m.readU64(at), max: m.readU64(at + 8n) });
  const writeRlim = (at: bigint) => (r: Rlim): void => { m.writeU64(at, r.cur); m.writeU64(at + 8n, r.max); };
  if (nr === Sys.getrlimit) {
    let got: Rlim | undefined;
    const r = do_prlimit(t.proc.rlimits, Number(a0 & 0xffffffffn), undefined, (x) => { got = x; });
    if (r) return neg(-r);
    writeRlim(a1)(got!);
    return 0n;
  }
  if (nr === Sys.setrlimit) {
    const r = do_prlimit(t.proc.rlimits, Number(a0 & 0xffffffffn), readRlim(a1), undefined);
    return r ? neg(-r) : 0n;
  }
  const newRlim = a2 ? readRlim(a2) : undefined;
  const pid = Number(BigInt.asIntN(32, a0));
  const target = pid === 0 ? t : this.tasks.find((x) => x.tid === pid && x.state !== TaskState.Dead);
  if (!target) return neg(Errno.ESRCH);
  let got: Rlim | undefined;
  const r = do_prlimit(target.proc.rlimits, Number(a1 & 0xffffffffn), newRlim, a3 ? (x) => { got = x; } : undefined);
  if (r) return neg(-r);
  if (got) writeRlim(a3)(got);
  return 0n;
}

/**
 * A system call the model lacks: -ENOSYS, as a kernel built without it answers, and one warning
 * per number naming it (src/linux/syscall-table.ts). Rows Linux itself leaves unimplemented
 * (sys_ni_syscall) answer -ENOSYS silently, as Linux does; a number Linux never assigned, or an
 * x32 row, answers -ENOSYS with one warning saying so.
 */
export function unmodelled(this: Kernel, nr: number): bigint {
  const name = syscallName(nr);
  if (name !== undefined && !NOT_IMPLEMENTED_IN_LINUX.has(name) && !this.warned.has(nr)) {
    this.warned.add(nr);
    this.o.stderr(`xstate-lab: warning: system call ${name} (${nr}) is not modelled; it returns -ENOSYS`);
  }
  if (name === undefined && !this.warned.has(nr)) {
    // Linux answers -ENOSYS too; the warning says the number is the guest's mistake, not a gap of the model.
    this.warned.add(nr);
    const what = nr >= X32_FIRST && nr <= X32_LAST ? 'is an x32 row, not a 64-bit system call' : 'is not assigned in Linux 6.18\'s x86-64 table';
    this.o.stderr(`xstate-lab: warning: system call number ${nr} ${what}; it returns -ENOSYS, as Linux does`);
  }
  return neg(Errno.ENOSYS);
}
