/**
 * kernel/sys.c: do_sysinfo() and the layout of `struct sysinfo` (include/uapi/linux/sysinfo.h,
 * x86-64). Behaviour read from the kernel source; no kernel code copied.
 *
 * The sandbox models no physical memory, swap or load: what the call reports of them is a named
 * assumption (below), the same on every host, so that a program's output never depends on the
 * machine running the sandbox.
 */

import { Errno } from '../abi.js';
import type { Kernel } from '../kernel.js';
import type { Task } from '../sched.js';
import { SeccompMode, SeccompOp } from './seccomp.js';

/** struct sysinfo on x86-64: 112 bytes (uapi/linux/sysinfo.h; `_f` pads to 64 bytes of tail). */
export const SYSINFO_SIZE = 112;
/** Field offsets (x86-64: longs are 8 bytes; `procs` is u16 followed by u16 pad and u32 pad). */
const OFF = {
  uptime: 0, loads: 8, totalram: 32, freeram: 40, sharedram: 48, bufferram: 56, totalswap: 64,
  freeswap: 72, procs: 80, totalhigh: 88, freehigh: 96, memUnit: 104,
} as const;

/**
 * Assumption `modelled-ram`: the modelled machine has 8 GiB of RAM, all free, no swap, no shared
 * or buffer memory, no high memory, and load averages 0 (nothing runs but the sandbox's tasks, and
 * the model keeps no load average). mem_unit 1: byte units, as do_sysinfo leaves it when the
 * totals fit in an unsigned long.
 */
export const MODELLED_TOTALRAM_BYTES = 8n << 30n;
const MEM_UNIT = 1;

/**
 * do_sysinfo(): uptime is CLOCK_BOOTTIME in whole seconds, rounded up when there is a fraction
 * (kernel/sys.c adds one second when tv_nsec is nonzero); procs is the number of threads
 * (nr_threads), here the live tasks of the sandbox.
 */
export function do_sysinfo(bootNs: bigint, liveTasks: number): Uint8Array {
  const b = new Uint8Array(SYSINFO_SIZE);
  const v = new DataView(b.buffer);
  const NS_PER_S = 1_000_000_000n;
  const uptime = bootNs / NS_PER_S + (bootNs % NS_PER_S !== 0n ? 1n : 0n);
  v.setBigInt64(OFF.uptime, uptime, true);
  // loads[3] stay 0 (assumption above).
  v.setBigUint64(OFF.totalram, MODELLED_TOTALRAM_BYTES, true);
  v.setBigUint64(OFF.freeram, MODELLED_TOTALRAM_BYTES, true);
  // sharedram, bufferram, totalswap, freeswap, totalhigh, freehigh stay 0.
  v.setUint16(OFF.procs, Math.min(liveTasks, 0xffff), true);
  v.setUint32(OFF.memUnit, MEM_UNIT, true);
  return b;
}

// ------------------------------------------------------------------ resource limits

/** Resource numbers (include/uapi/asm-generic/resource.h); RLIM_NLIMITS is one past the last. */
export enum Rlimit { CPU = 0, FSIZE, DATA, STACK, CORE, RSS, NPROC, NOFILE, MEMLOCK, AS, LOCKS, SIGPENDING, MSGQUEUE, NICE, RTPRIO, RTTIME }
export const RLIM_NLIMITS = 16;
/** RLIM_INFINITY (include/uapi/asm-generic/resource.h): ~0UL. */
export const RLIM_INFINITY = (1n << 64n) - 1n;
/** _STK_LIM (include/uapi/linux/resource.h): the default RLIMIT_STACK soft limit, 8 MiB. */
export const STK_LIM = 8n << 20n;
/** INR_OPEN_CUR / INR_OPEN_MAX (include/uapi/linux/fs.h): RLIMIT_NOFILE's defaults. */
export const INR_OPEN_CUR = 1024n;
export const INR_OPEN_MAX = 4096n;
/** sysctl_nr_open (fs/file.c, default 1024 * 1024): do_prlimit's EPERM bound for RLIMIT_NOFILE. */
const NR_OPEN = 1024n * 1024n;

export interface Rlim { cur: bigint; max: bigint }

