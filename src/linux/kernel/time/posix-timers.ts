/**
 * Clocks and POSIX timers (kernel/time/posix-timers.c, Linux 6.18) on the virtual clock: time
 * advances with the instructions run, never with the host's clock; a timer fires between
 * scheduling quanta, and a quantum never runs past the next expiry (kernel/time/itimer.ts).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Machine } from '../../../../emulator/machine.js';
import { ClockId, Errno, Sig } from '../../abi.js';
import type { Kernel } from '../../kernel.js';
import { neg, TaskState, Task } from '../../sched.js';
import type { SigInfo } from '../../signal-frame.js';
import { cpuClockSample, cpuClockTarget, isCpuClock, isDynamicClock, type CpuClockTarget } from './posix-cpu-timers.js';

/** Virtual clock start: 2026-01-01T00:00:00Z, in ns since the epoch. */
export const CLOCK_EPOCH_NS = 1_767_225_600n * 1_000_000_000n;
/** Virtual nanoseconds each instruction takes, and each clock read. */
export const NS_PER_INSN = 1n;
export const NS_PER_CLOCK_READ = 1000n;

export function readClock(this: Kernel, id: number): bigint {
  this.clockNs += NS_PER_CLOCK_READ;
  switch (id as ClockId) {
    case ClockId.REALTIME: case ClockId.REALTIME_COARSE: return this.clockNs;
    case ClockId.MONOTONIC: case ClockId.MONOTONIC_RAW: case ClockId.MONOTONIC_COARSE: case ClockId.BOOTTIME: return this.clockNs - CLOCK_EPOCH_NS;
    default: return -1n;
  }
}

export function writeTimespec(this: Kernel, m: Machine, addr: bigint, ns: bigint, unit: bigint): void {
  m.writeU64(addr, ns / 1_000_000_000n);
  m.writeU64(addr + 8n, (ns % 1_000_000_000n) / unit);
}

export function readTimespec(this: Kernel, m: Machine, addr: bigint): bigint {
  return m.readU64(addr) * 1_000_000_000n + m.readU64(addr + 8n);
}

/** sigev_notify values (include/uapi/asm-generic/siginfo.h): SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD (a library's; the kernel signals the process), SIGEV_THREAD_ID. */
export enum SigevNotify { SIGNAL = 0, NONE = 1, THREAD = 2, THREAD_ID = 4 }
/** sizeof(struct sigevent) (include/uapi/asm-generic/siginfo.h SIGEV_MAX_SIZE) and its fields: sigev_value 0, sigev_signo 8, sigev_notify 12, _tid 16. */
const SIGEVENT_BYTES = 64;
/** sizeof(struct itimerspec): it_interval then it_value, two timespecs. */
const ITIMERSPEC_BYTES = 32;
/** TIMER_ABSTIME (include/uapi/linux/time.h). */
const TIMER_ABSTIME = 1;
/** SI_TIMER (include/uapi/asm-generic/siginfo.h). */
export const SI_TIMER = -2;
/** _NSIG: sigev_signo must be in [1, SIGRTMAX]. */
const SIGRTMAX = 64;
/** DELAYTIMER_MAX (include/linux/posix-timers.h): an overrun count is clamped to INT_MAX. */
const DELAYTIMER_MAX = 0x7fffffff;
const NS_PER_SEC = 1_000_000_000n;

/**
 * A POSIX timer (struct k_itimer): `expiry` on the kernel's virtual clock (0: not armed), the
 * interval, and the signal it queues. `queued` (POSIX_TIMER_REQUEUE_PENDING): the signal of the
 * expiry `queuedAt` waits to be taken; the timer is rearmed then. `seq` (it_signal_seq): a
 * signal queued before a settime or delete is dropped when taken.
 */
export interface PosixTimer {
  id: number; clock: ClockId; notify: SigevNotify; signo: number; value: bigint; target: Task | undefined;
  expiry: bigint; interval: bigint; queued: boolean; queuedAt: bigint; overrunLast: number; seq: number;
  /** A timer on a CPU-time clock (kernel/time/posix-cpu-timers.ts): whose CPU time it counts; its expiry is in that time. */
  cpu?: CpuClockTarget;
}

