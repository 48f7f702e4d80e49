/**
 * poll, ppoll, select and pselect6 (fs/select.c, Linux 6.18) over the model's descriptors, with
 * pipe_poll (fs/pipe.c) and signalfd_poll (fs/signalfd.c); timeouts on the virtual clock.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno, Poll } from '../abi.js';
import { ERESTART_RESTARTBLOCK, ERESTARTNOHAND } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { type FileRef, neg, sigBit, Task, UNBLOCKABLE } from '../sched.js';
import { eventfd_poll } from './eventfd.js';
import { ep_eventpoll_poll } from './eventpoll.js';
import { nofileLimit } from './file.js';
import { timerfd_poll } from './timerfd.js';
import { unix_poll } from '../net/socket.js';

/** DEFAULT_POLLMASK (include/linux/poll.h): a file without a poll method is always ready. */
const DEFAULT_POLLMASK = Poll.IN | Poll.OUT | Poll.RDNORM | Poll.WRNORM;
/** select's sets (fs/select.c POLLIN_SET, POLLOUT_SET, POLLEX_SET). */
const POLLIN_SET = Poll.RDNORM | Poll.RDBAND | Poll.IN | Poll.HUP | Poll.ERR;
const POLLOUT_SET = Poll.WRBAND | Poll.WRNORM | Poll.OUT | Poll.ERR;
const POLLEX_SET = Poll.PRI;
/** sizeof(struct pollfd): int fd, short events, short revents. */
const POLLFD_BYTES = 8;
/** sizeof(sigset_t) ppoll and pselect6 take. */
const SIGSET_BYTES = 8n;
/** FD_SETSIZE bits per long of an fd_set (__NFDBITS). */
const NFDBITS = 64;
const NS_PER_SEC = 1_000_000_000n;

/**
 * vfs_poll: what a descriptor is ready for. pipe_poll: the read end IN|RDNORM with data, HUP with no
 * writer left (an anonymous pipe's f_pipe is never the writers' counter); the write end
 * OUT|WRNORM with a free slot, ERR with no reader. signalfd_poll: IN when a signal of its set is
 * pending for the caller; eventfd_poll, timerfd_poll and ep_eventpoll_poll in fs/eventfd.ts, fs/timerfd.ts and fs/eventpoll.ts. Other files (the named files, /proc, the host's stdio, KVM's) have no
 * poll method in the model: DEFAULT_POLLMASK (named assumption `poll-default-mask`: the host's
 * stdio is taken as always ready).
 */
export function vfs_poll(k: Kernel, t: Task, f: FileRef): number {
  if (f.kind === 'pipe') {
    const pipe = f.pipe;
    let mask = 0;
    if (!f.write) {
      if (!pipe.empty) mask |= Poll.IN | Poll.RDNORM;
      if (pipe.writers === 0) mask |= Poll.HUP;
    } else {
      if (!pipe.full) mask |= Poll.OUT | Poll.WRNORM;
      if (pipe.readers === 0) mask |= Poll.ERR;
    }
    return mask;
  }
  if (f.kind === 'signalfd') {
    const pending = [...t.pending, ...t.proc.sharedPending].some((x) => (f.mask & sigBit(x.info.signo)) !== 0n);
    return pending ? Poll.IN : 0;
  }
  if (f.kind === 'eventfd') return eventfd_poll(f.ctx);
  if (f.kind === 'timerfd') return timerfd_poll(f.ctx);
  if (f.kind === 'socket') return unix_poll(f);
  if (f.kind === 'epoll') return ep_eventpoll_poll(k, t, f.ep);
  return DEFAULT_POLLMASK;
}

/** A timeout: undefined waits for ever, else the virtual-clock deadline (0 ns: no wait). */
type Deadline = bigint | undefined;

/** The mask given for the call's duration (ppoll, pselect6, epoll_pwait: set_user_sigmask); -EINVAL for another size. */
export function setUserSigmask(t: Task, at: bigint, size: bigint): bigint | undefined {
  if (!at) return undefined;
  if (size !== SIGSET_BYTES) return neg(Errno.EINVAL);
  const mask = t.proc.machine.readU64(at);
  t.savedSigmask = t.sigmask;
  t.sigmask = mask & ~UNBLOCKABLE;
  return undefined;
}

/**
 * restore_saved_sigmask_unless(ret == interruptedBy): after an interrupted call (-ERESTARTNOHAND
 * for poll and select, -EINTR for epoll_pwait) a handler's frame keeps the call's mask to restore after it.
 */
