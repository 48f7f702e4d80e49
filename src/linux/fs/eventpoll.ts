/**
 * epoll (fs/eventpoll.c, Linux 6.18): epoll_create1, epoll_ctl, epoll_wait / epoll_pwait /
 * epoll_pwait2 over the model's pollable files (pipes, signalfds, eventfds, timerfds, epolls, stdio).
 *
 * The interest set holds one item per (file, descriptor number); an item hooks the wait queues the
 * file's poll registers on (pipe->rd_wait or wr_wait, the sighand's signalfd queue, the eventfd's
 * queue, a nested epoll's poll_wait) and its wake function (ep_poll_callback) puts it on the ready
 * list. epoll_wait takes the ready list in order, polls each item again and reports it when it is
 * still ready; a level-triggered item goes back at the tail, an edge-triggered one waits for the
 * next wakeup, a one-shot one is disabled. Items go when their file's last descriptor is closed
 * (eventpoll_release), not when one descriptor is.
 * Not modelled: EPOLLWAKEUP's wakeup sources (the flag is kept), max_user_watches (-ENOSPC),
 * reverse_path_check's limit on wakeup paths, busy polling.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { GuestMemoryFault } from '../../../emulator/machine.js';
import { TASK_SIZE } from '../../loader/elf.js';
import { Errno, O_CLOEXEC, Poll } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { add_wait_queue, add_wait_queue_exclusive, remove_wait_queue, wake_up_poll, WaitQueueHead, type WaitQueueEntry } from '../kernel/sched/wait.js';
import { type FileRef, neg, type Task } from '../sched.js';
import { pipeActivity } from './pipe.js';
import { restoreSigmaskUnless, setUserSigmask, vfs_poll } from './select.js';

/** epoll_ctl's operations (include/uapi/linux/eventpoll.h). */
export enum EpollCtl { ADD = 1, DEL = 2, MOD = 3 }

/** The epoll-only event bits (include/uapi/linux/eventpoll.h); the others are the poll bits (abi.ts Poll). */
export const EPOLLEXCLUSIVE = 1 << 28;
export const EPOLLWAKEUP = 1 << 29;
export const EPOLLONESHOT = 1 << 30;
export const EPOLLET = 1 << 31;
/** EP_PRIVATE_BITS: the bits that are not poll events (a one-shot item keeps only these once it fired). */
const EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/** EPOLLINOUT_BITS and EPOLLEXCLUSIVE_OK_BITS: what an EPOLLEXCLUSIVE item may ask for. */
const EPOLLINOUT_BITS = Poll.IN | Poll.OUT;
const EPOLLEXCLUSIVE_OK_BITS = EPOLLINOUT_BITS | Poll.ERR | Poll.HUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/** EP_MAX_NESTS: epolls nested deeper than this are refused (-ELOOP). */
const EP_MAX_NESTS = 4;
/** sizeof(struct epoll_event) on x86-64 (EPOLL_PACKED): __u32 events at 0, __u64 data at 4. */
export const EPOLL_EVENT_BYTES = 12;
/** EP_MAX_EVENTS: INT_MAX / sizeof(struct epoll_event). */
const EP_MAX_EVENTS = Math.floor(0x7fffffff / EPOLL_EVENT_BYTES);

/** struct epitem: one watched (file, fd) of one epoll. */
class EpItem {
  /** The wait queues it hooks (eppoll_entry: the queue and the entry on it). */
  readonly hooks: { wq: WaitQueueHead; entry: WaitQueueEntry }[] = [];
  constructor(readonly ep: EventPoll, readonly file: FileRef, readonly fd: number, public events: number, public data: bigint) {}
}

