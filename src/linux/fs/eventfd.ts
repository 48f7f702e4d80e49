/**
 * eventfd (fs/eventfd.c, Linux 6.18): a 64-bit counter that write adds to and read takes, as a
 * descriptor that poll, select and epoll watch.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno, O_CLOEXEC, O_NONBLOCK, Poll } from '../abi.js';
import { ERESTARTSYS } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { wake_up_poll, WaitQueueHead } from '../kernel/sched/wait.js';
import { neg, type Task } from '../sched.js';
import { pipeActivity } from './pipe.js';

/** EFD_SEMAPHORE (include/uapi/linux/eventfd.h); EFD_CLOEXEC and EFD_NONBLOCK are O_CLOEXEC and O_NONBLOCK. */
export const EFD_SEMAPHORE = 1;
/** EFD_FLAGS_SET: the flags eventfd2 takes. */
const EFD_FLAGS_SET = O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE;
/** ULLONG_MAX: the counter's ceiling (a write never makes it reach it). */
const ULLONG_MAX = (1n << 64n) - 1n;
/** sizeof(__u64): what a read or write moves. */
const EVENTFD_BYTES = 8;

/** struct eventfd_ctx: the counter, EFD_SEMAPHORE, and the wait queue poll registers on. */
export class EventFdCtx {
  readonly wqh = new WaitQueueHead();
  constructor(public count: bigint, readonly semaphore: boolean) {}
}

/** An eventfd's open file: its context and O_NONBLOCK (f_flags). */
export interface EventFdFile { kind: 'eventfd'; ctx: EventFdCtx; flags: number }

/**
 * do_eventfd: -EINVAL for flags outside EFD_FLAGS_SET; the counter starts at `count` (an
 * unsigned int); the file is O_RDWR with O_NONBLOCK as asked.
 */
export function do_eventfd(this: Kernel, t: Task, count: number, flags: number): bigint {
  if (flags & ~EFD_FLAGS_SET) return neg(Errno.EINVAL);
  const f: EventFdFile = { kind: 'eventfd', ctx: new EventFdCtx(BigInt(count >>> 0), (flags & EFD_SEMAPHORE) !== 0), flags: flags & O_NONBLOCK };
  return BigInt(this.installFd(t.proc, f, (flags & O_CLOEXEC) !== 0));
}

/** eventfd_poll: IN with a count, ERR at ULLONG_MAX, OUT while one more write of 1 fits. */
export function eventfd_poll(ctx: EventFdCtx): number {
  let events = 0;
  if (ctx.count > 0n) events |= Poll.IN;
  if (ctx.count === ULLONG_MAX) events |= Poll.ERR;
  if (ULLONG_MAX - 1n > ctx.count) events |= Poll.OUT;
  return events;
}

/** A change that may let a sleeper go on: the scheduler retries sleepers while this moves (kernel/sched/core.ts pick). */
const changed = (): void => { pipeActivity.changes++; };

/**
 * eventfd_read: -EINVAL below 8 bytes; with the counter at 0, -EAGAIN under O_NONBLOCK, else a
 * sleep (-ERESTARTSYS on a signal); then the counter (or 1 under EFD_SEMAPHORE) is taken and
 * the writers' queue woken with EPOLLOUT before the value is copied out, so a faulting buffer
 * (-EFAULT) loses it as Linux does.
 */
export function eventfdRead(this: Kernel, t: Task, f: EventFdFile, buf: bigint, len: number): bigint | 'stop' {
  if (len < EVENTFD_BYTES) return neg(Errno.EINVAL);
  const ctx = f.ctx;
  const m = t.proc.machine;
  const take = (): bigint => {
    const ucnt = ctx.semaphore ? 1n : ctx.count;
    ctx.count -= ucnt;
    changed();
    wake_up_poll(ctx.wqh, Poll.OUT);
    try { m.writeU64(buf, ucnt); } catch { return neg(Errno.EFAULT); }
    return BigInt(EVENTFD_BYTES);
  };
  if (ctx.count > 0n) return take();
  if (f.flags & O_NONBLOCK) return neg(Errno.EAGAIN);
  return this.block(t, { what: 'eventfd read', retry: () => (ctx.count > 0n ? take() : undefined), restart: ERESTARTSYS });
}

/**
 * eventfd_write: -EINVAL below 8 bytes, -EFAULT for the value, -EINVAL for ULLONG_MAX; the value
 * is added when the counter stays below ULLONG_MAX, else -EAGAIN under O_NONBLOCK or a sleep
 * until a read makes room; each completed write wakes the queue with EPOLLIN (a write of 0 too).
 */
export function eventfdWrite(this: Kernel, t: Task, f: EventFdFile, buf: bigint, len: number): bigint | 'stop' {
  if (len < EVENTFD_BYTES) return neg(Errno.EINVAL);
  const ucnt = t.proc.machine.readU64(buf);
  if (ucnt === ULLONG_MAX) return neg(Errno.EINVAL);
  const ctx = f.ctx;
  const fits = (): boolean => ULLONG_MAX - ctx.count > ucnt;
  const add = (): bigint => {
    ctx.count += ucnt;
    changed();
    wake_up_poll(ctx.wqh, Poll.IN);
    return BigInt(EVENTFD_BYTES);
  };
  if (fits()) return add();
  if (f.flags & O_NONBLOCK) return neg(Errno.EAGAIN);
  return this.block(t, { what: 'eventfd write', retry: () => (fits() ? add() : undefined), restart: ERESTARTSYS });
}
