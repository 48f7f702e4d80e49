/**
 * brk, mmap, munmap and the stack that grows down (mm/mmap.c, mm/vma.c, mm/util.c,
 * arch/x86/kernel/sys_x86_64.c, Linux 6.18): anonymous mappings, top-down placement, the
 * overcommit heuristic, expand_downwards with RLIMIT_STACK and the stack guard gap.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { resolve } from 'node:path';
import { GUEST_PAGE, Machine, type Region } from '../../../emulator/machine.js';
import { Prot } from '../../../emulator/unicorn.js';
import { Errno, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE, MAP_TYPE, PROT_EXEC } from '../abi.js';
import { execute_only_pkey } from '../arch/x86/mm/pkeys.js';
import type { Kernel } from '../kernel.js';
import { MODELLED_TOTALRAM_BYTES, RLIM_INFINITY, Rlimit } from '../kernel/sys.js';
import { type FileRef, type MemFile, neg, pageAlign, Process } from '../sched.js';
import { map_file_pages, offsetAligned } from './filemap.js';

/** TASK_SIZE_MAX with 4-level paging (arch/x86/include/asm/page_64_types.h): 2^47 - one page (the loader's). */
export { TASK_SIZE } from '../../loader/elf.js';
import { TASK_SIZE } from '../../loader/elf.js';
/** The top of the user stack: STACK_TOP = TASK_SIZE (no stack randomisation in the model). */
export const STACK_TOP = TASK_SIZE;
/** RLIMIT_STACK default, 8 MiB (include/uapi/linux/resource.h _STK_LIM). */
export const STACK_SIZE = 8n * 1024n * 1024n;
/**
 * Where top-down mmap starts: below the stack and the 128 MiB minimum gap (mm/util.c mmap_base,
 * MIN_GAP). Assumption `fixed-mmap-base`: computed once from the 8 MiB default, not from the
 * RLIMIT_STACK at exec (Linux's gap is that limit plus the guard gap, at least 128 MiB).
 */
const MMAP_BASE = STACK_TOP - STACK_SIZE - 128n * 1024n * 1024n;
/** TASK_UNMAPPED_BASE (arch/x86/include/asm/processor.h): PAGE_ALIGN(TASK_SIZE / 3), the bottom-up fallback's start. */
const TASK_UNMAPPED_BASE = pageAlign(TASK_SIZE / 3n);
/** mmap_min_addr default (mm/Kconfig DEFAULT_MMAP_MIN_ADDR = 65536). */
export const MMAP_MIN_ADDR = 0x10000n;
/** stack_guard_gap (mm/mmap.c): 256 pages. */
export const STACK_GUARD_GAP = 256n * GUEST_PAGE;
/** DEFAULT_MAP_WINDOW (arch/x86/include/asm/page_64_types.h): the 47-bit window; equal to TASK_SIZE with 4-level paging. */
const DEFAULT_MAP_WINDOW = TASK_SIZE;
/** stack_expand in setup_arg_pages (fs/exec.c): 128 KiB mapped below the arguments at exec. */
export const STACK_EXPAND = 128n * 1024n;

/** vm_flags bits the model keeps (include/linux/mm.h). */
export const VM_SHARED = 0x8;
export const VM_GROWSDOWN = 0x100;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
/**
 * The model keeps the inverse of VM_MAYWRITE (include/linux/mm.h 0x20, set on almost every
 * mapping): this bit marks the mappings do_mmap cleared it on, a shared mapping of a file opened
 * without FMODE_WRITE, which mprotect may never make writable (-EACCES).
 */
export const VM_NO_MAYWRITE = 0x20;
/** MAX_LFS_FILESIZE on 64-bit (include/linux/fs.h): LLONG_MAX, file_mmap_ok's bound. */
const MAX_LFS_FILESIZE = (1n << 63n) - 1n;

/**
 * mmap of a descriptor without an mmap method in the model: pipes (pipefifo_fops), signalfd,
 * the host's stdio (a tty: tty_fops), /dev/kvm and KVM's VM descriptor have none (-ENODEV, after
 * the length and type checks). A vCPU descriptor has one (kvm_vcpu_mmap: the kvm_run page), which
 * the model lacks: -ENODEV with a warning naming it.
 */
function mmapOtherFile(k: Kernel, f: FileRef, len: bigint, flags: number): bigint {
  if (len === 0n) return neg(Errno.EINVAL);
  const type = flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return neg(Errno.EINVAL);
  if (f.kind === 'kvm-vcpu' && !k.warnedOnce.has('mmap-kvm-vcpu')) {
    k.warnedOnce.add('mmap-kvm-vcpu');
    k.o.stderr('xstate-lab: warning: mmap of a KVM vCPU descriptor (kvm_run) is not modelled; it returns -ENODEV');
  }
  return neg(Errno.ENODEV);
}

