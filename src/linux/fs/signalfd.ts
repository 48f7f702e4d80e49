/**
 * signalfd (fs/signalfd.c, Linux 6.18): a descriptor that reads the caller's pending signals of a
 * set as struct signalfd_siginfo.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno, O_CLOEXEC, O_NONBLOCK, Sig } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, type Process, sigBit, UNBLOCKABLE, Task } from '../sched.js';
import { wake_up_poll } from '../kernel/sched/wait.js';
import { encodeSigInfo, type SigInfo } from '../signal-frame.js';

/** A signalfd: the signals it reads (ctx->sigmask, stored complemented in Linux) and its O_NONBLOCK. */
export interface SignalFile { kind: 'signalfd'; mask: bigint; flags: number }

/** signalfd_notify (__send_signal_locked): every signal queued wakes the sighand's signalfd queue with no key. */
export function signalfd_notify(p: Process): void {
  if (p.signalfdWait.active) wake_up_poll(p.signalfdWait, 0);
}

/** sizeof(struct signalfd_siginfo) (include/uapi/linux/signalfd.h). */
export const SIGNALFD_SIGINFO_BYTES = 128;
/** SFD_CLOEXEC and SFD_NONBLOCK (include/uapi/linux/signalfd.h): O_CLOEXEC and O_NONBLOCK. */
const SFD_FLAGS = O_CLOEXEC | O_NONBLOCK;
/** sizeof(sigset_t) signalfd takes. */
const SIGSET_BYTES = 8n;

/**
 * signalfd4 (do_signalfd4): -EINVAL for other flags or a size other than sigset_t's; SIGKILL and
 * SIGSTOP are never read; fd -1 makes a new descriptor, else it must be a signalfd (-EBADF for no
 * descriptor, -EINVAL for another kind) whose set is replaced.
 */
export function signalfd4(this: Kernel, t: Task, fd: number, umask: bigint, size: bigint, flags: number): bigint {
  if ((flags & ~SFD_FLAGS) !== 0 || size !== SIGSET_BYTES) return neg(Errno.EINVAL);
  const p = t.proc;
  const mask = p.machine.readU64(umask) & ~UNBLOCKABLE;
  if (fd === -1) {
    const f: SignalFile = { kind: 'signalfd', mask, flags: flags & O_NONBLOCK };
    return BigInt(this.installFd(p, f, (flags & O_CLOEXEC) !== 0));
  }
  const f = p.files.get(fd);
  if (!f) return neg(Errno.EBADF);
  if (f.kind !== 'signalfd') return neg(Errno.EINVAL);
  f.mask = mask;
  return BigInt(fd);
}

/** siginfo_layout() (kernel/signal.c) as signalfd_copyinfo needs it. */
enum Layout { KILL, TIMER, POLL, FAULT, CHLD, RT, SYS }
/** SI_TIMER, SI_SIGIO (include/uapi/asm-generic/siginfo.h) and SI_KERNEL. */
const SI_TIMER = -2;
const SI_SIGIO = -5;
const SI_KERNEL = 0x80;
/** NSIGPOLL and each signal's number of si_codes (sig_sicodes[]: NSIGILL, NSIGFPE, NSIGSEGV, NSIGBUS, NSIGTRAP, NSIGCHLD, NSIGSYS). */
const NSIGPOLL = 6;
const SIG_SICODES: Partial<Record<number, { limit: number; layout: Layout }>> = {
  [Sig.SIGILL]: { limit: 11, layout: Layout.FAULT }, [Sig.SIGFPE]: { limit: 15, layout: Layout.FAULT },
  [Sig.SIGSEGV]: { limit: 10, layout: Layout.FAULT }, [Sig.SIGBUS]: { limit: 5, layout: Layout.FAULT },
  [Sig.SIGTRAP]: { limit: 6, layout: Layout.FAULT }, [Sig.SIGCHLD]: { limit: 6, layout: Layout.CHLD },
  [Sig.SIGSYS]: { limit: 2, layout: Layout.SYS },
};

