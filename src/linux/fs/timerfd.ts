/**
 * timerfd (fs/timerfd.c, Linux 6.18): a timer on CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME
 * (and their _ALARM forms) whose expiries are read as a count, on the kernel's virtual clock.
 * An expiry (timerfd_triggered) counts one tick and wakes the queue with EPOLLIN; an interval
 * timer is not rearmed then but moved past now when the count is read or the time asked
 * (hrtimer_forward_now), its missed periods added to the count: one wakeup per read, as Linux.
 * Not modelled: TFD_TIMER_CANCEL_ON_SET's -ECANCELED (the model's realtime clock is never set),
 * TFD_IOC_SET_TICKS (-ENOTTY), the _ALARM clocks' suspend wakeups (they run as their base clocks).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { ClockId, Errno, O_CLOEXEC, O_NONBLOCK, Poll } from '../abi.js';
import { ERESTARTSYS } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { wake_up_poll, WaitQueueHead } from '../kernel/sched/wait.js';
import { readItimerspec, TIMER_CLOCKS, writeItimerspec } from '../kernel/time/posix-timers.js';
import { neg, type Task } from '../sched.js';
import { pipeActivity } from './pipe.js';

/** CLOCK_REALTIME_ALARM and CLOCK_BOOTTIME_ALARM (include/uapi/linux/time.h). */
const CLOCK_REALTIME_ALARM = 8;
const CLOCK_BOOTTIME_ALARM = 9;
/** TFD_TIMER_ABSTIME and TFD_TIMER_CANCEL_ON_SET (include/uapi/linux/timerfd.h); TFD_CLOEXEC and TFD_NONBLOCK are O_CLOEXEC and O_NONBLOCK. */
const TFD_TIMER_ABSTIME = 1;
const TFD_TIMER_CANCEL_ON_SET = 2;
const TFD_CREATE_FLAGS = O_CLOEXEC | O_NONBLOCK;
const TFD_SETTIME_FLAGS = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;
/** sizeof(u64): what a read returns. */
const TIMERFD_READ_BYTES = 8;

/** struct timerfd_ctx: the clock, the expiry on the virtual clock (0: disarmed), the interval, the count and the queue. */
export class TimerFdCtx {
  readonly wqh = new WaitQueueHead();
  expiry = 0n;
  interval = 0n;
  ticks = 0n;
  /** ctx->expired: the timer fired and was not moved forward yet. */
  expired = false;
  constructor(readonly clock: ClockId) {}
}

/** A timerfd's open file: its context and O_NONBLOCK. */
export interface TimerFdFile { kind: 'timerfd'; ctx: TimerFdCtx; flags: number }

/** The virtual-clock offset of each timerfd clock; the _ALARM clocks are their base clocks here. */
function clockOffset(clock: number): bigint | undefined {
  if (clock === CLOCK_REALTIME_ALARM) return TIMER_CLOCKS[ClockId.REALTIME];
  if (clock === CLOCK_BOOTTIME_ALARM) return TIMER_CLOCKS[ClockId.BOOTTIME];
  return clock === ClockId.REALTIME || clock === ClockId.MONOTONIC || clock === ClockId.BOOTTIME ? TIMER_CLOCKS[clock] : undefined;
}

/** timerfd_create: -EINVAL for other flags or clocks; the timer starts disarmed. */
export function timerfd_create(this: Kernel, t: Task, clock: number, flags: number): bigint {
  if ((flags & ~TFD_CREATE_FLAGS) || clockOffset(clock) === undefined) return neg(Errno.EINVAL);
  const f: TimerFdFile = { kind: 'timerfd', ctx: new TimerFdCtx(clock as ClockId), flags: flags & O_NONBLOCK };
  const fd = this.installFd(t.proc, f, (flags & O_CLOEXEC) !== 0);
  if (fd >= 0) this.timerfds.add(f.ctx);
  return BigInt(fd);
}

/** timerfd_release: the last descriptor went; the timer is cancelled. */
export function timerfd_release(this: Kernel, f: TimerFdFile): void {
  this.timerfds.delete(f.ctx);
}

/** timerfd_poll: IN while the count is not zero. */
export function timerfd_poll(ctx: TimerFdCtx): number {
  return ctx.ticks > 0n ? Poll.IN : 0;
}

/** hrtimer_forward_now for a fired interval timer: past now in whole periods, the periods beyond the first added to the count. */
function forwardFired(k: Kernel, ctx: TimerFdCtx): void {
  if (!ctx.expired || !ctx.interval) return;
  ctx.expired = false;
  const periods = (k.clockNs - ctx.expiry) / ctx.interval + 1n;
  ctx.expiry += periods * ctx.interval;
  ctx.ticks += periods - 1n;
}

