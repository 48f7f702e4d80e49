/**
 * mremap (mm/mremap.c, Linux 6.18).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { GUEST_PAGE } from '../../../emulator/machine.js';
import { Errno, MREMAP_FIXED, MREMAP_MAYMOVE } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, pageAlign, Process } from '../sched.js';
import { TASK_SIZE, VM_ACCOUNT, vm_enough_memory } from './mmap.js';

/**
 * mremap without MREMAP_FIXED: EINVAL for an unaligned address or length 0 (and MREMAP_FIXED, not
 * modelled); EFAULT when the old range is not inside one mapping (vma_lookup, resize_is_valid);
 * shrinking unmaps the tail; growing charges an accounted mapping (ENOMEM past the overcommit
 * heuristic), grows in place when the pages after it are free, else moves it with MREMAP_MAYMOVE
 * (ENOMEM without). A move carries the mapping's key and flags and its touched pages.
 */
export function mremap(this: Kernel, p: Process, old: bigint, oldLen: bigint, newLen: bigint, flags: number): bigint {
  const m = p.machine;
  if (old % GUEST_PAGE || newLen === 0n || (flags & MREMAP_FIXED)) return neg(Errno.EINVAL);
  const os = pageAlign(oldLen), ns = pageAlign(newLen);
  if (ns > TASK_SIZE) return neg(Errno.ENOMEM);
  const vma = m.regionAt(old);
  if (!vma || os > vma.end - old) return neg(Errno.EFAULT);
  if (ns <= os) { if (ns < os) m.unmap(old + ns, os - ns); return old; }
  if (((vma.vmFlags ?? 0) & VM_ACCOUNT) && !vm_enough_memory(ns - os)) return neg(Errno.ENOMEM);
  const extra = { pkey: vma.pkey ?? 0, vmFlags: vma.vmFlags ?? 0 };
  if (old + ns <= TASK_SIZE && !m.mappings().some((r) => r.start < old + ns && r.end > old + os)) {
    m.map(old + os, ns - os, vma.prot, undefined, extra);
    return old;
  }
  if (!(flags & MREMAP_MAYMOVE)) return neg(Errno.ENOMEM);
  const at = this.findFree(m, ns);
  if (at === undefined) return neg(Errno.ENOMEM);
  const contents = m.backedContents(old, old + os);
  m.map(at, ns, vma.prot, undefined, extra);
  for (const c of contents) m.poke(at + (c.addr - old), c.bytes);
  m.unmap(old, os);
  return at;
}
