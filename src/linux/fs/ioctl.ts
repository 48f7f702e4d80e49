/**
 * ioctl (fs/ioctl.c, Linux 6.18): pipes' FIONREAD and the KVM file descriptors.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { socketInq } from '../net/socket.js';
import { Errno, FIONREAD } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { kvmIoctl } from '../kvm-dev.js';
import { neg, Process } from '../sched.js';

export function ioctl(this: Kernel, p: Process, fd: number, cmd: number, arg: bigint): bigint {
  const f = p.files.get(fd);
  if (!f) return neg(Errno.EBADF);
  if (f.kind === 'pipe') {
    // pipe_ioctl: FIONREAD, the bytes in the pipe; anything else -ENOIOCTLCMD, -ENOTTY to user space.
    if (cmd !== FIONREAD) return neg(Errno.ENOTTY);
    p.machine.writeU32(arg, f.pipe.bytes);
    return 0n;
  }
  // signalfd_fops, eventfd_fops and eventpoll_fops have no ioctl; timerfd's TFD_IOC_SET_TICKS is not modelled.
  if (f.kind === 'host' || f.kind === 'file' || f.kind === 'signalfd' || f.kind === 'eventfd' || f.kind === 'epoll' || f.kind === 'timerfd') return neg(Errno.ENOTTY);
  if (f.kind === 'socket') {
    // unix_ioctl SIOCINQ (FIONREAD): unix_inq_len; other commands -ENOTTY.
    if (cmd !== FIONREAD) return neg(Errno.ENOTTY);
    p.machine.writeU32(arg, socketInq(f));
    return 0n;
  }
  const m = p.machine;
  return kvmIoctl(f, cmd, arg, {
    mm: p, host: p.kvm,
    read: (a, n) => m.read(a, n), write: (a, d) => m.write(a, d),
    installFd: (nf) => this.installFd(p, nf, true), // anon_inode_getfd(..., O_RDWR | O_CLOEXEC)
    warn: (key, line) => { if (!this.kvmWarnings.has(key)) { this.kvmWarnings.add(key); this.o.stderr(line); } },
  });
}
