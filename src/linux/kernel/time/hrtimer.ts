/**
 * nanosleep and clock_nanosleep (kernel/time/hrtimer.c hrtimer_nanosleep, do_nanosleep,
 * hrtimer_nanosleep_restart, Linux 6.18) on the virtual clock.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { GuestMemoryFault } from '../../../../emulator/machine.js';
import { Errno } from '../../abi.js';
import { ERESTARTNOHAND, ERESTART_RESTARTBLOCK } from '../../errno.js';
import type { Kernel } from '../../kernel.js';
import { neg, Task } from '../../sched.js';

/**
 * Sleep until `deadline` (virtual-clock ns). A signal ends an absolute sleep with -ERESTARTNOHAND
 * (made again as it was); a relative one writes the time left to `rmtp` (nanosleep_copyout) and
 * gives -ERESTART_RESTARTBLOCK, whose restart_syscall sleeps on to the same expiry.
 */
export function hrtimerNanosleep(this: Kernel, t: Task, deadline: bigint, relative: boolean, rmtp: bigint): bigint | 'stop' {
  return this.block(t, {
    what: 'nanosleep', deadline, onTimeout: () => 0n, retry: () => (this.clockNs >= deadline ? 0n : undefined),
    restart: relative ? ERESTART_RESTARTBLOCK : ERESTARTNOHAND,
    interrupted: () => {
      if (!relative) return neg(ERESTARTNOHAND as Errno);
      if (rmtp) {
        const left = deadline > this.clockNs ? deadline - this.clockNs : 0n;
        try { this.writeTimespec(t.proc.machine, rmtp, left, 1n); } catch (e) { if (e instanceof GuestMemoryFault) return neg(Errno.EFAULT); throw e; }
      }
      t.restartBlock = () => this.hrtimerNanosleep(t, deadline, true, rmtp);
      return neg(ERESTART_RESTARTBLOCK as Errno);
    },
  });
}
