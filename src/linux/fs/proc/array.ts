/**
 * /proc/<pid>/status and /proc/<pid>/stat (fs/proc/array.c proc_pid_status / do_task_stat,
 * Linux 6.18), from the model's task and process state alone: never the host's.
 *
 * The line set and order are 6.18's as this machine's kernel prints them (measured: `cat
 * /proc/self/status` on 6.18.44), whatever kernel variant the run models (named assumption
 * `proc-format-6.18`). Values the model does not keep are fixed and named here:
 * - `proc-umask`: Umask 0022 (the model has no umask; the usual login default).
 * - `proc-rss-all-mapped`: every mapped page counts as resident (VmRSS = VmSize, RssAnon the
 *   anonymous part); the model has no page faults to count, so minflt/majflt are 0.
 * - `proc-no-cputime`: utime, stime, starttime and the context-switch counts are 0 (the model
 *   keeps no per-task CPU time).
 * - `proc-speculation`: the Speculation_* lines say what a CPU without those mitigations shows
 *   ("not vulnerable", "unsupported"): the model has no speculation.
 */
import { FIRST_PID, type Process, sigBit, type Task, TaskState } from '../../sched.js';
import { SIG_DFL, SIG_IGN, NSIG, Sig } from '../../abi.js';
import type { Kernel } from '../../kernel.js';
import { MODELLED_NODE } from '../../kernel/sched/affinity.js';
import { Rlimit } from '../../kernel/sys.js';
import { Prot } from '../../../../emulator/unicorn.js';
import { memSizes, processVmas } from './task_mmu.js';

/** TASK_COMM_LEN (include/linux/sched.h): comm holds 15 characters. */
export const TASK_COMM_LEN = 16;
/** The root user's capability sets: CAP_LAST_CAP 40 (CAP_CHECKPOINT_RESTORE, include/uapi/linux/capability.h, 6.18) gives 41 bits. */
const CAP_FULL_SET = (1n << 41n) - 1n;
/** MAX_NUMNODES of the modelled build (CONFIG_NODES_SHIFT = 10, as x86-64 distribution kernels and this machine's: 32 words of Mems_allowed). */
const MODELLED_MAX_NUMNODES = 1024;
/** PF_* flags of a user task as do_task_stat prints task->flags (include/linux/sched.h): PF_RANDOMIZE 0x00400000 (measured: 4194304 on 6.18). */
const PF_RANDOMIZE = 0x00400000;
/** The default priority and nice of a SCHED_OTHER task (task_prio: 120 - MAX_RT_PRIO = 20; nice 0). */
const DEFAULT_PRIO = 20;
/** Umask (assumption `proc-umask`). */
const MODELLED_UMASK = '0022';

/** task->comm: the program's base name cut to 15 bytes (__set_task_comm at exec). */
export function taskComm(p: Process): string {
  const base = p.exe.slice(p.exe.lastIndexOf('/') + 1);
  return Buffer.from(base).subarray(0, TASK_COMM_LEN - 1).toString('latin1');
}

/** get_task_state (fs/proc/array.c): the letter and word of task_state_array. */
export function taskState(k: Kernel, t: Task): string {
  if (!t.proc.alive || t.state === TaskState.Dead) return 'Z (zombie)';
  if (t === k.current) return 'R (running)';
  switch (t.state) {
    case TaskState.Runnable: return 'R (running)';
    case TaskState.Blocked: return 'S (sleeping)';
    case TaskState.Stopped: return 'T (stopped)';
    case TaskState.Traced: return 't (tracing stop)';
  }
}

/**
 * get_nr_threads: signal->nr_threads, which drops a thread when it is released; a group leader
 * that exited stays counted until its group is reaped (delay_group_leader), so a zombie shows 1.
 */
function nrThreads(p: Process): Task[] {
  return p.threads.filter((x) => x.state !== TaskState.Dead || x.tid === p.pid);
}

/** render_sigset_t: 64 signals as 16 hex digits, highest first. */
const sigset = (v: bigint): string => v.toString(16).padStart(NSIG / 4, '0');
/** render_cap_t: 16 hex digits. */
const capset = (v: bigint): string => v.toString(16).padStart(16, '0');

/** collect_sigign_sigcatch: the ignored and caught sets of the process's handlers. */
function sigignCatch(p: Process): { ign: bigint; cgt: bigint } {
  let ign = 0n, cgt = 0n;
  for (let s = 1; s <= NSIG; s++) {
    const h = p.sigactions[s]!.handler;
    if (h === SIG_IGN) ign |= sigBit(s);
    else if (h !== SIG_DFL) cgt |= sigBit(s);
  }
  return { ign, cgt };
}