export function restoreSigmaskUnless(t: Task, ret: bigint, interruptedBy = -BigInt(ERESTARTNOHAND)): bigint {
  if (ret !== interruptedBy && t.savedSigmask !== undefined) { t.sigmask = t.savedSigmask; t.savedSigmask = undefined; }
  return ret;
}

/**
 * Sleep until `scan` finds something ready (its count), the deadline (0), or a signal
 * (-ERESTARTNOHAND; poll turns it into -ERESTART_RESTARTBLOCK). `finish` writes back what the call
 * returns (the results, the time left) and settles the mask.
 */
function pollWait(k: Kernel, t: Task, what: string, deadline: Deadline, scan: () => number, finish: (ret: bigint) => bigint, restartNoHand: bigint): bigint | 'stop' {
  const now = scan();
  if (now > 0 || (deadline !== undefined && deadline <= k.clockNs)) return finish(BigInt(now));
  return k.block(t, {
    what,
    retry: () => {
      const n = scan();
      if (n > 0) return finish(BigInt(n));
      if (deadline !== undefined && k.clockNs >= deadline) return finish(0n);
      return undefined;
    },
    ...(deadline !== undefined ? { deadline, onTimeout: () => finish(0n) } : {}),
    interrupted: () => finish(restartNoHand),
  });
}

/**
 * do_sys_poll: -EINVAL for more entries than RLIMIT_NOFILE; each entry's revents is the file's
 * mask within its events plus ERR and HUP, POLLNVAL for a descriptor not open, 0 for a negative
 * one; every revents is written back; the count of entries with revents. `timeoutNs` undefined
 * waits for ever. A signal gives -ERESTART_RESTARTBLOCK for poll (do_restart_poll sleeps again to
 * the same end) and -ERESTARTNOHAND for ppoll, which then writes the time left.
 */
export function do_sys_poll(this: Kernel, t: Task, ufds: bigint, nfds: bigint, timeoutNs: bigint | undefined, ppoll: { sigmask: bigint; size: bigint; tsp: bigint } | undefined): bigint | 'stop' {
  const m = t.proc.machine;
  if (nfds > BigInt(nofileLimit(t.proc))) return neg(Errno.EINVAL);
  const n = Number(nfds);
  const raw = n ? m.read(ufds, n * POLLFD_BYTES) : new Uint8Array(0);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (ppoll) { const r = setUserSigmask(t, ppoll.sigmask, ppoll.size); if (r !== undefined) return r; }
  const deadline = timeoutNs === undefined ? undefined : this.clockNs + timeoutNs;
  const revents = new Uint16Array(n);
  const scan = (): number => {
    let count = 0;
    for (let i = 0; i < n; i++) {
      const fd = v.getInt32(i * POLLFD_BYTES, true);
      const events = v.getUint16(i * POLLFD_BYTES + 4, true);
      let mask = 0;
      if (fd >= 0) {
        const f = t.proc.files.get(fd);
        mask = f ? vfs_poll(this, t, f) & (events | Poll.ERR | Poll.HUP) : Poll.NVAL;
      }
      revents[i] = mask;
      if (mask) count++;
    }
    return count;
  };
  const finish = (ret: bigint): bigint => {
    for (let i = 0; i < n; i++) m.writeU32(ufds + BigInt(i * POLLFD_BYTES) + 4n, v.getUint16(i * POLLFD_BYTES + 4, true) | (revents[i]! << 16));
    if (ppoll) {
      if (ppoll.tsp && deadline !== undefined && timeoutNs !== 0n) writeTimeLeft(this, t, ppoll.tsp, deadline, false);
      if (ret === -BigInt(ERESTARTNOHAND) && !ppoll.tsp) { /* no time to update: stays restartable */ }
      return restoreSigmaskUnless(t, ret);
    }
    if (ret === -BigInt(ERESTARTNOHAND)) {
      // do_restart_poll: the restart sleeps again until the same end.
      t.restartBlock = () => this.do_sys_poll(t, ufds, nfds, deadline === undefined ? undefined : (deadline > this.clockNs ? deadline - this.clockNs : 0n), undefined);
      return -BigInt(ERESTART_RESTARTBLOCK);
    }
    return ret;
  };
  return pollWait(this, t, ppoll ? 'ppoll' : 'poll', deadline, scan, finish, -BigInt(ERESTARTNOHAND));
}