/** The time of the timer's clock: the virtual clock, or the CPU time of a CPU-time clock's target. */
export function timerNow(k: Kernel, timer: PosixTimer): bigint {
  return timer.cpu ? cpuClockSample(timer.cpu) : k.clockNs;
}

/** The clocks with timers: their offset from the virtual clock (CLOCK_REALTIME counts from the epoch). */
export const TIMER_CLOCKS: Partial<Record<ClockId, bigint>> = { [ClockId.REALTIME]: 0n, [ClockId.MONOTONIC]: CLOCK_EPOCH_NS, [ClockId.BOOTTIME]: CLOCK_EPOCH_NS };
/** Clocks whose k_clock has no timer_create (kernel/time/posix-timers.c clock_monotonic_raw, clock_*_coarse): -EOPNOTSUPP. */
const NO_TIMER_CLOCKS: ReadonlySet<number> = new Set([ClockId.MONOTONIC_RAW, ClockId.REALTIME_COARSE, ClockId.MONOTONIC_COARSE]);

/**
 * timer_create (do_timer_create, good_sigevent): -EINVAL for an unknown clock, -EOPNOTSUPP for
 * one without timers; the id is the process's next (allocated before the sigevent is checked, so
 * a refused sigevent uses one up); no sigevent means SIGEV_SIGNAL with SIGALRM and the id as
 * value; SIGEV_THREAD_ID names a thread of the caller's process; a signal in [1, 64]. A CPU-time
 * clock (posix_cpu_timer_create) counts its thread's or process's CPU time (-EINVAL when
 * lookup_task finds none); its signal goes to the caller's process, or the SIGEV_THREAD_ID thread.
 */
export function timerCreate(this: Kernel, t: Task, clock: number, sevp: bigint, idp: bigint): bigint {
  const p = t.proc;
  let cpu: CpuClockTarget | undefined;
  if (isDynamicClock(clock)) return neg(Errno.EOPNOTSUPP);
  if (isCpuClock(clock)) {
    cpu = cpuClockTarget(this, t, clock, true);
    if (!cpu) return neg(Errno.EINVAL);
  } else if (NO_TIMER_CLOCKS.has(clock)) return neg(Errno.EOPNOTSUPP);
  else if (TIMER_CLOCKS[clock as ClockId] === undefined) return neg(Errno.EINVAL);
  const m = p.machine;
  const ev = sevp ? new DataView(m.read(sevp, SIGEVENT_BYTES).buffer) : undefined;
  const id = p.nextTimerId++;
  const timer: PosixTimer = {
    id, clock: clock as ClockId, notify: SigevNotify.SIGNAL, signo: Sig.SIGALRM, value: BigInt(id), target: undefined,
    expiry: 0n, interval: 0n, queued: false, queuedAt: 0n, overrunLast: 0, seq: 0, ...(cpu ? { cpu } : {}),
  };
  if (ev) {
    timer.value = ev.getBigUint64(0, true);
    timer.signo = ev.getInt32(8, true);
    timer.notify = ev.getInt32(12, true);
    if (timer.notify === SigevNotify.THREAD_ID) {
      const tid = ev.getInt32(16, true);
      timer.target = p.threads.find((x) => x.tid === tid && x.state !== TaskState.Dead);
      if (!timer.target) return neg(Errno.EINVAL);
    } else if (timer.notify !== SigevNotify.SIGNAL && timer.notify !== SigevNotify.THREAD && timer.notify !== SigevNotify.NONE) return neg(Errno.EINVAL);
    if (timer.notify !== SigevNotify.NONE && (timer.signo <= 0 || timer.signo > SIGRTMAX)) return neg(Errno.EINVAL);
  }
  m.writeU32(idp, id);
  p.posixTimers.set(id, timer);
  return 0n;
}