/** struct eventpoll. */
export class EventPoll {
  /** The interest set (ep->rbr). */
  readonly items: EpItem[] = [];
  /** The ready list (ep->rdllist), in order. */
  rdllist: EpItem[] = [];
  /** ep->poll_wait: where an epoll that watches this one hooks. */
  readonly pollWait = new WaitQueueHead();
  /** Tasks asleep in epoll_wait on it (waitqueue_active(&ep->wq)). */
  waiters = 0;
  find(file: FileRef, fd: number): EpItem | undefined { return this.items.find((i) => i.file === file && i.fd === fd); }
  linked(epi: EpItem): boolean { return this.rdllist.includes(epi); }
}

/** An epoll's open file: anon_inode_getfile("[eventpoll]", O_RDWR | (flags & O_CLOEXEC)). */
export interface EpollFile { kind: 'epoll'; ep: EventPoll }

/** file->f_ep: the items watching each file, for eventpoll_release and the upward nesting depth. */
const fileItems = new WeakMap<FileRef, Set<EpItem>>();

/** The queues f_op->poll registers on through poll_wait (ep_ptable_queue_proc hooks each); none for a file without wakeups. */
function pollQueues(t: Task, f: FileRef): WaitQueueHead[] {
  switch (f.kind) {
    case 'pipe': return [f.write ? f.pipe.wrWait : f.pipe.rdWait];
    case 'signalfd': return [t.proc.signalfdWait]; // the sighand of the task that adds it
    case 'eventfd': case 'timerfd': return [f.ctx.wqh];
    case 'socket': return [f.sk.wq];
    case 'epoll': return [f.ep.pollWait];
    default: return [];
  }
}

/**
 * file_can_poll: pipes, signalfds, eventfds, timerfds, epolls, and stdio (a terminal in the model, named
 * assumption `proc-fd-stdio`; its readiness is `poll-default-mask`'s). Named and /proc files and
 * KVM's have no poll (-EPERM).
 */
function file_can_poll(f: FileRef): boolean {
  return f.kind === 'pipe' || f.kind === 'signalfd' || f.kind === 'eventfd' || f.kind === 'timerfd' || f.kind === 'socket' || f.kind === 'epoll' || f.kind === 'host';
}

/** __ep_eventpoll_poll: IN|RDNORM when an item of the ready list is ready; the ones that are not leave the list. */
export function ep_eventpoll_poll(k: Kernel, t: Task, ep: EventPoll): number {
  for (const epi of [...ep.rdllist]) {
    if (ep_item_poll(k, t, epi)) return Poll.IN | Poll.RDNORM;
    ep.rdllist.splice(ep.rdllist.indexOf(epi), 1);
  }
  return 0;
}

/** ep_item_poll: the file's events within the item's. */
function ep_item_poll(k: Kernel, t: Task, epi: EpItem): number {
  return vfs_poll(k, t, epi.file) & epi.events;
}

/**
 * ep_poll_callback: a wakeup on a hooked queue. A disabled (fired one-shot) item and a key naming
 * none of its events are ignored; else the item joins the ready list, a nested epoll's watchers
 * are woken with EPOLLIN, and an EPOLLEXCLUSIVE item counts as having woken someone only if a
 * task waits in epoll_wait and the key's IN/OUT is one it asked for.
 */
function ep_poll_callback(epi: EpItem, key: number): boolean {
  const ep = epi.ep;
  let ewake = false;
  if (!(epi.events & ~EP_PRIVATE_BITS)) return !(epi.events & EPOLLEXCLUSIVE);
  if (key && !(key & epi.events)) return !(epi.events & EPOLLEXCLUSIVE);
  if (!ep.linked(epi)) ep.rdllist.push(epi);
  pipeActivity.changes++; // a sleeper in epoll_wait may go on (kernel/sched/core.ts pick)
  if (ep.waiters > 0 && (epi.events & EPOLLEXCLUSIVE)) {
    switch (key & EPOLLINOUT_BITS) {
      case Poll.IN: ewake = (epi.events & Poll.IN) !== 0; break;
      case Poll.OUT: ewake = (epi.events & Poll.OUT) !== 0; break;
      case 0: ewake = true; break;
    }
  }
  if (ep.pollWait.active) wake_up_poll(ep.pollWait, Poll.IN);
  return (epi.events & EPOLLEXCLUSIVE) ? ewake : true;
}

