/**
 * fcntl (fs/fcntl.c do_fcntl, Linux 6.18).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno, FD_CLOEXEC, Fcntl, O_DIRECT, O_NONBLOCK } from '../abi.js';
import { nofileLimit } from './file.js';
import { pipe_get_size, pipe_set_size } from './pipe.js';
import type { Kernel } from '../kernel.js';
import { neg, Process } from '../sched.js';

/** O_RDWR (include/uapi/asm-generic/fcntl.h). */
const O_RDWR = 2;

/** Bits F_SETFL may change on a pipe (fs/fcntl.c SETFL_MASK: O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME; the model keeps these two). */
const PIPE_SETFL_MASK = O_NONBLOCK | O_DIRECT;
/** O_RDONLY / O_WRONLY access modes (include/uapi/asm-generic/fcntl.h). */
const O_RDONLY = 0;
const O_WRONLY = 1;

/**
 * fcntl (fs/fcntl.c do_fcntl): F_DUPFD/F_DUPFD_CLOEXEC (the lowest free fd at or above arg),
 * F_GETFD/F_SETFD, F_GETFL/F_SETFL for pipes (O_NONBLOCK, O_DIRECT) and the named files,
 * F_GETPIPE_SZ/F_SETPIPE_SZ (-EBADF on anything but a pipe).
 */
export function fcntl(this: Kernel, p: Process, fd: number, cmd: number, arg: bigint, nr: number): bigint {
  const f = p.files.get(fd);
  if (!f) return neg(Errno.EBADF);
  switch (cmd as Fcntl) {
    case Fcntl.F_DUPFD: case Fcntl.F_DUPFD_CLOEXEC: {
      const from = Number(BigInt.asUintN(32, arg));
      if (from >= nofileLimit(p)) return neg(Errno.EINVAL);
      let nfd = from;
      while (p.files.has(nfd)) nfd++;
      if (nfd >= nofileLimit(p)) return neg(Errno.EMFILE);
      p.files.set(nfd, this.retain(f));
      if (cmd === Fcntl.F_DUPFD_CLOEXEC) p.cloexec.add(nfd); else p.cloexec.delete(nfd);
      return BigInt(nfd);
    }
    case Fcntl.F_GETFD: return p.cloexec.has(fd) ? BigInt(FD_CLOEXEC) : 0n;
    case Fcntl.F_SETFD: if (Number(arg) & FD_CLOEXEC) p.cloexec.add(fd); else p.cloexec.delete(fd); return 0n;
    case Fcntl.F_GETFL:
      if (f.kind === 'pipe') return BigInt((f.write ? O_WRONLY : O_RDONLY) | f.flags);
      if (f.kind === 'file') return BigInt(O_RDONLY);
      if (f.kind === 'signalfd' || f.kind === 'eventfd' || f.kind === 'timerfd' || f.kind === 'socket') return BigInt(O_RDWR | f.flags); // anon_inode_getfile(O_RDWR | (flags & O_NONBLOCK))
      if (f.kind === 'epoll') return BigInt(O_RDWR); // do_epoll_create: O_RDWR
      return this.unmodelled(nr);
    case Fcntl.F_SETFL:
      // setfl on an anonymous-inode file: the model keeps O_NONBLOCK, the only SETFL_MASK bit these files act on (O_APPEND and O_NOATIME are not kept).
      if (f.kind === 'signalfd' || f.kind === 'eventfd' || f.kind === 'timerfd' || f.kind === 'socket') { f.flags = Number(arg) & O_NONBLOCK; return 0n; }
      if (f.kind !== 'pipe') return this.unmodelled(nr);
      f.flags = (f.flags & ~PIPE_SETFL_MASK) | (Number(arg) & PIPE_SETFL_MASK);
      return 0n;
    case Fcntl.F_GETPIPE_SZ: return f.kind === 'pipe' ? pipe_get_size(f.pipe) : neg(Errno.EBADF);
    case Fcntl.F_SETPIPE_SZ: return f.kind === 'pipe' ? pipe_set_size(f.pipe, arg) : neg(Errno.EBADF);
    default: return this.unmodelled(nr);
  }
}