/**
 * is_data_mapping (mm/internal.h): private, writable and not a stack (VM_STACK is VM_GROWSDOWN on x86):
 * what RLIMIT_DATA counts (mm->data_vm).
 */
function is_data_mapping(prot: number, vmFlags: number): boolean {
  return (prot & Prot.WRITE) !== 0 && !(vmFlags & (VM_SHARED | VM_GROWSDOWN));
}

/**
 * may_expand_vm (mm/mmap.c, Linux 6.18): `npages` more pages with these flags keep mm->total_vm
 * within RLIMIT_AS and, for a data mapping, mm->data_vm within RLIMIT_DATA (limits in whole pages,
 * rounded down). The Valgrind exception: a soft RLIMIT_DATA of 0 lets data grow up to the hard
 * one. ignore_rlimit_data is false (its default). total_vm here is every mapping of the model, so
 * a native process's [vvar]/[vdso] pages, which the model lacks, are not counted.
 */
export function may_expand_vm(p: Process, prot: number, vmFlags: number, npages: bigint): boolean {
  let total = 0n, data = 0n;
  for (const r of p.machine.mappings()) {
    const n = (r.end - r.start) / GUEST_PAGE;
    total += n;
    if (is_data_mapping(r.prot, r.vmFlags ?? 0)) data += n;
  }
  const page = (v: bigint): bigint => v / GUEST_PAGE;
  if (total + npages > page(p.rlimits[Rlimit.AS]!.cur)) return false;
  const lim = p.rlimits[Rlimit.DATA]!;
  if (is_data_mapping(prot, vmFlags) && data + npages > page(lim.cur)) {
    if (lim.cur === 0n && data + npages <= page(lim.max)) return true;
    return false;
  }
  return true;
}

/** Pages of [start, end) that mappings cover (count_vma_pages_range). */
function count_vma_pages_range(m: Machine, start: bigint, end: bigint): bigint {
  let n = 0n;
  for (const r of m.mappings()) {
    const lo = r.start > start ? r.start : start, hi = r.end < end ? r.end : end;
    if (hi > lo) n += (hi - lo) / GUEST_PAGE;
  }
  return n;
}

/**
 * sys_brk (mm/mmap.c, Linux 6.18): a request below start_brk or beyond RLIMIT_DATA
 * (check_data_rlimit: the heap plus end_data - start_data, in bytes, shrinking included) leaves
 * the break; growing stops short of the next mapping's vm_start_gap and a page, and do_brk_flags
 * checks may_expand_vm (RLIMIT_AS, RLIMIT_DATA). Returns the break.
 */
export function brk(this: Kernel, p: Process, want: bigint): bigint {
  const m = p.machine;
  if (want < p.brkStart) return p.brk;
  const dataLim = p.rlimits[Rlimit.DATA]!.cur;
  if (dataLim !== RLIM_INFINITY && (want - p.brkStart) + (p.endData - p.startData) > dataLim) return p.brk;
  const oldTop = pageAlign(p.brk), newTop = pageAlign(want);
  if (newTop > oldTop) {
    const next = m.mappings().find((r) => r.end > oldTop);
    if (next && newTop + GUEST_PAGE > vm_start_gap(next)) return p.brk;
    if (!may_expand_vm(p, Prot.READ | Prot.WRITE, 0, (newTop - oldTop) / GUEST_PAGE)) return p.brk;
    m.map(oldTop, newTop - oldTop, Prot.READ | Prot.WRITE);
  } else if (newTop < oldTop) m.unmap(newTop, oldTop - newTop);
  p.brk = want;
  return p.brk;
}

/** vm_start_gap (include/linux/mm.h): a stack's start less the guard gap below it. */
function vm_start_gap(r: Region): bigint {
  if (!((r.vmFlags ?? 0) & VM_GROWSDOWN)) return r.start;
  return r.start > STACK_GUARD_GAP ? r.start - STACK_GUARD_GAP : 0n;
}

/**
 * The highest free range of `len` bytes below MMAP_BASE (vm_unmapped_area, VM_UNMAPPED_AREA_TOPDOWN,
 * mm/vma.c unmapped_area_topdown, keeping the guard gap below a stack), else the lowest one from
 * TASK_UNMAPPED_BASE up (arch_get_unmapped_area_topdown's fallback); undefined when neither fits.
 */