/** ep_insert's queueing: hook every queue the file polls on (exclusive entries at the tail for EPOLLEXCLUSIVE). */
function hookQueues(t: Task, epi: EpItem): void {
  for (const wq of pollQueues(t, epi.file)) {
    const entry: WaitQueueEntry = { exclusive: false, func: (key) => ep_poll_callback(epi, key) };
    if (epi.events & EPOLLEXCLUSIVE) add_wait_queue_exclusive(wq, entry); else add_wait_queue(wq, entry);
    epi.hooks.push({ wq, entry });
  }
}

/** ep_remove: unhook, leave the ready list and the interest set. */
function ep_remove(epi: EpItem): void {
  for (const h of epi.hooks) remove_wait_queue(h.wq, h.entry);
  epi.hooks.length = 0;
  const ep = epi.ep;
  const r = ep.rdllist.indexOf(epi);
  if (r >= 0) ep.rdllist.splice(r, 1);
  ep.items.splice(ep.items.indexOf(epi), 1);
  fileItems.get(epi.file)?.delete(epi);
}

/**
 * eventpoll_release (__fput): a file's last descriptor went; every item watching it goes. For an
 * epoll file, its own items go too (ep_clear_and_put).
 */
export function eventpoll_release(f: FileRef): void {
  for (const epi of [...(fileItems.get(f) ?? [])]) ep_remove(epi);
  if (f.kind === 'epoll') for (const epi of [...f.ep.items]) ep_remove(epi);
}

/** Whether a file may have epoll state to release when its last descriptor goes. */
export function hasEpollState(f: FileRef): boolean {
  return (fileItems.get(f)?.size ?? 0) > 0 || f.kind === 'epoll';
}

/** do_epoll_create: -EINVAL for flags other than EPOLL_CLOEXEC (O_CLOEXEC). */
export function do_epoll_create(this: Kernel, t: Task, flags: number): bigint {
  if (flags & ~O_CLOEXEC) return neg(Errno.EINVAL);
  const f: EpollFile = { kind: 'epoll', ep: new EventPoll() };
  return BigInt(this.installFd(t.proc, f, (flags & O_CLOEXEC) !== 0));
}

/** ep_loop_check_proc: how deep epolls nest under `ep` (EP_MAX_NESTS + 1 for a path back to `into`). */
function loopDepthDown(ep: EventPoll, into: EventPoll, depth: number, seen: Set<EventPoll>): number {
  let result = 0;
  seen.add(ep);
  for (const epi of ep.items) {
    if (epi.file.kind !== 'epoll') continue;
    const next = epi.file.ep;
    if (next === into || depth > EP_MAX_NESTS) result = EP_MAX_NESTS + 1;
    else if (!seen.has(next)) result = Math.max(result, loopDepthDown(next, into, depth + 1, seen) + 1);
    if (result > EP_MAX_NESTS) break;
  }
  return result;
}

/** ep_get_upwards_depth_proc: how many epolls watch `ep`, transitively. */
function depthUp(ep: EventPoll, file: (ep: EventPoll) => FileRef | undefined): number {
  const f = file(ep);
  let result = 0;
  for (const epi of (f ? fileItems.get(f) : undefined) ?? []) result = Math.max(result, depthUp(epi.ep, file) + 1);
  return result;
}

/**
 * do_epoll_ctl: -EBADF for either descriptor, -EPERM for a file without poll, -EINVAL when the
 * epoll descriptor is not one or is the target, EPOLLEXCLUSIVE's rules (not with MOD, not on an
 * epoll, only with EPOLLEXCLUSIVE_OK_BITS), -ELOOP for an epoll that would close a loop or nest
 * deeper than EP_MAX_NESTS; ADD (-EEXIST) and MOD (-ENOENT; not of an EPOLLEXCLUSIVE item) add
 * EPOLLERR|EPOLLHUP to the events; DEL (-ENOENT); another op -EINVAL. The event is read first
 * (-EFAULT) for every op but DEL.
 */