/** %*pbl of a mask: ranges "0-3,5". */
function cpuList(mask: bigint): string {
  const parts: string[] = [];
  let i = 0;
  while (mask >> BigInt(i)) {
    if ((mask >> BigInt(i)) & 1n) {
      let j = i;
      while ((mask >> BigInt(j + 1)) & 1n) j++;
      parts.push(i === j ? `${i}` : `${i}-${j}`);
      i = j + 1;
    } else i++;
  }
  return parts.join(',');
}

/** %*pb of a mask of `bits` bits: 32-bit hex words, highest first, comma-separated; the top word without leading zeros. */
function bitmapHex(mask: bigint, bits: number): string {
  const words: string[] = [];
  const n = Math.ceil(bits / 32);
  for (let w = n - 1; w >= 0; w--) {
    const v = (mask >> BigInt(32 * w)) & 0xffffffffn;
    const width = w === n - 1 ? Math.ceil((bits - 32 * w) / 4) : 8;
    words.push(v.toString(16).padStart(width, '0'));
  }
  return words.join(',');
}

/** files_fdtable()->max_fds: NR_OPEN_DEFAULT (64), then expand_fdtable's sizes (a power of two of 1 KiB pages of pointers: 128, 256, ...). */
function fdtableSize(p: Process): number {
  const top = Math.max(-1, ...p.files.keys()) + 1;
  const NR_OPEN_DEFAULT = 64;
  if (top <= NR_OPEN_DEFAULT) return NR_OPEN_DEFAULT;
  const perKb = 1024 / 8;
  let n = Math.floor(top / perKb) + 1;
  let pow = 1;
  while (pow < n) pow <<= 1;
  n = pow;
  return n * perKb;
}

/** proc_pid_status (fs/proc/array.c, 6.18) of a task: /proc/<pid>/status and /proc/<pid>/task/<tid>/status. */
export function proc_pid_status(k: Kernel, t: Task): string {
  const p = t.proc;
  const live = nrThreads(p);
  const mem = memSizes(p);
  const { ign, cgt } = sigignCatch(p);
  const pnd = t.pending.reduce((a, x) => a | sigBit(x.info.signo), 0n);
  const kb = (v: bigint): string => `${v.toString().padStart(8, ' ')} kB`;
  const ppid = p.parent?.pid ?? FIRST_PID - 1;
  const lines = [
    `Name:\t${taskComm(p)}`,
    `Umask:\t${MODELLED_UMASK}`,
    `State:\t${taskState(k, t)}`,
    `Tgid:\t${p.pid}`,
    'Ngid:\t0',
    `Pid:\t${t.tid}`,
    `PPid:\t${p.alive ? ppid : 0}`,
    `TracerPid:\t${t.ptrace?.tracer.pid ?? 0}`,
    'Uid:\t0\t0\t0\t0',
    'Gid:\t0\t0\t0\t0',
    `FDSize:\t${fdtableSize(p)}`,
    // task_state: the group list, then a trailing space ("shouldn't have been added in the first place").
    'Groups:\t ',
    `NStgid:\t${p.pid}`,
    `NSpid:\t${t.tid}`,
    `NSpgid:\t${k.init!.pid}`,
    `NSsid:\t${k.init!.pid}`,
    'Kthread:\t0',
    // task_mem, task_core_dumping, task_thp_status and the untag mask: only while the task has an mm (not a zombie).
    ...(p.alive ? [
      `VmPeak:\t${kb(mem.total)}`,
      `VmSize:\t${kb(mem.total)}`,
      `VmLck:\t${kb(0n)}`,
      `VmPin:\t${kb(0n)}`,
      `VmHWM:\t${kb(mem.total)}`,
      `VmRSS:\t${kb(mem.total)}`,
      `RssAnon:\t${kb(mem.total - mem.exec)}`,
      `RssFile:\t${kb(mem.exec)}`,
      `RssShmem:\t${kb(0n)}`,
      `VmData:\t${kb(mem.data)}`,
      `VmStk:\t${kb(mem.stack)}`,
      `VmExe:\t${kb(mem.exec)}`,
      `VmLib:\t${kb(0n)}`,
      `VmPTE:\t${kb(0n)}`,
      `VmSwap:\t${kb(0n)}`,
      `HugetlbPages:\t${kb(0n)}`,
      'CoreDumping:\t0',
      'THP_enabled:\t1',
      // arch_proc_pid_thread_features' neighbour task_untag_mask (CONFIG_ADDRESS_MASKING): no LAM, every bit kept.
      'untag_mask:\t0xffffffffffffffff',
    ] : []),
    `Threads:\t${live.length}`,
    // task_sig: the queued signals (the threads' and the shared queue), then task_rlimit(RLIMIT_SIGPENDING) as %lu.
    `SigQ:\t${live.reduce((a, x) => a + x.pending.length, 0) + p.sharedPending.length}/${p.rlimits[Rlimit.SIGPENDING]!.cur}`,
    `SigPnd:\t${sigset(pnd)}`,
    // task_sig: the process's shared queue (signal->shared_pending), kept since process-directed signals are queued there.
    `ShdPnd:\t${sigset(t.proc.sharedPending.reduce((m, x) => m | sigBit(x.info.signo), 0n))}`,
    `SigBlk:\t${sigset(t.sigmask)}`,
    `SigIgn:\t${sigset(ign)}`,
    `SigCgt:\t${sigset(cgt)}`,
    `CapInh:\t${capset(0n)}`,
    `CapPrm:\t${capset(CAP_FULL_SET)}`,
    `CapEff:\t${capset(CAP_FULL_SET)}`,
    `CapBnd:\t${capset(CAP_FULL_SET)}`,
    `CapAmb:\t${capset(0n)}`,
    // task_seccomp(): no_new_privs, the mode and the filter count (kernel/seccomp.ts).
    `NoNewPrivs:\t${t.noNewPrivs ? 1 : 0}`,
    `Seccomp:\t${t.seccomp.mode}`,
    `Seccomp_filters:\t${t.seccomp.filterCount}`,
    'Speculation_Store_Bypass:\tnot vulnerable',
    'SpeculationIndirectBranch:\tunsupported',
    `Cpus_allowed:\t${bitmapHex(t.cpusMask, k.topo.nrCpuIds)}`,
    `Cpus_allowed_list:\t${cpuList(t.cpusMask)}`,
    `Mems_allowed:\t${bitmapHex(1n << BigInt(MODELLED_NODE), MODELLED_MAX_NUMNODES)}`,
    `Mems_allowed_list:\t${MODELLED_NODE}`,
    'voluntary_ctxt_switches:\t0',
    'nonvoluntary_ctxt_switches:\t0',
  ];
  return `${lines.join('\n')}\n`;
}

