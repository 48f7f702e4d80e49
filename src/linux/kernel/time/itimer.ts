/**
 * Interval timers (kernel/time/itimer.c, Linux 6.18: getitimer, setitimer, alarm) on the virtual
 * clock. ITIMER_REAL counts the virtual clock and sends SIGALRM (it_real_fn); ITIMER_VIRTUAL and
 * ITIMER_PROF count the process's CPU time, which is its instructions (named assumption
 * `cpu-time-is-instructions`: no time is spent in the kernel, so both count alike), and send
 * SIGVTALRM and SIGPROF. Expiry is checked between scheduling quanta, and a quantum never runs
 * past the next expiry, so a timer fires at the same instruction on every run. Not inherited by
 * fork, kept across execve.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno, Sig } from '../../abi.js';
import type { Kernel } from '../../kernel.js';
import { neg, Process, Task } from '../../sched.js';
import { SI_KERNEL } from '../signal.js';
import { NS_PER_INSN } from './posix-timers.js';
import { rlimitCpuLeft } from '../sched/cputime.js';

/** The timers (include/uapi/linux/time.h ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF) and their signals. */
export enum Itimer { REAL = 0, VIRTUAL = 1, PROF = 2 }
const ITIMER_SIGNAL: Record<Itimer, Sig> = { [Itimer.REAL]: Sig.SIGALRM, [Itimer.VIRTUAL]: Sig.SIGVTALRM, [Itimer.PROF]: Sig.SIGPROF };
/** sizeof(struct itimerval): it_interval then it_value, each a timeval of two longs. */
const ITIMERVAL_BYTES = 32n;
const NS_PER_USEC = 1000n;
const USEC_PER_SEC = 1_000_000n;

/**
 * One timer of a process: `value` is the virtual-clock expiry for ITIMER_REAL and the CPU time
 * left for the others (0n: disarmed); `interval` reloads it.
 */
export interface ItimerState { value: bigint; interval: bigint }

/** Read a struct timeval as ns; undefined when invalid (timeval_valid: usec in [0, 1e6), sec >= 0). */
function readTimeval(t: Task, at: bigint): bigint | undefined {
  const m = t.proc.machine;
  const sec = BigInt.asIntN(64, m.readU64(at)), usec = BigInt.asIntN(64, m.readU64(at + 8n));
  if (sec < 0n || usec < 0n || usec >= USEC_PER_SEC) return undefined;
  return sec * 1_000_000_000n + usec * NS_PER_USEC;
}

/** What getitimer reports: the interval and the time left (ITIMER_REAL: at least 1 us while armed, itimer_get_remtime). */
export function itimerGet(this: Kernel, p: Process, which: Itimer): { value: bigint; interval: bigint } {
  const it = p.itimers[which]!;
  if (!it.value) return { value: 0n, interval: it.interval };
  if (which !== Itimer.REAL) return { value: it.value, interval: it.interval };
  const left = it.value - this.clockNs;
  return { value: left > 0n ? left : NS_PER_USEC, interval: it.interval };
}

function writeItimerval(t: Task, at: bigint, v: { value: bigint; interval: bigint }): void {
  const b = new Uint8Array(Number(ITIMERVAL_BYTES));
  const d = new DataView(b.buffer);
  // ns_to_timeval: whole microseconds.
  const put = (off: number, ns: bigint): void => { d.setBigUint64(off, ns / 1_000_000_000n, true); d.setBigUint64(off + 8, (ns % 1_000_000_000n) / NS_PER_USEC, true); };
  put(0, v.interval);
  put(16, v.value);
  t.proc.machine.write(at, b);
}

/** do_setitimer: arm (value > 0) or disarm one timer; `old` gets what it was. */
export function itimerSet(this: Kernel, p: Process, which: Itimer, value: bigint, interval: bigint): { value: bigint; interval: bigint } {
  const old = this.itimerGet(p, which);
  const it = p.itimers[which]!;
  it.interval = interval;
  it.value = value ? (which === Itimer.REAL ? this.clockNs + value : value) : 0n;
  return old;
}

/** sys_getitimer. */
export function getitimer(this: Kernel, t: Task, which: number, at: bigint): bigint {
  if (which !== Itimer.REAL && which !== Itimer.VIRTUAL && which !== Itimer.PROF) return neg(Errno.EINVAL);
  writeItimerval(t, at, this.itimerGet(t.proc, which));
  return 0n;
}