export function findFree(this: Kernel, m: Machine, len: bigint): bigint | undefined {
  const regions = [...m.mappings()].sort((a, b) => (a.start > b.start ? -1 : 1));
  let top = MMAP_BASE;
  for (const r of regions) {
    const gapStart = vm_start_gap(r);
    if (gapStart >= top) { if (r.start < top) top = r.start; continue; }
    if (r.end <= top && top - r.end >= len) return top - len;
    top = gapStart < top ? gapStart : top;
  }
  if (top >= MMAP_MIN_ADDR + len) return top - len;
  let low = TASK_UNMAPPED_BASE;
  for (const r of [...regions].reverse()) {
    if (r.end <= low) continue;
    if (vm_start_gap(r) >= low + len) break;
    low = r.end;
  }
  return low + len <= TASK_SIZE ? low : undefined;
}

/**
 * __vm_enough_memory (mm/util.c) under OVERCOMMIT_GUESS, the default: a charge of more pages than
 * RAM plus swap fails. The modelled machine's RAM is kernel/sys.ts MODELLED_TOTALRAM_BYTES, no swap.
 */
export function vm_enough_memory(bytes: bigint): boolean {
  return bytes <= MODELLED_TOTALRAM_BYTES;
}

/**
 * do_mmap (mm/mmap.c) of an anonymous mapping: EINVAL for length 0 or no mapping type, ENOMEM when
 * the page-aligned length overflows or exceeds TASK_SIZE, or the address + length ends above it
 * (__get_unmapped_area), EEXIST for MAP_FIXED_NOREPLACE over a mapping, ENOMEM when a private
 * writable mapping without MAP_NORESERVE is more than the overcommit heuristic allows
 * (accountable_mapping). A hint is taken when valid and free (mmap_address_hint_valid,
 * vm_start_gap). PROT_EXEC alone gets the execute-only protection key.
 */
export function mmap(this: Kernel, p: Process, addr: bigint, len: bigint, prot: number, flags: number, fd: number, off: bigint): bigint {
  const m = p.machine;
  // sys_mmap (arch/x86/kernel/sys_x86_64.c): the offset in whole pages; ksys_mmap_pgoff: the file.
  if (!offsetAligned(off)) return neg(Errno.EINVAL);
  let file: MemFile | undefined;
  if (!(flags & MAP_ANONYMOUS)) {
    const f = p.files.get(fd);
    if (!f) return neg(Errno.EBADF);
    file = f.kind === 'file' ? f : undefined;
    if (!file) return mmapOtherFile(this, f, len, flags);
  }
  if (len === 0n) return neg(Errno.EINVAL);
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  // round_hint_to_min: a low hint becomes mmap_min_addr.
  if (!(flags & MAP_FIXED)) { addr -= addr % GUEST_PAGE; if (addr && addr < MMAP_MIN_ADDR) addr = MMAP_MIN_ADDR; }
  const size = pageAlign(len) & ((1n << 64n) - 1n);
  if (size === 0n || size < len) return neg(Errno.ENOMEM);
  const type = flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return neg(Errno.EINVAL);
  // __get_unmapped_area -> arch_get_unmapped_area_topdown (arch/x86/kernel/sys_x86_64.c).
  if (size > TASK_SIZE) return neg(Errno.ENOMEM);
  let at: bigint | undefined;
  if (flags & MAP_FIXED) at = addr;
  else if (addr && hintValid(addr, size) && hintFree(m, addr, size)) at = addr;
  else at = this.findFree(m, size);
  if (at === undefined || at > TASK_SIZE - size) return neg(Errno.ENOMEM);
  if (at % GUEST_PAGE) return neg(Errno.EINVAL);
  if ((flags & MAP_FIXED_NOREPLACE) && m.mappings().some((r) => r.start < at! + size && r.end > at!)) return neg(Errno.EEXIST);
  if (file) {
    // do_mmap's file checks: file_mmap_ok (MAX_LFS_FILESIZE); a shared writable mapping needs
    // FMODE_WRITE (the guest's files are read-only: -EACCES), and without it the mapping is never
    // writable (VM_MAYWRITE cleared); /proc's seq files have no mmap (-ENODEV).
    if (off + size > MAX_LFS_FILESIZE) return neg(Errno.EOVERFLOW);
    if (type !== MAP_PRIVATE && (prot & Prot.WRITE)) return neg(Errno.EACCES);
    if (file.proc) return neg(Errno.ENODEV);
  }
  const ospke = this.view.cr4Pke.value;
  let pkey = 0;
  if ((prot & 7) === PROT_EXEC) { pkey = execute_only_pkey(p.pkeys, p.loaded?.fpu ?? p.threads[0]!.fpu, ospke); if (pkey < 0) pkey = 0; }
  // MAP_NORESERVE is honoured unless overcommit is OVERCOMMIT_NEVER (the default is GUESS).
  let vmFlags = (flags & MAP_NORESERVE ? VM_NORESERVE : 0) | (type === MAP_PRIVATE ? 0 : VM_SHARED);
  // mmap_region: may_expand_vm for the whole length, else less the pages a MAP_FIXED replaces.
  const npages = size / GUEST_PAGE;
  if (!may_expand_vm(p, prot, vmFlags, npages) && !may_expand_vm(p, prot, vmFlags, npages - count_vma_pages_range(m, at, at + size))) return neg(Errno.ENOMEM);
  // accountable_mapping: private, writable, reserving.
  if (type === MAP_PRIVATE && (prot & Prot.WRITE) && !(vmFlags & VM_NORESERVE)) {
    if (!vm_enough_memory(size)) return neg(Errno.ENOMEM);
    vmFlags |= VM_ACCOUNT;
  }
  if (file) {
    if (type !== MAP_PRIVATE) vmFlags |= VM_NO_MAYWRITE;
    // /proc/<pid>/maps names the file by its absolute path (d_path).
    map_file_pages(m, at, size, prot & 7, { pkey, vmFlags }, { path: resolve(file.path), data: file.data }, off);
  } else m.map(at, size, prot & 7, undefined, { pkey, vmFlags });
  if (pkey) m.syncPkru();
  return at;
}