export function epoll_ctl(this: Kernel, t: Task, epfd: number, op: number, fd: number, event: bigint): bigint {
  const p = t.proc;
  let events = 0, data = 0n;
  if (op !== EpollCtl.DEL) {
    const b = p.machine.read(event, EPOLL_EVENT_BYTES);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    events = v.getUint32(0, true) | 0;
    data = v.getBigUint64(4, true);
  }
  const f = p.files.get(epfd);
  if (!f) return neg(Errno.EBADF);
  const tf = p.files.get(fd);
  if (!tf) return neg(Errno.EBADF);
  if (!file_can_poll(tf)) return neg(Errno.EPERM);
  if (f === tf || f.kind !== 'epoll') return neg(Errno.EINVAL);
  if (op !== EpollCtl.DEL && (events & EPOLLEXCLUSIVE)) {
    if (op === EpollCtl.MOD) return neg(Errno.EINVAL);
    if (op === EpollCtl.ADD && (tf.kind === 'epoll' || (events & ~EPOLLEXCLUSIVE_OK_BITS))) return neg(Errno.EINVAL);
  }
  const ep = f.ep;
  if (op === EpollCtl.ADD && tf.kind === 'epoll') {
    // ep_loop_check (after "eventpoll: Fix semi-unbounded recursion", 6.17): down from the target, up from this epoll.
    const down = loopDepthDown(tf.ep, ep, 0, new Set());
    if (down > EP_MAX_NESTS) return neg(Errno.ELOOP);
    const fileOf = (e: EventPoll): FileRef | undefined => {
      for (const q of this.tasks) for (const x of q.proc.files.values()) if (x.kind === 'epoll' && x.ep === e) return x;
      return undefined;
    };
    if (down + 1 + depthUp(ep, fileOf) > EP_MAX_NESTS) return neg(Errno.ELOOP);
  }
  const epi = ep.find(tf, fd);
  switch (op as EpollCtl) {
    case EpollCtl.ADD: {
      if (epi) return neg(Errno.EEXIST);
      const item = new EpItem(ep, tf, fd, events | Poll.ERR | Poll.HUP, data);
      ep.items.push(item);
      let set = fileItems.get(tf);
      if (!set) fileItems.set(tf, (set = new Set()));
      set.add(item);
      hookQueues(t, item);
      // ep_insert: a file ready now goes on the ready list at once.
      if (ep_item_poll(this, t, item) && !ep.linked(item)) readyNow(ep, item);
      return 0n;
    }
    case EpollCtl.MOD: {
      if (!epi) return neg(Errno.ENOENT);
      if (epi.events & EPOLLEXCLUSIVE) return neg(Errno.EINVAL);
      // ep_modify: the new events and data, then the item joins the ready list if it is ready now.
      epi.events = events | Poll.ERR | Poll.HUP;
      epi.data = data;
      if (ep_item_poll(this, t, epi) && !ep.linked(epi)) readyNow(ep, epi);
      return 0n;
    }
    case EpollCtl.DEL:
      if (!epi) return neg(Errno.ENOENT);
      ep_remove(epi);
      return 0n;
    default:
      return neg(Errno.EINVAL);
  }
}

/** ep_insert / ep_modify with a ready file: the ready list's tail, and a nested epoll's watchers woken. */
function readyNow(ep: EventPoll, epi: EpItem): void {
  ep.rdllist.push(epi);
  pipeActivity.changes++;
  if (ep.pollWait.active) wake_up_poll(ep.pollWait, Poll.IN);
}

/**
 * ep_send_events: up to `maxevents` items from the ready list, each polled again: a ready one is
 * copied out ({events, data}), a one-shot one disabled, a level-triggered one put back at the
 * list's tail; the items not reached stay at the head. A fault copying the first event is -EFAULT;
 * a later one ends the copy with what was copied (the faulting item stays on the list).
 */