/**
 * The limits a process starts with. STACK and NOFILE as INIT_RLIMITS (include/asm-generic/resource.h)
 * gives them. Assumption `rlimits-unlimited`: the other resources read as RLIM_INFINITY (what a
 * shell that raised them passes on; the model enforces none of them), as the model answered before.
 */
export function initRlimits(): Rlim[] {
  return Array.from({ length: RLIM_NLIMITS }, (_, r) =>
    r === Rlimit.STACK ? { cur: STK_LIM, max: RLIM_INFINITY }
      : r === Rlimit.NOFILE ? { cur: INR_OPEN_CUR, max: INR_OPEN_MAX }
        : { cur: RLIM_INFINITY, max: RLIM_INFINITY });
}

/**
 * do_prlimit (kernel/sys.c, Linux 6.18): EINVAL for a resource past RLIM_NLIMITS or a soft limit
 * above the hard one, EPERM for RLIMIT_NOFILE above sysctl_nr_open or a raised hard limit without
 * CAP_SYS_RESOURCE (the model's tasks run as root and have it); the old value, then the new one.
 * Returns 0 or a negative errno.
 */
export function do_prlimit(rlim: Rlim[], resource: number, newRlim: Rlim | undefined, old: ((r: Rlim) => void) | undefined, capSysResource = true): number {
  if (resource < 0 || resource >= RLIM_NLIMITS) return -Errno.EINVAL;
  if (newRlim) {
    if (newRlim.cur > newRlim.max) return -Errno.EINVAL;
    if (resource === Rlimit.NOFILE && newRlim.max > NR_OPEN) return -Errno.EPERM;
  }
  const cur = rlim[resource]!;
  if (newRlim && newRlim.max > cur.max && !capSysResource) return -Errno.EPERM;
  if (old) old({ ...cur });
  if (newRlim) rlim[resource] = { ...newRlim };
  return 0;
}

/** prctl options the model answers (include/uapi/linux/prctl.h). */
export enum PrctlOption { PR_GET_SECCOMP = 21, PR_SET_SECCOMP = 22, PR_SET_NO_NEW_PRIVS = 38, PR_GET_NO_NEW_PRIVS = 39 }

/**
 * sys_prctl (kernel/sys.c, Linux 6.18) for the options above: no_new_privs (set only to 1, the
 * other arguments 0; read with every argument 0), PR_GET_SECCOMP (the mode) and PR_SET_SECCOMP
 * (prctl_set_seccomp: strict mode ignores the third argument, filter mode takes it as the
 * program; flags 0). Any other option answers -EINVAL, as Linux does for an option it lacks, with
 * one warning naming it.
 */
export function prctl(this: Kernel, t: Task, option: number, a2: bigint, a3: bigint, a4: bigint, a5: bigint): bigint {
  switch (option as PrctlOption) {
    case PrctlOption.PR_SET_NO_NEW_PRIVS:
      if (a2 !== 1n || a3 || a4 || a5) return -BigInt(Errno.EINVAL);
      t.noNewPrivs = true;
      return 0n;
    case PrctlOption.PR_GET_NO_NEW_PRIVS:
      if (a2 || a3 || a4 || a5) return -BigInt(Errno.EINVAL);
      return t.noNewPrivs ? 1n : 0n;
    case PrctlOption.PR_GET_SECCOMP: return BigInt(t.seccomp.mode);
    case PrctlOption.PR_SET_SECCOMP:
      if (a2 === BigInt(SeccompMode.STRICT)) return this.doSeccomp(t, SeccompOp.SET_MODE_STRICT, 0, 0n);
      if (a2 === BigInt(SeccompMode.FILTER)) return this.doSeccomp(t, SeccompOp.SET_MODE_FILTER, 0, a3);
      return -BigInt(Errno.EINVAL);
    default:
      if (!this.ptraceWarned.has(`prctl-${option}`)) {
        this.ptraceWarned.add(`prctl-${option}`);
        this.o.stderr(`xstate-lab: warning: prctl option ${option} is not modelled; it returns -EINVAL, as Linux does for an option it lacks`);
      }
      return -BigInt(Errno.EINVAL);
  }
}