/** mmap_address_hint_valid (arch/x86/kernel/sys_x86_64.c): inside TASK_SIZE, not straddling the 47-bit window. */
function hintValid(addr: bigint, len: bigint): boolean {
  if (TASK_SIZE - len < addr) return false;
  return (addr > DEFAULT_MAP_WINDOW) === (addr + len > DEFAULT_MAP_WINDOW);
}

/** The hint's range is free up to the next mapping's vm_start_gap (find_vma). */
function hintFree(m: Machine, addr: bigint, len: bigint): boolean {
  const next = m.mappings().find((r) => r.end > addr);
  return !next || addr + len <= vm_start_gap(next);
}

/**
 * __vm_munmap -> do_vmi_munmap (mm/vma.c): EINVAL for an unaligned start, a range beyond TASK_SIZE
 * or an empty one; unmapping nothing is not an error.
 */
export function munmap(this: Kernel, p: Process, start: bigint, len: bigint): bigint {
  if (start % GUEST_PAGE || start > TASK_SIZE || len > TASK_SIZE - start) return neg(Errno.EINVAL);
  const size = pageAlign(len);
  if (size === 0n) return neg(Errno.EINVAL);
  p.machine.unmap(start, size);
  return 0n;
}

/**
 * A fault at `addr`, which no mapping covers (lock_mm_and_find_vma, mm/memory.c): when the next
 * mapping above is a stack (VM_GROWSDOWN), expand_downwards (mm/mmap.c) grows it to the faulting
 * page unless that is below mmap_min_addr, within stack_guard_gap above an accessible mapping that
 * is not a stack, or makes the stack larger than RLIMIT_STACK (acct_stack_growth). x86 has no check
 * against RSP since 4.20. Returns true when the stack now covers `addr`.
 */
export function expandStack(this: Kernel, p: Process, addr: bigint): boolean {
  const m = p.machine;
  const regions = m.mappings();
  const i = regions.findIndex((r) => r.end > addr);
  if (i < 0) return false;
  const vma = regions[i]!;
  if (vma.start <= addr || !((vma.vmFlags ?? 0) & VM_GROWSDOWN)) return false;
  const address = addr - (addr % GUEST_PAGE);
  if (address < MMAP_MIN_ADDR) return false;
  const prev = i > 0 ? regions[i - 1] : undefined;
  // vma_is_accessible: VM_READ | VM_WRITE | VM_EXEC.
  if (prev && !((prev.vmFlags ?? 0) & VM_GROWSDOWN) && (prev.prot & 7) !== 0 && address - prev.end < STACK_GUARD_GAP) return false;
  const size = vma.end - address;
  if (size > p.rlimits[Rlimit.STACK]!.cur) return false;
  if (!vm_enough_memory(vma.start - address)) return false;
  m.growDown(vma, address);
  return true;
}

/**
 * setup_arg_pages (fs/exec.c): the stack mapping at exec covers the argument strings' pages and
 * stack_expand below them, at most RLIMIT_STACK (page-aligned down). Returns its start.
 */
export function initialStackStart(stackTop: bigint, stringsLow: bigint, rlimitStack: bigint): bigint {
  const stackSize = stackTop - (stringsLow - (stringsLow % GUEST_PAGE));
  const rlim = rlimitStack - (rlimitStack % GUEST_PAGE);
  const expand = stackSize + STACK_EXPAND < rlim ? stackSize + STACK_EXPAND : rlim;
  return stackTop - expand;
}
