/**
 * The CPU-time clocks (kernel/time/posix-cpu-timers.c, Linux 6.18): CLOCK_PROCESS_CPUTIME_ID,
 * CLOCK_THREAD_CPUTIME_ID and the clock ids of other processes and threads
 * (make_process_cpuclock / make_thread_cpuclock, include/linux/posix-timers_types.h: ~pid << 3 |
 * perthread << 2 | which). Their time is kernel/sched/cputime.ts's, the one source of CPU time;
 * PROF, VIRT and SCHED read alike (no system time: assumption `cpu-time-is-instructions`).
 */
import { ClockId, Errno } from '../../abi.js';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import { type Process, type Task, TaskState } from '../../sched.js';

/** CPUCLOCK_WHICH values (include/linux/posix-timers_types.h); CPUCLOCK_MAX is invalid. */
export enum CpuClockWhich { PROF = 0, VIRT = 1, SCHED = 2, MAX = 3 }
const CPUCLOCK_PERTHREAD_MASK = 4;
const CPUCLOCK_CLOCK_MASK = 3;
/**
 * CONFIG_HZ of the modelled kernel: posix_cpu_clock_getres answers TICK_NSEC-like
 * (NSEC_PER_SEC + HZ - 1) / HZ for PROF and VIRT clocks. Named assumption `config-hz-250`:
 * Debian's x86-64 kernels are built with HZ=250 (a guest sees 4 ms); 1 ns for SCHED clocks.
 */
export const CONFIG_HZ = 250n;
const NS_PER_SEC = 1_000_000_000n;

/** What a CPU-time clock id names: a thread's or a process's time. */
export type CpuClockTarget = { thread: Task } | { process: Process };

/** CLOCKFD and CLOCKFD_MASK (include/linux/posix-timers.h): a negative id whose low 3 bits are 3 names a dynamic clock by descriptor. */
const CLOCKFD = 3;
const CLOCKFD_MASK = 7;

/**
 * A dynamic clock id (clockid_to_kclock: clock_posix_dynamic, fd = ~id >> 3). The model has no
 * posix clock devices (PTP), so get_clock_desc fails: clock_gettime and clock_getres -EINVAL,
 * timer_create -EOPNOTSUPP (the k_clock has no timer_create).
 */
export function isDynamicClock(clock: number): boolean {
  return clock < 0 && (clock & CLOCKFD_MASK) === CLOCKFD;
}

/** Whether `clock` is a CPU-time clock id (negative ids other than dynamic clocks, and the two fixed ones). */
export function isCpuClock(clock: number): boolean {
  return (clock < 0 && !isDynamicClock(clock)) || clock === ClockId.PROCESS_CPUTIME_ID || clock === ClockId.THREAD_CPUTIME_ID;
}

/**
 * lookup_task (posix-cpu-timers.c): pid 0 is the caller (its thread, or its process); a thread
 * clock must name a thread of the caller's group; a process clock must name a thread-group
 * leader (has_group_leader_pid), except for timers, which take any thread's group. undefined
 * (-EINVAL) otherwise, and for CPUCLOCK_MAX.
 */
export function cpuClockTarget(k: Kernel, t: Task, clock: number, forTimer = false): CpuClockTarget | undefined {
  // The fixed ids 2 and 3 (include/uapi/linux/time.h) are the caller's SCHED clocks of its process and its thread.
  if (clock === ClockId.PROCESS_CPUTIME_ID) return { process: t.proc };
  if (clock === ClockId.THREAD_CPUTIME_ID) return { thread: t };
  if ((clock & CPUCLOCK_CLOCK_MASK) === CpuClockWhich.MAX) return undefined;
  const pid = ~(clock >> 3);
  const perThread = (clock & CPUCLOCK_PERTHREAD_MASK) !== 0;
  if (pid === 0) return perThread ? { thread: t } : { process: t.proc };
  const task = k.tasks.find((x) => x.tid === pid && !x.proc.reaped && (x.state !== TaskState.Dead || (x.tid === x.proc.pid && !x.proc.alive)));
  if (!task) return undefined;
  if (perThread) return task.proc === t.proc ? { thread: task } : undefined;
  if (task.tid !== task.proc.pid && !forTimer) return undefined;
  return { process: task.proc };
}

/** The CPU time a target has used (cpu_clock_sample / cpu_clock_sample_group). */
export function cpuClockSample(target: CpuClockTarget): bigint {
  return 'thread' in target ? target.thread.cpuNs : target.process.cpuNs;
}

/** posix_cpu_clock_getres: 1 ns for SCHED clocks, the tick for PROF and VIRT. */
export function cpuClockRes(clock: number): bigint {
  const which = clock >= 0 ? CpuClockWhich.SCHED : clock & CPUCLOCK_CLOCK_MASK;
  return which === CpuClockWhich.SCHED ? 1n : (NS_PER_SEC + CONFIG_HZ - 1n) / CONFIG_HZ;
}

/**
 * clock_nanosleep on a CPU-time clock (posix_cpu_nsleep, do_cpu_nanosleep): -EINVAL for the
 * caller's own thread clock (CLOCK_THREAD_CPUTIME_ID or its tid: it cannot advance while the
 * thread sleeps) and for an unknown target; else a sleep until the target's CPU time reaches the
 * expiry (absolute, or relative to now). A signal ends it as hrtimer_nanosleep's does: -ERESTARTNOHAND
 * for an absolute sleep; the time left to `rmtp` and -ERESTART_RESTARTBLOCK, restarting to the same
 * expiry, for a relative one. Returns undefined for an immediate EINVAL check passed.
 */
export function cpuNanosleep(k: Kernel, t: Task, clock: number, abs: boolean, ns: bigint, rmtp: bigint): bigint | 'stop' {
  const target = cpuClockTarget(k, t, clock);
  if (!target || ('thread' in target && target.thread === t)) return -BigInt(Errno.EINVAL);
  const expiry = abs ? ns : cpuClockSample(target) + ns;
  const sleep = (): bigint | 'stop' => k.block(t, {
    what: 'clock_nanosleep',
    retry: () => (cpuClockSample(target) >= expiry ? 0n : undefined),
    cpuExpiry: { sample: () => cpuClockSample(target), at: expiry },
    restart: abs ? ERESTARTNOHAND : ERESTART_RESTARTBLOCK,
    interrupted: () => {
      if (abs) return -BigInt(ERESTARTNOHAND);
      if (rmtp) {
        const now = cpuClockSample(target);
        k.writeTimespec(t.proc.machine, rmtp, expiry > now ? expiry - now : 0n, 1n);
      }
      t.restartBlock = sleep;
      return -BigInt(ERESTART_RESTARTBLOCK);
    },
  });
  if (cpuClockSample(target) >= expiry) return 0n;
  return sleep();
}
