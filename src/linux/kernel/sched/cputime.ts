/**
 * CPU time (kernel/sched/cputime.c, kernel/sys.c getrusage and times, kernel/time/posix-cpu-timers.c
 * check_process_timers' RLIMIT_CPU, Linux 6.18). The one source of the model's CPU time: a task's
 * instructions (named assumption `cpu-time-is-instructions`: NS_PER_INSN virtual ns each, all of it
 * user time, none system time, since the model's kernel takes no time). ITIMER_VIRTUAL/ITIMER_PROF
 * (kernel/time/itimer.ts), the CPU-time clocks and their timers (kernel/time/posix-cpu-timers.ts),
 * getrusage, times and RLIMIT_CPU all read it here.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno, Sig } from '../../abi.js';
import type { Kernel } from '../../kernel.js';
import { neg, Process, Task } from '../../sched.js';
import { SI_KERNEL } from '../signal.js';
import { RLIM_INFINITY, Rlimit } from '../sys.js';

const NS_PER_SEC = 1_000_000_000n;
/** USER_HZ (include/asm-generic/param.h): the unit of times() and AT_CLKTCK. */
const USER_HZ = 100n;
/** getrusage's `who` (include/uapi/linux/resource.h). */
export enum RusageWho { SELF = 0, CHILDREN = -1, THREAD = 1 }
/** sizeof(struct rusage) on x86-64: two timevals and 14 longs. */
const RUSAGE_BYTES = 144;
/** sizeof(struct tms): four clock_t. */
const TMS_BYTES = 32;

/** account_user_time: `ns` of user time for the task, its process (signal->utime and sum_exec_runtime), then RLIMIT_CPU. */
export function account_user_time(this: Kernel, t: Task, ns: bigint): void {
  t.cpuNs += ns;
  t.proc.cpuNs += ns;
  this.checkRlimitCpu(t.proc);
}

/**
 * check_process_timers' RLIMIT_CPU (kernel/time/posix-cpu-timers.c check_rlimit): at the hard
 * limit SIGKILL; at the soft limit SIGXCPU, and the soft limit is raised by one second (while
 * below the hard one), so the signal comes again each second. Both SI_KERNEL (send_signal_locked
 * with SEND_SIG_PRIV).
 */
export function checkRlimitCpu(this: Kernel, p: Process): void {
  const lim = p.rlimits[Rlimit.CPU]!;
  if (lim.cur === RLIM_INFINITY || !p.alive) return;
  if (lim.max !== RLIM_INFINITY && p.cpuNs >= lim.max * NS_PER_SEC) { this.sendToProcess(p, { signo: Sig.SIGKILL, code: SI_KERNEL }); return; }
  if (p.cpuNs >= lim.cur * NS_PER_SEC) {
    this.sendToProcess(p, { signo: Sig.SIGXCPU, code: SI_KERNEL });
    if (lim.cur < lim.max) p.rlimits[Rlimit.CPU] = { cur: lim.cur + 1n, max: lim.max };
  }
}

/** The CPU time left before RLIMIT_CPU acts (bounds a quantum, as a timer's expiry does); undefined when unlimited. */
export function rlimitCpuLeft(p: Process): bigint | undefined {
  const cur = p.rlimits[Rlimit.CPU]!.cur;
  if (cur === RLIM_INFINITY) return undefined;
  const left = cur * NS_PER_SEC - p.cpuNs;
  return left > 0n ? left : 0n;
}

/** wait_task_zombie: a reaped child's CPU time, its own reaped children's included, goes to the parent's cutime. */
export function reapCputime(parent: Process | undefined, child: Process): void {
  if (parent) parent.childrenCpuNs += child.cpuNs + child.childrenCpuNs;
}

/** A timeval (tv_sec, tv_usec) of `ns` into `v` at `off` (ns_to_kernel_old_timeval: whole microseconds). */
function putTimeval(v: DataView, off: number, ns: bigint): void {
  v.setBigInt64(off, ns / NS_PER_SEC, true);
  v.setBigInt64(off + 8, (ns % NS_PER_SEC) / 1000n, true);
}

/**
 * getrusage (kernel/sys.c, 6.18): -EINVAL for another `who`; ru_utime the user time of the thread,
 * the process (its threads alive and gone) or its reaped children; ru_stime 0 (the model's
 * kernel takes no time); the other fields 0 (named assumption `rusage-times-only`: no page
 * faults, context switches or RSS are counted).
 */
export function getrusage(this: Kernel, t: Task, who: number, at: bigint): bigint {
  const ns = who === RusageWho.SELF ? t.proc.cpuNs : who === RusageWho.THREAD ? t.cpuNs : who === RusageWho.CHILDREN ? t.proc.childrenCpuNs : -1n;
  if (ns < 0n) return neg(Errno.EINVAL);
  const b = new Uint8Array(RUSAGE_BYTES);
  putTimeval(new DataView(b.buffer), 0, ns);
  t.proc.machine.write(at, b);
  return 0n;
}

/**
 * times (kernel/sys.c do_sys_times): the process's and its reaped children's user and system time
 * in USER_HZ ticks (nsec_to_clock_t: rounded down), and the return value jiffies_64_to_clock_t of
 * now: here the virtual CLOCK_BOOTTIME in ticks (named assumption `times-from-boot`: Linux's
 * jiffies start at INITIAL_JIFFIES, 5 minutes before the wrap, so its value is the host's own).
 */
export function times(this: Kernel, t: Task, at: bigint, bootNs: bigint): bigint {
  if (at) {
    const b = new Uint8Array(TMS_BYTES);
    const v = new DataView(b.buffer);
    v.setBigInt64(0, t.proc.cpuNs / (NS_PER_SEC / USER_HZ), true);
    v.setBigInt64(16, t.proc.childrenCpuNs / (NS_PER_SEC / USER_HZ), true);
    t.proc.machine.write(at, b);
  }
  return bootNs / (NS_PER_SEC / USER_HZ);
}
