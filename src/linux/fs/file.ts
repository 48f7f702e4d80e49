/**
 * The descriptor table (fs/file.c, Linux 6.18): install, close, dup2/dup3.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno, O_CLOEXEC } from '../abi.js';
import { Rlimit } from '../kernel/sys.js';
import { eventpoll_release, hasEpollState } from './eventpoll.js';
import { pipe_release } from './pipe.js';
import type { Kernel } from '../kernel.js';
import { neg, type FileRef, Process } from '../sched.js';

export const NOFILE_CUR = 1024;

/** rlimit(RLIMIT_NOFILE) (fs/file.c): descriptors are below it; do_prlimit keeps it within sysctl_nr_open. */
export function nofileLimit(p: Process): number {
  return Number(p.rlimits[Rlimit.NOFILE]!.cur);
}

/** One more descriptor refers to an open file (dup, fork). */
export function retain(this: Kernel, f: FileRef): FileRef {
  if (f.kind === 'pipe') f.refs++;
  return f;
}

/** Files passed in SCM_RIGHTS messages and not received yet: each holds a reference while in flight (net/socket.ts). */
const inFlight = new WeakMap<FileRef, number>();

/** A file sent in an SCM_RIGHTS message (scm_fp_copy's get_file): one more reference, in flight. */
export function sendInFlight(f: FileRef): void {
  inFlight.set(f, (inFlight.get(f) ?? 0) + 1);
  if (f.kind === 'pipe') f.refs++;
}

/** A file received into a descriptor: its in-flight reference is now the descriptor's. */
export function landFromFlight(f: FileRef): void {
  inFlight.set(f, (inFlight.get(f) ?? 1) - 1);
}

/**
 * __fput: the last reference went. First the epoll items watching it and, for an epoll, its own
 * (eventpoll_release); then the file's release: a pipe end's pipe_release, a timerfd's timer
 * cancelled, a socket's unix_release_sock.
 */
function fput(k: Kernel, f: FileRef): void {
  eventpoll_release(f);
  if (f.kind === 'pipe') pipe_release(f);
  else if (f.kind === 'timerfd') k.timerfd_release(f);
  else if (f.kind === 'socket') k.socketRelease(f);
}

/** Whether a file other than a pipe end (which counts its references) is still held by a descriptor or a message in flight. */
function referenced(k: Kernel, f: FileRef): boolean {
  return (inFlight.get(f) ?? 0) > 0 || k.tasks.some((t) => [...t.proc.files.values()].includes(f));
}

/** Files whose last reference has work to do (fput). */
const hasRelease = (f: FileRef): boolean => hasEpollState(f) || f.kind === 'timerfd' || f.kind === 'socket';

/** One reference dropped (a descriptor closed, or a passed file thrown away: `inflight`). */
export function dropReference(this: Kernel, f: FileRef, inflight: boolean): void {
  if (inflight) landFromFlight(f);
  if (f.kind === 'pipe') { if (--f.refs === 0) fput(this, f); }
  else if (hasRelease(f) && !referenced(this, f)) fput(this, f);
}

/** close_fd(): the descriptor goes; the file's last reference releases it (fput). */
export function closeFd(this: Kernel, p: Process, fd: number): boolean {
  const f = p.files.get(fd);
  if (!f) return false;
  p.files.delete(fd);
  p.cloexec.delete(fd);
  this.dropReference(f, false);
  return true;
}

/**
 * dup2 and dup3 (fs/file.c ksys_dup3): dup3 rejects flags other than O_CLOEXEC and oldfd ==
 * newfd (-EINVAL); dup2 of a valid fd onto itself returns it; a newfd past RLIMIT_NOFILE is
 * -EBADF; an open newfd is closed first.
 */
export function dup3(this: Kernel, p: Process, oldfd: number, newfd: number, flags: number | undefined): bigint {
  if (flags !== undefined && (flags & ~O_CLOEXEC)) return neg(Errno.EINVAL);
  if (flags !== undefined && oldfd === newfd) return neg(Errno.EINVAL);
  if (newfd < 0 || newfd >= nofileLimit(p)) return neg(Errno.EBADF);
  const f = p.files.get(oldfd);
  if (!f) return neg(Errno.EBADF);
  if (oldfd === newfd) return BigInt(newfd);
  this.retain(f);
  this.closeFd(p, newfd);
  p.files.set(newfd, f);
  if (flags !== undefined && (flags & O_CLOEXEC)) p.cloexec.add(newfd); else p.cloexec.delete(newfd);
  return BigInt(newfd);
}

/** The lowest free descriptor (fd_install after get_unused_fd_flags), or -EMFILE when it would be at RLIMIT_NOFILE or above (alloc_fd). */
export function installFd(this: Kernel, p: Process, f: FileRef, cloexec: boolean): number {
  let fd = 0;
  while (p.files.has(fd)) fd++;
  if (fd >= nofileLimit(p)) return -Errno.EMFILE;
  p.files.set(fd, f);
  if (cloexec) p.cloexec.add(fd); else p.cloexec.delete(fd);
  return fd;
}