/** sys_setitimer: a NULL new value disarms (as 6.18 accepts it); -EINVAL for a bad timer or timeval. */
export function setitimer(this: Kernel, t: Task, which: number, nv: bigint, ov: bigint): bigint {
  if (which !== Itimer.REAL && which !== Itimer.VIRTUAL && which !== Itimer.PROF) return neg(Errno.EINVAL);
  let value = 0n, interval = 0n;
  if (nv) {
    const i = readTimeval(t, nv), v = readTimeval(t, nv + 16n);
    if (i === undefined || v === undefined) return neg(Errno.EINVAL);
    interval = i;
    value = v;
  }
  const old = this.itimerSet(t.proc, which, value, interval);
  if (ov) writeItimerval(t, ov, old);
  return 0n;
}

/** alarm_setitimer: ITIMER_REAL for whole seconds; the seconds left of the old one, rounded to nearest (at least 1 if any time was left). */
export function alarm(this: Kernel, t: Task, seconds: bigint): bigint {
  const old = this.itimerSet(t.proc, Itimer.REAL, (seconds & 0xffffffffn) * 1_000_000_000n, 0n);
  const usec = old.value / NS_PER_USEC;
  let sec = usec / USEC_PER_SEC;
  const rem = usec % USEC_PER_SEC;
  if ((!sec && rem) || rem >= USEC_PER_SEC / 2n) sec++;
  return sec;
}

/** The virtual-clock time of the next ITIMER_REAL expiry of any live process, if one is armed. */
export function nextRealExpiry(this: Kernel): bigint | undefined {
  let first: bigint | undefined;
  for (const p of new Set(this.tasks.map((x) => x.proc))) {
    if (!p.alive) continue;
    const v = p.itimers[Itimer.REAL]!.value;
    if (v && (first === undefined || v < first)) first = v;
  }
  // POSIX timers run on the same clock (kernel/time/posix-timers.ts).
  const posix = this.posixTimerNextExpiry();
  if (posix !== undefined && (first === undefined || posix < first)) first = posix;
  // And timerfds (fs/timerfd.ts).
  const tfd = this.timerfdNextExpiry();
  if (tfd !== undefined && (first === undefined || tfd < first)) first = tfd;
  return first;
}

/** How many instructions the running task may run before one of its timers is due (undefined: none armed). */
export function insnsToNextTimer(this: Kernel, t: Task): bigint | undefined {
  const real = this.nextRealExpiry();
  let ns: bigint | undefined = real === undefined ? undefined : (real > this.clockNs ? real - this.clockNs : 0n);
  for (const which of [Itimer.VIRTUAL, Itimer.PROF]) {
    const v = t.proc.itimers[which]!.value;
    if (v && (ns === undefined || v < ns)) ns = v;
  }
  // CPU-time timers and RLIMIT_CPU count the CPU time this task runs (kernel/sched/cputime.ts).
  for (const v of [this.cpuTimerNsLeft(t), rlimitCpuLeft(t.proc)]) if (v !== undefined && (ns === undefined || v < ns)) ns = v;
  if (ns === undefined) return undefined;
  const n = (ns + NS_PER_INSN - 1n) / NS_PER_INSN;
  return n > 0n ? n : 1n;
}

/**
 * After a quantum: the running process's CPU timers count down by the time it ran, and every
 * due timer sends its signal to its process (SI_KERNEL) and reloads (it_real_fn, check_cpu_itimer).
 */
export function runItimers(this: Kernel, ran: Task | undefined, cpuNs: bigint): void {
  if (ran && ran.proc.alive) {
    for (const which of [Itimer.VIRTUAL, Itimer.PROF]) {
      const it = ran.proc.itimers[which]!;
      if (!it.value) continue;
      it.value -= cpuNs;
      if (it.value > 0n) continue;
      this.sendToProcess(ran.proc, { signo: ITIMER_SIGNAL[which], code: SI_KERNEL });
      it.value = it.interval ? it.value + it.interval : 0n;
      if (it.interval && it.value <= 0n) it.value = it.interval;
    }
  }
  const seen = new Set<Process>();
  for (const x of this.tasks) {
    const p = x.proc;
    if (seen.has(p) || !p.alive) continue;
    seen.add(p);
    const it = p.itimers[Itimer.REAL]!;
    if (!it.value || it.value > this.clockNs) continue;
    this.sendToProcess(p, { signo: Sig.SIGALRM, code: SI_KERNEL });
    // hrtimer_forward(): the next expiry after now, in whole intervals.
    if (it.interval) { while (it.value <= this.clockNs) it.value += it.interval; } else it.value = 0n;
  }
  this.runPosixTimers();
  this.runTimerfds();
}