/** poll_select_finish: the time left to the end (0 once past) into a timespec (ppoll, pselect6) or a timeval (select). */
function writeTimeLeft(k: Kernel, t: Task, at: bigint, deadline: bigint, timeval: boolean): void {
  const left = deadline > k.clockNs ? deadline - k.clockNs : 0n;
  const m = t.proc.machine;
  m.writeU64(at, left / NS_PER_SEC);
  m.writeU64(at + 8n, timeval ? (left % NS_PER_SEC) / 1000n : left % NS_PER_SEC);
}

/**
 * core_sys_select: -EINVAL for a negative n; n is cut to the descriptor table's size (max_fds:
 * the model's table grows as Linux's from 64 descriptors, assumption `fdtable-size`: the highest
 * open descriptor rounded up to 64 bits); select's tv_usec may hold whole seconds; -EBADF for a set bit on a descriptor not open
 * (max_select_fd). Each set is read and written back in whole longs; each ready bit counts. A
 * timeout (select: timeval, pselect6: timespec) is written back as the time left; a signal gives
 * -ERESTARTNOHAND.
 */
export function core_sys_select(this: Kernel, t: Task, nArg: number, inp: bigint, outp: bigint, exp: bigint, tvp: bigint, timeval: boolean, sig: { sigmask: bigint; size: bigint } | undefined): bigint | 'stop' {
  const m = t.proc.machine;
  if (nArg < 0) return neg(Errno.EINVAL);
  let timeoutNs: bigint | undefined;
  if (tvp) {
    let sec = BigInt.asIntN(64, m.readU64(tvp));
    const frac = BigInt.asIntN(64, m.readU64(tvp + 8n));
    // kern_select carries whole seconds of tv_usec over (C division) before poll_select_set_timeout's timespec64_valid.
    if (timeval) sec += frac / 1_000_000n;
    const nsec = timeval ? (frac % 1_000_000n) * 1000n : frac;
    if (sec < 0n || nsec < 0n || nsec >= NS_PER_SEC) return neg(Errno.EINVAL);
    timeoutNs = sec * NS_PER_SEC + nsec;
  }
  let maxOpen = -1;
  for (const fd of t.proc.files.keys()) if (fd > maxOpen) maxOpen = fd;
  const maxFds = Math.max(NFDBITS, Math.ceil((maxOpen + 1) / NFDBITS) * NFDBITS);
  const n = Math.min(nArg, maxFds);
  const bytes = Math.ceil(n / NFDBITS) * 8;
  const sets = [inp, outp, exp].map((p) => (p && bytes ? m.read(p, bytes) : new Uint8Array(bytes)));
  const bit = (b: Uint8Array, fd: number): boolean => ((b[fd >> 3]! >> (fd & 7)) & 1) === 1;
  for (let fd = 0; fd < n; fd++) if (sets.some((s) => bit(s, fd)) && !t.proc.files.has(fd)) return neg(Errno.EBADF);
  if (sig) { const r = setUserSigmask(t, sig.sigmask, sig.size); if (r !== undefined) return r; }
  const deadline = timeoutNs === undefined ? undefined : this.clockNs + timeoutNs;
  const res = sets.map(() => new Uint8Array(bytes));
  const scan = (): number => {
    let count = 0;
    res.forEach((r) => r.fill(0));
    for (let fd = 0; fd < n; fd++) {
      const want = [POLLIN_SET, POLLOUT_SET, POLLEX_SET].map((_, k) => bit(sets[k]!, fd));
      if (!want.some((w) => w)) continue;
      const mask = vfs_poll(this, t, t.proc.files.get(fd)!);
      [POLLIN_SET, POLLOUT_SET, POLLEX_SET].forEach((set, k) => {
        if (want[k] && (mask & set)) { res[k]![fd >> 3]! |= 1 << (fd & 7); count++; }
      });
    }
    return count;
  };
  const finish = (ret: bigint): bigint => {
    // The sets are written back only with a result (an interrupted select leaves them).
    if (ret >= 0n) [inp, outp, exp].forEach((p, k) => { if (p && bytes) m.write(p, res[k]!); });
    if (tvp && deadline !== undefined && timeoutNs !== 0n) writeTimeLeft(this, t, tvp, deadline, timeval);
    const r = restoreSigmaskUnless(t, ret);
    return r;
  };
  return pollWait(this, t, sig ? 'pselect6' : 'select', deadline, scan, finish, -BigInt(ERESTARTNOHAND));
}
