/**
 * mremap (mm/mremap.c, Linux 6.18).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { GUEST_PAGE } from '../../../emulator/machine.js';
import { Errno, MREMAP_FIXED, MREMAP_MAYMOVE } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, pageAlign, Process } from '../sched.js';

export function mremap(this: Kernel, p: Process, old: bigint, oldLen: bigint, newLen: bigint, flags: number): bigint {
  const m = p.machine;
  if (old % GUEST_PAGE || newLen === 0n || (flags & MREMAP_FIXED)) return neg(Errno.EINVAL);
  const os = pageAlign(oldLen), ns = pageAlign(newLen);
  if (!m.isMapped(old, old + os)) return neg(Errno.EFAULT);
  const prot = m.mappings().find((r) => r.start <= old && r.end > old)!.prot;
  if (ns <= os) { if (ns < os) m.unmap(old + ns, os - ns); return old; }
  if (!m.mappings().some((r) => r.start < old + ns && r.end > old + os)) {
    m.map(old + os, ns - os, prot);
    return old;
  }
  if (!(flags & MREMAP_MAYMOVE)) return neg(Errno.ENOMEM);
  const at = this.findFree(m, ns);
  if (at === undefined) return neg(Errno.ENOMEM);
  const bytes = m.uc.memRead(old, Number(os));
  m.map(at, ns, prot, bytes);
  m.unmap(old, os);
  return at;
}