/** The state letter do_task_stat prints (the first character of get_task_state). */
const stateLetter = (k: Kernel, t: Task): string => taskState(k, t)[0]!;

/**
 * do_task_stat (fs/proc/array.c, 6.18): the 52 fields of /proc/<pid>/stat (whole group) and
 * /proc/<pid>/task/<tid>/stat. Fields the model does not keep are 0 (assumptions above), and so
 * are start_stack, kstkesp, kstkeip, start_data, end_data and the environment's bounds (not kept:
 * named `proc-stat-zero-addresses`); start_code, end_code, start_brk, arg_start and arg_end are the
 * model's own.
 */
export function do_task_stat(k: Kernel, t: Task, whole: boolean): string {
  const p = t.proc;
  const live = nrThreads(p);
  const mem = memSizes(p);
  const { ign, cgt } = sigignCatch(p);
  const pnd = t.pending.reduce((a, x) => a | sigBit(x.info.signo), 0n);
  const low31 = (v: bigint): bigint => v & 0x7fffffffn;
  // mm->start_code / end_code: the program's executable mapping (load_elf_binary: the PF_X segment).
  const text = processVmas(p).filter((v) => v.file !== undefined && (v.prot & Prot.EXEC) !== 0);
  const startCode = text[0]?.start ?? 0n, endCode = text[text.length - 1]?.end ?? 0n;
  const fields: (string | number | bigint)[] = [
    whole ? p.pid : t.tid, `(${taskComm(p)})`, stateLetter(k, t), p.alive ? p.parent?.pid ?? FIRST_PID - 1 : 0, k.init!.pid, k.init!.pid,
    0, -1, PF_RANDOMIZE, 0, 0, 0, 0, 0, 0, 0, 0, DEFAULT_PRIO, 0, live.length, 0, 0,
    mem.total * 1024n, mem.total * 1024n / 4096n, p.rlimits[Rlimit.RSS]!.cur, startCode, endCode, 0, 0, 0,
    low31(pnd), low31(t.sigmask), low31(ign), low31(cgt), 0, 0, 0, p.exitSignal ?? Sig.SIGCHLD, t.cpu, 0, 0, 0, 0, 0,
    0, 0, p.brkStart, p.argStart, p.argEnd, 0, 0, 0,
  ];
  return `${fields.join(' ')}\n`;
}
