/**
 * brk and mmap (mm/mmap.c, Linux 6.18): anonymous mappings, top-down placement.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { GUEST_PAGE, Machine } from '../../../emulator/machine.js';
import { Prot } from '../../../emulator/unicorn.js';
import { Errno, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, pageAlign, Process } from '../sched.js';

/** The top of the user stack: TASK_SIZE (arch/x86/include/asm/page_64_types.h, 4-level paging). */
export const STACK_TOP = 0x7ffffffff000n;
/** RLIMIT_STACK default, 8 MiB (include/uapi/linux/resource.h _STK_LIM); mapped whole, no growth. */
export const STACK_SIZE = 8n * 1024n * 1024n;
/** Where top-down mmap starts: below the stack and the 128 MiB minimum gap (mm/util.c mmap_base, MIN_GAP). */
const MMAP_BASE = STACK_TOP - STACK_SIZE - 128n * 1024n * 1024n;
/** mmap_min_addr default (mm/Kconfig DEFAULT_MMAP_MIN_ADDR = 65536). */
const MMAP_MIN_ADDR = 0x10000n;

export function brk(this: Kernel, p: Process, want: bigint): bigint {
  const m = p.machine;
  if (want < p.brkStart) return p.brk;
  const oldTop = pageAlign(p.brk), newTop = pageAlign(want);
  if (newTop > oldTop) {
    if (m.mappings().some((r) => r.start < newTop && r.end > oldTop)) return p.brk;
    m.map(oldTop, newTop - oldTop, Prot.READ | Prot.WRITE);
  } else if (newTop < oldTop) m.unmap(newTop, oldTop - newTop);
  p.brk = want;
  return p.brk;
}

/** The highest free range of `len` bytes below MMAP_BASE (top-down allocation, mm/mmap.c). */
export function findFree(this: Kernel, m: Machine, len: bigint): bigint | undefined {
  let top = MMAP_BASE;
  const regions = [...m.mappings()].sort((a, b) => (a.start > b.start ? -1 : 1));
  for (const r of regions) {
    if (r.start >= top) continue; // above the search window
    if (r.end <= top - len) return top - len;
    top = r.start < top ? r.start : top;
  }
  return top - len >= MMAP_MIN_ADDR ? top - len : undefined;
}

export function mmap(this: Kernel, p: Process, addr: bigint, len: bigint, prot: number, flags: number, fd: number): bigint {
  const m = p.machine;
  if (!(flags & MAP_ANONYMOUS)) return fd >= 0 && p.files.has(fd) ? neg(Errno.EACCES) : neg(Errno.EBADF);
  if (len === 0n || addr % GUEST_PAGE) return neg(Errno.EINVAL);
  const size = pageAlign(len);
  let at: bigint | undefined;
  if (flags & MAP_FIXED) at = addr;
  else if (addr && addr >= MMAP_MIN_ADDR && !m.mappings().some((r) => r.start < addr + size && r.end > addr)) at = addr;
  else if (flags & MAP_FIXED_NOREPLACE) return neg(Errno.EINVAL);
  else at = this.findFree(m, size);
  if (at === undefined) return neg(Errno.ENOMEM);
  m.map(at, size, prot & 7);
  return at;
}
