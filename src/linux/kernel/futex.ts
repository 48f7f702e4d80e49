/**
 * futex (kernel/futex/syscalls.c, waitwake.c, requeue.c, Linux 6.18): wait, wake, requeue.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Machine } from '../../../emulator/machine.js';
import { Errno, FUTEX_CLOCK_REALTIME, FUTEX_PRIVATE_FLAG, FutexOp } from '../abi.js';
import { ERESTARTSYS, ERESTART_RESTARTBLOCK } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { CLOCK_EPOCH_NS } from './time/posix-timers.js';
import { neg, Task } from '../sched.js';

export function futex(this: Kernel, t: Task, uaddr: bigint, op: number, val: bigint, timeout: bigint, uaddr2: bigint, val3: bigint): bigint | 'stop' {
  const m = t.proc.machine;
  const cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
  switch (cmd as FutexOp) {
    case FutexOp.WAIT: case FutexOp.WAIT_BITSET: {
      if (m.readU32(uaddr) !== Number(val & 0xffffffffn)) return neg(Errno.EAGAIN);
      let deadline: bigint | undefined;
      if (timeout) {
        const ns = this.readTimespec(m, timeout);
        deadline = cmd === FutexOp.WAIT ? this.clockNs + ns : ns + ((op & FUTEX_CLOCK_REALTIME) ? 0n : CLOCK_EPOCH_NS);
      }
      return this.futexWait(t, uaddr, Number(val & 0xffffffffn), deadline);
    }
    case FutexOp.WAKE: case FutexOp.WAKE_BITSET: return BigInt(this.futexWake(m, uaddr, Number(val)));
    case FutexOp.REQUEUE: case FutexOp.CMP_REQUEUE: {
      if (cmd === FutexOp.CMP_REQUEUE && m.readU32(uaddr) !== Number(val3 & 0xffffffffn)) return neg(Errno.EAGAIN);
      const woken = this.futexWake(m, uaddr, Number(val));
      let moved = 0;
      for (const w of this.futexWaiters) {
        if (moved >= Number(timeout & 0x7fffffffn)) break;
        if (w.wait?.futex?.machine === m && w.wait.futex.addr === uaddr) { w.wait.futex.addr = uaddr2; moved++; }
      }
      return BigInt(woken + moved);
    }
    default: return neg(Errno.ENOSYS);
  }
}

/**
 * futex_wait() (kernel/futex/waitwake.c) after the value check: sleep until woken, the deadline
 * (-ETIMEDOUT) or a signal: -ERESTARTSYS without a timeout; with one, -ERESTART_RESTARTBLOCK and
 * a restart (futex_wait_restart) that checks the value again and sleeps to the same deadline.
 */
export function futexWait(this: Kernel, t: Task, uaddr: bigint, val: number, deadline: bigint | undefined): 'stop' {
  const m = t.proc.machine;
  this.futexWaiters.push(t);
  return this.block(t, {
    what: 'futex wait', futex: { machine: m, addr: uaddr }, deadline, onTimeout: () => neg(Errno.ETIMEDOUT),
    interrupted: () => {
      if (deadline === undefined) return neg(ERESTARTSYS as Errno);
      t.restartBlock = () => (m.readU32(uaddr) !== val ? neg(Errno.EAGAIN) : this.futexWait(t, uaddr, val, deadline));
      return neg(ERESTART_RESTARTBLOCK as Errno);
    },
  });
}

export function futexWake(this: Kernel, m: Machine, addr: bigint, n: number): number {
  let woken = 0;
  for (const w of [...this.futexWaiters]) {
    if (woken >= n) break;
    if (w.wait?.futex?.machine === m && w.wait.futex.addr === addr) { this.wake(w, 0n); woken++; }
  }
  return woken;
}
