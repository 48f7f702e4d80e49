/**
 * mprotect and pkey_mprotect (mm/mprotect.c do_mprotect_pkey, mprotect_fixup, Linux 6.18).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { GUEST_PAGE } from '../../../emulator/machine.js';
import { Errno, PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP, PROT_READ, PROT_SEM, PROT_WRITE } from '../abi.js';
import { arch_override_mprotect_pkey, mm_pkey_is_allocated } from '../arch/x86/mm/pkeys.js';
import type { Kernel } from '../kernel.js';
import { neg, pageAlign, Task } from '../sched.js';
import { may_expand_vm, VM_ACCOUNT, VM_GROWSDOWN, VM_NO_MAYWRITE, VM_NORESERVE, VM_SHARED, vm_enough_memory } from './mmap.js';

/**
 * do_mprotect_pkey (mm/mprotect.c): EINVAL for PROT_GROWSDOWN with PROT_GROWSUP, an unaligned
 * start, prot bits x86 does not know (arch_validate_prot) or a key not allocated; 0 for length 0;
 * ENOMEM when the length overflows or the start is not mapped. The mappings are changed one after
 * the other up to the first hole, which answers ENOMEM (the ones before keep their change). Making
 * a private, unaccounted mapping writable charges it (mprotect_fixup: ENOMEM past the overcommit
 * heuristic). PROT_GROWSDOWN extends the change down to the start of a stack mapping. `pkey` is -1
 * for mprotect.
 */
export function do_mprotect_pkey(this: Kernel, t: Task, start: bigint, len: bigint, protArg: number, pkey: number): bigint {
  const p = t.proc;
  const m = p.machine;
  const ospke = this.view.cr4Pke.value;
  const grows = protArg & (PROT_GROWSDOWN | PROT_GROWSUP);
  let prot = protArg & ~(PROT_GROWSDOWN | PROT_GROWSUP);
  if (grows === (PROT_GROWSDOWN | PROT_GROWSUP)) return neg(Errno.EINVAL);
  if (start % GUEST_PAGE) return neg(Errno.EINVAL);
  if (len === 0n) return 0n;
  const size = pageAlign(len) & ((1n << 64n) - 1n);
  const end = start + size;
  if (size === 0n || end >= 1n << 64n) return neg(Errno.ENOMEM);
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) return neg(Errno.EINVAL);
  prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
  if (pkey !== -1 && !mm_pkey_is_allocated(p.pkeys, pkey, ospke)) return neg(Errno.EINVAL);
  const vma = m.mappings().find((r) => r.end > start && r.start < end);
  if (!vma) return neg(Errno.ENOMEM);
  if (grows & PROT_GROWSDOWN) {
    if (vma.start >= end) return neg(Errno.ENOMEM);
    start = vma.start;
    if (!((vma.vmFlags ?? 0) & VM_GROWSDOWN)) return neg(Errno.EINVAL);
  } else if (vma.start > start) return neg(Errno.ENOMEM);
  else if (grows & PROT_GROWSUP) return neg(Errno.EINVAL); // no VM_GROWSUP mappings on x86
  let tmp = start;
  // Snapshot: the loop changes the mapping list.
  const pieces = m.mappings().filter((r) => r.end > start && r.start < end).map((r) => ({ ...r }));
  for (const r of pieces) {
    if (r.start > tmp) return neg(Errno.ENOMEM);
    const lo = r.start > start ? r.start : start;
    const hi = r.end < end ? r.end : end;
    const newKey = arch_override_mprotect_pkey(p.pkeys, t.fpu, ospke, { prot: r.prot, pkey: r.pkey ?? 0 }, prot, pkey);
    let vmFlags = r.vmFlags ?? 0;
    // (newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS: writable without VM_MAYWRITE (a shared mapping of a read-only file).
    if ((prot & PROT_WRITE) && (vmFlags & VM_NO_MAYWRITE)) return neg(Errno.EACCES);
    // mprotect_fixup: a mapping turning into data must fit RLIMIT_AS/RLIMIT_DATA (may_expand_vm with
    // the new flags failing where the old ones pass); a private one turning writable is charged
    // unless already accounted, shared or noreserve.
    if ((prot & PROT_WRITE) && !may_expand_vm(p, prot, vmFlags, (hi - lo) / GUEST_PAGE) && may_expand_vm(p, r.prot, vmFlags, (hi - lo) / GUEST_PAGE)) return neg(Errno.ENOMEM);
    if ((prot & PROT_WRITE) && !(vmFlags & (VM_ACCOUNT | VM_NORESERVE | VM_SHARED)) && !(r.prot & PROT_WRITE)) {
      if (!vm_enough_memory(hi - lo)) return neg(Errno.ENOMEM);
      vmFlags |= VM_ACCOUNT;
    }
    m.protect(lo, hi - lo, prot, newKey, vmFlags);
    tmp = hi;
  }
  // The execute-only key may have changed this thread's PKRU: unicorn's protections follow.
  m.syncPkru();
  return tmp < end ? neg(Errno.ENOMEM) : 0n;
}
