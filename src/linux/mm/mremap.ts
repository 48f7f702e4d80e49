/**
 * mremap (mm/mremap.c, Linux 6.18).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { GUEST_PAGE, type Machine, type Region } from '../../../emulator/machine.js';
import { Errno, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE } from '../abi.js';
import type { Kernel } from '../kernel.js';
import { neg, pageAlign, Process } from '../sched.js';
import { processVmas } from '../fs/proc/task_mmu.js';
import { fileOffset, map_file_pages } from './filemap.js';
import { may_expand_vm, TASK_SIZE, VM_ACCOUNT, vm_enough_memory } from './mmap.js';

/**
 * mremap (do_mremap, check_mremap_params, remap_move, Linux 6.18): EINVAL for unknown flags, an
 * unaligned address, length 0, MREMAP_FIXED or MREMAP_DONTUNMAP without MREMAP_MAYMOVE,
 * MREMAP_DONTUNMAP with another length, and for MREMAP_FIXED a new address that is unaligned,
 * ends past TASK_SIZE or overlaps the old range; EFAULT when the old range is not inside one
 * mapping (vma_lookup at its start; resize_is_valid after a shrink, which may cross mappings); EINVAL for a new length past TASK_SIZE; ENOMEM when growing passes RLIMIT_AS/RLIMIT_DATA
 * (may_expand_vm) or, for an accounted mapping, the overcommit heuristic. Without a new address:
 * shrinking unmaps the tail; growing grows in place when the pages after it are free, else moves
 * it with MREMAP_MAYMOVE (ENOMEM without). MREMAP_FIXED unmaps the target first and moves there;
 * MREMAP_DONTUNMAP moves the pages and leaves the old range mapped and empty (it is charged again,
 * may_expand_vm). A move carries the mapping's protection, key, flags and touched pages.
 */
export function mremap(this: Kernel, p: Process, old: bigint, oldLen: bigint, newLen: bigint, flags: number, newAddr: bigint): bigint {
  const m = p.machine;
  if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) return neg(Errno.EINVAL);
  if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && !(flags & MREMAP_MAYMOVE)) return neg(Errno.EINVAL);
  if (old % GUEST_PAGE) return neg(Errno.EINVAL);
  const os = pageAlign(oldLen), ns = pageAlign(newLen) & ((1n << 64n) - 1n);
  if ((flags & MREMAP_DONTUNMAP) && os !== ns) return neg(Errno.EINVAL);
  if (ns === 0n) return neg(Errno.EINVAL);
  if (ns > TASK_SIZE) return neg(Errno.EINVAL);
  if (flags & MREMAP_FIXED) {
    if (newAddr % GUEST_PAGE || newAddr > TASK_SIZE - ns) return neg(Errno.EINVAL);
    if (old + os > newAddr && newAddr + ns > old) return neg(Errno.EINVAL);
  }
  const vma = m.regionAt(old);
  if (!vma) return neg(Errno.EFAULT);
  const extra = { pkey: vma.pkey ?? 0, vmFlags: vma.vmFlags ?? 0 };
  if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) return this.mremap_to(p, vma, old, os, ns, flags, newAddr);
  // A shrink only unmaps the tail, across mapping boundaries too (do_vmi_munmap).
  if (ns <= os) { if (ns < os) m.unmap(old + ns, os - ns); return old; }
  if (os > vmaEnd(p, old) - old) return neg(Errno.EFAULT);
  if (!may_expand_vm(p, vma.prot, extra.vmFlags, (ns - os) / GUEST_PAGE)) return neg(Errno.ENOMEM);
  if ((extra.vmFlags & VM_ACCOUNT) && !vm_enough_memory(ns - os)) return neg(Errno.ENOMEM);
  if (old + ns <= TASK_SIZE && !m.mappings().some((r) => r.start < old + ns && r.end > old + os)) {
    if (vma.file) map_file_pages(m, old + os, ns - os, vma.prot, extra, vma.file, fileOffset(vma.file, old + os));
    else m.map(old + os, ns - os, vma.prot, undefined, extra);
    return old;
  }
  if (!(flags & MREMAP_MAYMOVE)) return neg(Errno.ENOMEM);
  const at = this.findFree(m, ns);
  if (at === undefined) return neg(Errno.ENOMEM);
  move_vma(m, vma, old, os, ns, at, false);
  return at;
}