/** A struct itimerspec: interval, value (ns); undefined when a timespec is invalid (timespec64_valid). */
export function readItimerspec(m: Machine, at: bigint): { interval: bigint; value: bigint } | undefined {
  const v = new DataView(m.read(at, ITIMERSPEC_BYTES).buffer);
  const ts = (o: number): bigint | undefined => {
    const sec = v.getBigInt64(o, true), nsec = v.getBigInt64(o + 8, true);
    return sec < 0n || nsec < 0n || nsec >= NS_PER_SEC ? undefined : sec * NS_PER_SEC + nsec;
  };
  const interval = ts(0), value = ts(16);
  return interval === undefined || value === undefined ? undefined : { interval, value };
}

export function writeItimerspec(m: Machine, at: bigint, interval: bigint, value: bigint): void {
  const b = new Uint8Array(ITIMERSPEC_BYTES);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, interval / NS_PER_SEC, true); v.setBigInt64(8, interval % NS_PER_SEC, true);
  v.setBigInt64(16, value / NS_PER_SEC, true); v.setBigInt64(24, value % NS_PER_SEC, true);
  m.write(at, b);
}

/**
 * common_timer_get(): the interval, and the time to the next expiry; an interval timer whose signal
 * waits (or a SIGEV_NONE one) is moved forward past now first; a fired one-shot reads 0, a due
 * one whose signal is not yet taken 1 ns, an expired SIGEV_NONE one-shot 0.
 */
function timerGet(k: Kernel, timer: PosixTimer): { interval: bigint; value: bigint } {
  const none = timer.notify === SigevNotify.NONE;
  if (!timer.interval && !timer.expiry) return { interval: 0n, value: 0n };
  let exp = timer.queued ? timer.queuedAt : timer.expiry;
  const now = timerNow(k, timer);
  if (timer.interval && (timer.queued || none) && exp <= now) {
    exp += ((now - exp) / timer.interval + 1n) * timer.interval;
    if (none) timer.expiry = exp;
  }
  const remaining = exp - now;
  return { interval: timer.interval, value: remaining > 0n ? remaining : none ? 0n : 1n };
}

/** timer_gettime (do_timer_gettime): -EINVAL for no such timer. */
export function timerGettime(this: Kernel, t: Task, id: number, at: bigint): bigint {
  const timer = t.proc.posixTimers.get(id);
  if (!timer) return neg(Errno.EINVAL);
  const cur = timerGet(this, timer);
  writeItimerspec(t.proc.machine, at, cur.interval, cur.value);
  return 0n;
}

/**
 * timer_settime (do_timer_settime, common_timer_set): -EINVAL for no such timer or a bad time; the
 * old setting first; a zero value disarms; the expiry is relative, or absolute on the timer's
 * clock with TIMER_ABSTIME (one in the past fires at once). A signal already queued is dropped
 * when taken (it_signal_seq).
 */
export function timerSettime(this: Kernel, t: Task, id: number, flags: number, nv: bigint, ov: bigint): bigint {
  const timer = t.proc.posixTimers.get(id);
  const m = t.proc.machine;
  if (!timer || !nv) return neg(Errno.EINVAL);
  const spec = readItimerspec(m, nv);
  if (!spec) return neg(Errno.EINVAL);
  if (ov) { const old = timerGet(this, timer); writeItimerspec(m, ov, old.interval, old.value); }
  timer.seq++;
  timer.queued = false;
  timer.interval = spec.interval;
  timer.overrunLast = 0;
  if (!spec.value) { timer.expiry = 0n; return 0n; }
  const abs = (flags & TIMER_ABSTIME) !== 0;
  const exp = abs ? spec.value + (timer.cpu ? 0n : TIMER_CLOCKS[timer.clock]!) : timerNow(this, timer) + spec.value;
  timer.expiry = exp > 0n ? exp : 1n;
  return 0n;
}