function ep_send_events(k: Kernel, t: Task, ep: EventPoll, events: bigint, maxevents: number): bigint {
  const m = t.proc.machine;
  const txlist = ep.rdllist;
  ep.rdllist = [];
  let res = 0;
  let i = 0;
  for (; i < txlist.length && res < maxevents; i++) {
    const epi = txlist[i]!;
    const revents = ep_item_poll(k, t, epi);
    if (!revents) continue;
    const at = events + BigInt(res * EPOLL_EVENT_BYTES);
    try {
      m.writeU32(at, revents >>> 0);
      m.writeU64(at + 4n, epi.data);
    } catch (e) {
      if (!(e instanceof GuestMemoryFault)) throw e;
      // list_add(&epi->rdllink, &txlist): it stays first of what is left.
      ep.rdllist = [...txlist.slice(i), ...ep.rdllist];
      return res ? BigInt(res) : neg(Errno.EFAULT);
    }
    res++;
    if (epi.events & EPOLLONESHOT) epi.events &= EP_PRIVATE_BITS;
    else if (!(epi.events & EPOLLET)) ep.rdllist.push(epi);
  }
  // ep_done_scan: what was not reached goes back at the head.
  ep.rdllist = [...txlist.slice(i), ...ep.rdllist];
  return BigInt(res);
}

/**
 * do_epoll_wait + ep_poll: -EINVAL for maxevents outside 1..EP_MAX_EVENTS, -EFAULT for a buffer
 * beyond user space (access_ok only), -EBADF, -EINVAL for a descriptor that is not an epoll.
 * Events ready now are returned at once; a zero timeout returns 0; else the task sleeps until an
 * item is ready (a wakeup whose items turn out not ready sleeps on), the deadline (0), or a
 * signal (-EINTR: epoll_wait is never restarted). `deadline` undefined waits for ever, equal to
 * the clock is a zero timeout. `sigmask` is epoll_pwait's: set for the call, kept for the
 * handler's frame after -EINTR.
 */
export function do_epoll_wait(this: Kernel, t: Task, epfd: number, events: bigint, maxevents: number, deadline: bigint | undefined, sigmask?: { at: bigint; size: bigint }): bigint | 'stop' {
  if (sigmask) { const r = setUserSigmask(t, sigmask.at, sigmask.size); if (r !== undefined) return r; }
  const finish = (ret: bigint): bigint => (sigmask ? restoreSigmaskUnless(t, ret, -BigInt(Errno.EINTR)) : ret);
  if (maxevents <= 0 || maxevents > EP_MAX_EVENTS) return finish(neg(Errno.EINVAL));
  if (events + BigInt(maxevents * EPOLL_EVENT_BYTES) > TASK_SIZE) return finish(neg(Errno.EFAULT));
  const f = t.proc.files.get(epfd);
  if (!f) return finish(neg(Errno.EBADF));
  if (f.kind !== 'epoll') return finish(neg(Errno.EINVAL));
  const ep = f.ep;
  const harvest = (): bigint | undefined => {
    if (!ep.rdllist.length) return undefined;
    const r = ep_send_events(this, t, ep, events, maxevents);
    return r !== 0n ? r : undefined;
  };
  const now = harvest();
  if (now !== undefined) return finish(now);
  if (deadline !== undefined && deadline <= this.clockNs) return finish(0n);
  if (this.signalPending(t)) return finish(neg(Errno.EINTR));
  ep.waiters++;
  const done = (r: bigint): bigint => { ep.waiters--; return finish(r); };
  return this.block(t, {
    what: 'epoll_wait',
    retry: () => {
      const r = harvest();
      if (r !== undefined) return done(r);
      if (deadline !== undefined && this.clockNs >= deadline) return done(0n);
      return undefined;
    },
    ...(deadline !== undefined ? { deadline, onTimeout: () => done(0n) } : {}),
    interrupted: () => done(neg(Errno.EINTR)),
  });
}