function siginfo_layout(sig: number, code: number): Layout {
  if (code > 0 && code < SI_KERNEL) {
    const s = SIG_SICODES[sig];
    if (s && code <= s.limit) return s.layout; // x86 has no SIL_FAULT_TRAPNO; MCEERR/BNDERR/PKUERR copy like SIL_FAULT here
    return code <= NSIGPOLL ? Layout.POLL : Layout.KILL;
  }
  if (code === SI_TIMER) return Layout.TIMER;
  if (code === SI_SIGIO) return Layout.POLL;
  return code < 0 ? Layout.RT : Layout.KILL;
}

/**
 * signalfd_copyinfo(): struct signalfd_siginfo from the siginfo_t by its layout (ssi_signo 0,
 * errno 4, code 8, pid 12, uid 16, fd 20, tid 24, band 28, overrun 32, trapno 36, status 40, int
 * 44, ptr 48, utime 56, stime 64, addr 72, addr_lsb 80, syscall 84, call_addr 88, arch 96).
 */
export function signalfd_copyinfo(info: SigInfo): Uint8Array {
  const si = new DataView(encodeSigInfo(info).buffer);
  const b = new Uint8Array(SIGNALFD_SIGINFO_BYTES);
  const o = new DataView(b.buffer);
  const signo = si.getInt32(0, true), code = si.getInt32(8, true);
  o.setUint32(0, signo, true);
  o.setInt32(4, si.getInt32(4, true), true);
  o.setInt32(8, code, true);
  const pidUid = (): void => { o.setUint32(12, si.getUint32(16, true), true); o.setUint32(16, si.getUint32(20, true), true); };
  const sigval = (): void => { o.setBigUint64(48, si.getBigUint64(24, true), true); o.setInt32(44, si.getInt32(24, true), true); };
  switch (siginfo_layout(signo, code)) {
    case Layout.KILL: pidUid(); break;
    case Layout.TIMER: o.setUint32(24, si.getUint32(16, true), true); o.setUint32(32, si.getUint32(20, true), true); sigval(); break;
    case Layout.POLL: o.setUint32(28, Number(si.getBigUint64(16, true) & 0xffffffffn), true); o.setInt32(20, si.getInt32(24, true), true); break;
    case Layout.FAULT: o.setBigUint64(72, si.getBigUint64(16, true), true); break;
    case Layout.CHLD:
      pidUid();
      o.setInt32(40, si.getInt32(24, true), true);
      o.setBigUint64(56, si.getBigUint64(32, true), true);
      o.setBigUint64(64, si.getBigUint64(40, true), true);
      break;
    case Layout.RT: pidUid(); sigval(); break;
    case Layout.SYS: o.setBigUint64(88, si.getBigUint64(16, true), true); o.setInt32(84, si.getInt32(24, true), true); o.setUint32(96, si.getUint32(28, true), true); break;
  }
  return b;
}

/**
 * signalfd_read_iter(): count / 128 records (-EINVAL for none); the first waits for a signal of the
 * set (-EAGAIN with O_NONBLOCK), the others are taken only if already pending; the caller's own
 * queue first, then its process's (dequeue_signal). A sleep a handled signal ends is -ERESTARTSYS.
 */
export function signalfdRead(this: Kernel, t: Task, f: SignalFile, buf: bigint, count: number): bigint | 'stop' {
  const n = Math.floor(count / SIGNALFD_SIGINFO_BYTES);
  if (n === 0) return neg(Errno.EINVAL);
  const m = t.proc.machine;
  const take = (): bigint | undefined => {
    let got = 0;
    while (got < n) {
      const x = this.dequeueSignal(t, (y) => (f.mask & sigBit(y.info.signo)) !== 0n && !y.forced);
      if (!x) break;
      m.write(buf + BigInt(got * SIGNALFD_SIGINFO_BYTES), signalfd_copyinfo(x.info));
      got++;
    }
    return got ? BigInt(got * SIGNALFD_SIGINFO_BYTES) : undefined;
  };
  const now = take();
  if (now !== undefined) return now;
  if (f.flags & O_NONBLOCK) return neg(Errno.EAGAIN);
  return this.block(t, { what: 'signalfd read', retry: take });
}