/** timerfd_get_remaining: the time to the expiry, 0 once due or disarmed. */
function remaining(k: Kernel, ctx: TimerFdCtx): bigint {
  if (!ctx.expiry || ctx.expired) return 0n;
  return ctx.expiry > k.clockNs ? ctx.expiry - k.clockNs : 0n;
}

/** The fd's timerfd context: -EBADF for no descriptor, -EINVAL for another file (timerfd_fget). */
function timerfdGet(t: Task, fd: number): TimerFdCtx | Errno {
  const f = t.proc.files.get(fd);
  if (!f) return Errno.EBADF;
  return f.kind === 'timerfd' ? f.ctx : Errno.EINVAL;
}

/**
 * timerfd_settime: the new value read first (-EFAULT), -EINVAL for other flags or a bad itimerspec, -EBADF /
 * -EINVAL for the descriptor; the count is cleared, the timer armed at the value (relative, or
 * absolute on its clock with TFD_TIMER_ABSTIME; a time already past fires at once) or disarmed by
 * a zero value; the old setting is written last.
 */
export function timerfd_settime(this: Kernel, t: Task, fd: number, flags: number, nv: bigint, ov: bigint): bigint {
  const m = t.proc.machine;
  const spec = readItimerspec(m, nv);
  if ((flags & ~TFD_SETTIME_FLAGS) || !spec) return neg(Errno.EINVAL);
  const ctx = timerfdGet(t, fd);
  if (typeof ctx === 'number') return neg(ctx);
  // The old setting, as timerfd_gettime would give it (a fired interval timer moved forward first).
  forwardFired(this, ctx);
  const old = { interval: ctx.interval, value: remaining(this, ctx) };
  ctx.ticks = 0n;
  ctx.expired = false;
  ctx.interval = spec.interval;
  if (!spec.value) ctx.expiry = 0n;
  else {
    const exp = (flags & TFD_TIMER_ABSTIME) ? spec.value + clockOffset(ctx.clock)! : this.clockNs + spec.value;
    ctx.expiry = exp > 0n ? exp : 1n;
  }
  this.runTimerfds();
  if (ov) writeItimerspec(m, ov, old.interval, old.value);
  return 0n;
}

/** timerfd_gettime: the interval and the time left (a fired interval timer moved forward first, its missed periods counted). */
export function timerfd_gettime(this: Kernel, t: Task, fd: number, at: bigint): bigint {
  const ctx = timerfdGet(t, fd);
  if (typeof ctx === 'number') return neg(ctx);
  forwardFired(this, ctx);
  writeItimerspec(t.proc.machine, at, ctx.interval, remaining(this, ctx));
  return 0n;
}

/**
 * timerfd_read: -EINVAL below 8 bytes; with no expiry counted, -EAGAIN under O_NONBLOCK, else a
 * sleep (-ERESTARTSYS on a signal); then the count (a fired interval timer moved forward first)
 * is taken and copied out (a faulting buffer loses it: -EFAULT).
 */
export function timerfdRead(this: Kernel, t: Task, f: TimerFdFile, buf: bigint, len: number): bigint | 'stop' {
  if (len < TIMERFD_READ_BYTES) return neg(Errno.EINVAL);
  const ctx = f.ctx;
  const take = (): bigint => {
    forwardFired(this, ctx);
    const ticks = ctx.ticks;
    ctx.ticks = 0n;
    try { t.proc.machine.writeU64(buf, ticks); } catch { return neg(Errno.EFAULT); }
    return BigInt(TIMERFD_READ_BYTES);
  };
  if (ctx.ticks > 0n) return take();
  if (f.flags & O_NONBLOCK) return neg(Errno.EAGAIN);
  return this.block(t, { what: 'timerfd read', retry: () => (ctx.ticks > 0n ? take() : undefined), restart: ERESTARTSYS });
}

/** The next expiry of an armed timerfd that has not fired (on the virtual clock), for the scheduler's quanta and idle jumps. */
export function timerfdNextExpiry(this: Kernel): bigint | undefined {
  let first: bigint | undefined;
  for (const ctx of this.timerfds) if (ctx.expiry && !ctx.expired && (first === undefined || ctx.expiry < first)) first = ctx.expiry;
  return first;
}

/** timerfd_triggered for every due timer: one tick, the queue woken with EPOLLIN; a one-shot timer is disarmed. */
export function runTimerfds(this: Kernel): void {
  for (const ctx of this.timerfds) {
    if (!ctx.expiry || ctx.expired || ctx.expiry > this.clockNs) continue;
    ctx.ticks++;
    if (ctx.interval) ctx.expired = true; else ctx.expiry = 0n;
    pipeActivity.changes++;
    wake_up_poll(ctx.wqh, Poll.IN);
  }
}