/**
 * mremap_to (mm/mremap.c): the target of MREMAP_FIXED is unmapped first, a shrink unmaps the old
 * tail, growth and MREMAP_DONTUNMAP's second copy must pass may_expand_vm, then the move.
 */
export function mremap_to(this: Kernel, p: Process, vma: Region, old: bigint, os: bigint, ns: bigint, flags: number, newAddr: bigint): bigint {
  const m = p.machine;
  const prot = vma.prot, vmFlags = vma.vmFlags ?? 0;
  if (flags & MREMAP_FIXED) m.unmap(newAddr, ns);
  if (os > ns) { m.unmap(old + ns, os - ns); os = ns; }
  // resize_is_valid: the old range inside the one mapping.
  if (os > vmaEnd(p, old) - old) return neg(Errno.EFAULT);
  if (ns > os && !may_expand_vm(p, prot, vmFlags, (ns - os) / GUEST_PAGE)) return neg(Errno.ENOMEM);
  if ((flags & MREMAP_DONTUNMAP) && !may_expand_vm(p, prot, vmFlags, os / GUEST_PAGE)) return neg(Errno.ENOMEM);
  const at = flags & MREMAP_FIXED ? newAddr : this.findFree(m, ns);
  if (at === undefined) return neg(Errno.ENOMEM);
  // move_vma: an accounted mapping charges its new length.
  if ((vmFlags & VM_ACCOUNT) && !vm_enough_memory(ns)) return neg(Errno.ENOMEM);
  move_vma(m, vma, old, os, ns, at, (flags & MREMAP_DONTUNMAP) !== 0);
  return at;
}

/**
 * The end of the VMA holding `addr` as Linux would have merged its pieces (vma_merge: a growth in
 * place or an mprotect back joins its neighbour), assumption `proc-maps-merge` as /proc/<pid>/maps shows it.
 */
function vmaEnd(p: Process, addr: bigint): bigint {
  return processVmas(p).find((v) => v.start <= addr && addr < v.end)?.end ?? addr;
}

/** move_vma: the pages of [old, old + os) go to `at` (ns bytes, the rest zero); the old range is unmapped, or with MREMAP_DONTUNMAP left mapped and empty. */
function move_vma(m: Machine, vma: Region, old: bigint, os: bigint, ns: bigint, at: bigint, dontUnmap: boolean): void {
  const prot = vma.prot, extra = { pkey: vma.pkey ?? 0, vmFlags: vma.vmFlags ?? 0 };
  // The pieces of the old range (a file mapping's part past EOF is one) and their touched pages.
  const pieces = m.mappings().filter((r) => r.end > old && r.start < old + os).map((r) => ({ ...r }));
  const contents = m.backedContents(old, old + os);
  if (vma.file) {
    // A file mapping keeps its file offsets (pgoff) at the new address: the grown part is the file's next pages.
    map_file_pages(m, at, ns, prot, extra, vma.file, fileOffset(vma.file, old));
    for (const c of contents) {
      const piece = pieces.find((r) => r.start <= c.addr && c.addr < r.end);
      if (!piece?.file?.beyondEof) m.poke(at + (c.addr - old), c.bytes);
    }
  } else {
    m.map(at, ns, prot, undefined, extra);
    for (const c of contents) m.poke(at + (c.addr - old), c.bytes);
  }
  m.unmap(old, os);
  if (dontUnmap) {
    if (vma.file) map_file_pages(m, old, os, prot, extra, vma.file, fileOffset(vma.file, old));
    else m.map(old, os, prot, undefined, extra);
  }
}
