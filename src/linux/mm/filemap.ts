/**
 * File mappings (mm/filemap.c filemap_fault, mm/mmap.c do_mmap's file checks, Linux 6.18) of the
 * files a guest can open: the named `--file` files and the program itself (read-only). A page
 * holds the file's bytes at its offset, zero past the end of the file within the last page; a
 * page wholly past the last page is a bus error on access (filemap_fault: VM_FAULT_SIGBUS, do_sigbus
 * BUS_ADRERR), -EFAULT for the kernel's copies. Private mappings copy on write; the model keeps
 * no shared page cache (the files are read-only, so a shared mapping cannot be written either).
 */
import { GUEST_PAGE, type Machine, type RegionFile } from '../../../emulator/machine.js';
import { pageAlign } from '../sched.js';

/**
 * Map [at, at + size) with the file's pages from `offset`: the pages holding file data, then the
 * ones past its last page marked `beyondEof`. `base` of every piece: offset - at.
 */
export function map_file_pages(m: Machine, at: bigint, size: bigint, prot: number, extra: { pkey?: number; vmFlags?: number }, file: { path: string; data: Uint8Array }, offset: bigint): void {
  const len = BigInt(file.data.length);
  const inFile = offset >= len ? 0n : pageAlign(len - offset) < size ? pageAlign(len - offset) : size;
  const base = offset - at;
  const rf = (beyondEof: boolean): RegionFile => ({ path: file.path, base, data: file.data, ...(beyondEof ? { beyondEof } : {}) });
  if (inFile > 0n) {
    const end = offset + inFile < len ? offset + inFile : len;
    // The bytes go in before an executable mapping is swept for instructions the model owns.
    m.map(at, inFile, prot, file.data.subarray(Number(offset), Number(end)), { ...extra, file: rf(false) });
  }
  if (inFile < size) m.map(at + inFile, size - inFile, prot, undefined, { ...extra, file: rf(true) });
}

/** The file offset of `addr` in a file mapping. */
export function fileOffset(f: RegionFile, addr: bigint): bigint {
  return f.base + addr;
}

/** A page-aligned offset (sys_mmap: off & ~PAGE_MASK is -EINVAL). */
export function offsetAligned(off: bigint): boolean {
  return off % GUEST_PAGE === 0n;
}