/** timer_getoverrun: the overrun of the last signal taken (it_overrun_last, at most DELAYTIMER_MAX). */
export function timerGetoverrun(this: Kernel, t: Task, id: number): bigint {
  const timer = t.proc.posixTimers.get(id);
  if (!timer) return neg(Errno.EINVAL);
  return BigInt(Math.min(timer.overrunLast, DELAYTIMER_MAX));
}

/** timer_delete: -EINVAL for no such timer; a queued signal of it is dropped when taken. */
export function timerDelete(this: Kernel, t: Task, id: number): bigint {
  const timer = t.proc.posixTimers.get(id);
  if (!timer) return neg(Errno.EINVAL);
  timer.seq++;
  t.proc.posixTimers.delete(id);
  return 0n;
}

/** The next expiry of any armed timer that queues a signal (SIGEV_NONE ones never fire; one whose signal waits is rearmed only when it is taken). */
export function posixTimerNextExpiry(this: Kernel): bigint | undefined {
  let first: bigint | undefined;
  for (const p of new Set(this.tasks.map((x) => x.proc))) {
    if (!p.alive) continue;
    for (const timer of p.posixTimers.values()) {
      if (!timer.expiry || timer.queued || timer.notify === SigevNotify.NONE || timer.cpu) continue;
      if (first === undefined || timer.expiry < first) first = timer.expiry;
    }
  }
  return first;
}

/** The CPU time the running task may use before a CPU-time timer counting it (its thread's or its process's) is due. */
export function cpuTimerNsLeft(this: Kernel, t: Task): bigint | undefined {
  let first: bigint | undefined;
  for (const p of new Set(this.tasks.map((x) => x.proc))) {
    if (!p.alive) continue;
    for (const timer of p.posixTimers.values()) {
      const c = timer.cpu;
      if (!c || !timer.expiry || timer.queued || timer.notify === SigevNotify.NONE) continue;
      if (!('thread' in c ? c.thread === t : c.process === t.proc)) continue;
      const left = timer.expiry - cpuClockSample(c);
      const v = left > 0n ? left : 0n;
      if (first === undefined || v < first) first = v;
    }
  }
  return first;
}

/**
 * posix_timer_fn() for every due timer: the signal (si_code SI_TIMER, si_timerid, si_value) to the
 * process or, with SIGEV_THREAD_ID, the thread. When it is taken (posixtimer_deliver_signal), an
 * interval timer is forwarded past now and si_overrun counts the expiries missed meanwhile
 * (hrtimer_forward - 1); a signal of an earlier setting is dropped.
 */
export function runPosixTimers(this: Kernel): void {
  for (const p of new Set(this.tasks.map((x) => x.proc))) {
    if (!p.alive) continue;
    for (const timer of p.posixTimers.values()) {
      if (!timer.expiry || timer.queued || timer.notify === SigevNotify.NONE || timer.expiry > timerNow(this, timer)) continue;
      const at = timer.expiry;
      const seq = timer.seq;
      if (timer.interval) { timer.queued = true; timer.queuedAt = at; }
      timer.expiry = timer.interval ? at : 0n;
      const onDequeue = (info: SigInfo): SigInfo | undefined => {
        if (timer.seq !== seq || !p.posixTimers.has(timer.id)) return undefined;
        let overrun = 0n;
        if (timer.interval && timer.queued) {
          overrun = (timerNow(this, timer) - at) / timer.interval;
          timer.expiry = at + (overrun + 1n) * timer.interval;
          timer.queued = false;
        }
        timer.overrunLast = Number(overrun > BigInt(DELAYTIMER_MAX) ? BigInt(DELAYTIMER_MAX) : overrun);
        return { ...info, overrun: timer.overrunLast };
      };
      const info: SigInfo = { signo: timer.signo, code: SI_TIMER, timerid: timer.id, overrun: 0, value: timer.value };
      if (timer.notify === SigevNotify.THREAD_ID && timer.target) this.sendToThread(timer.target, info, false, onDequeue);
      else this.sendToProcess(p, info, onDequeue);
    }
  }
}
