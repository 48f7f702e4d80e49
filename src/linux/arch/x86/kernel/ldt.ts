/**
 * modify_ldt (arch/x86/kernel/ldt.c, Linux 6.18): the process's local descriptor table, read and
 * written with struct user_desc (arch/x86/include/uapi/asm/ldt.h), entries encoded by fill_ldt
 * (arch/x86/include/asm/desc.h). The LDT belongs to the mm: threads share it, fork copies it
 * (ldt_dup_context), execve drops it (destroy_context_ldt). LAR/LSL/VERR/VERW see its entries
 * through arch/x86/kernel/cpu/common.ts.
 *
 * Not modelled: loading an LDT selector into a segment register (unicorn holds no LDT; the
 * guest's MOV to DS/ES/FS/GS/SS runs in unicorn), and the 32-bit set_thread_area /
 * get_thread_area, which the 64-bit table leaves without an entry (syscall_64.tbl rows 205 and
 * 211: -ENOSYS, src/linux/syscall-table.ts).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { Errno } from '../../../abi.js';
import type { Kernel } from '../../../kernel.js';
import type { Process } from '../../../sched.js';

/** LDT_ENTRIES and LDT_ENTRY_SIZE (arch/x86/include/uapi/asm/ldt.h). */
export const LDT_ENTRIES = 8192;
const LDT_ENTRY_SIZE = 8;
/** sizeof(struct user_desc): entry_number, base_addr, limit, then the flag bits in one word. */
const USER_DESC_BYTES = 16;
/** read_default_ldt (64-bit): 128 zero bytes at most. */
const DEFAULT_LDT_BYTES = 128;
/** modify_ldt's func values. */
enum LdtFunc { Read = 0, WriteOld = 1, ReadDefault = 2, Write = 0x11 }
/**
 * CONFIG_X86_16BIT (arch/x86/Kconfig, default y): allow_16bit_segments() lets a 16-bit segment
 * in (measured on this machine's 6.18: seg_32bit 0 is accepted). Named assumption `x86-16bit-y`.
 */
const ALLOW_16BIT_SEGMENTS = true;

/** struct user_desc's flag bits (ldt.h), in the order of the bitfield. */
interface UserDesc {
  entryNumber: number; baseAddr: number; limit: number;
  seg32bit: number; contents: number; readExecOnly: number; limitInPages: number; segNotPresent: number; useable: number;
}

function parseUserDesc(b: Uint8Array): UserDesc {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const f = v.getUint32(12, true);
  return {
    entryNumber: v.getUint32(0, true), baseAddr: v.getUint32(4, true), limit: v.getUint32(8, true),
    seg32bit: f & 1, contents: (f >> 1) & 3, readExecOnly: (f >> 3) & 1, limitInPages: (f >> 4) & 1, segNotPresent: (f >> 5) & 1, useable: (f >> 6) & 1,
  };
}

/** LDT_empty (asm/desc.h): the user_desc that clears an entry. */
function ldtEmpty(d: UserDesc): boolean {
  return d.baseAddr === 0 && d.limit === 0 && d.contents === 0 && d.readExecOnly === 1 && d.seg32bit === 0 && d.limitInPages === 0 && d.segNotPresent === 1 && d.useable === 0;
}

/**
 * fill_ldt (asm/desc.h): limit and base split over the descriptor; type = writable unless
 * read_exec_only, contents in bits 3:2, and the accessed bit always set; S, DPL 3; present unless
 * seg_not_present; AVL = useable; D/B = seg_32bit; G = limit_in_pages; L never set.
 */
function fillLdt(d: UserDesc): bigint {
  const type = ((d.readExecOnly ^ 1) << 1) | (d.contents << 2) | 1;
  const lo = ((d.limit & 0xffff) | ((d.baseAddr & 0xffff) << 16)) >>> 0;
  const hi = (((d.baseAddr >>> 16) & 0xff) | (type << 8) | (1 << 12) | (3 << 13) | ((d.segNotPresent ^ 1) << 15)
    | (d.limit & 0xf0000) | (d.useable << 20) | (d.seg32bit << 22) | (d.limitInPages << 23) | (d.baseAddr & 0xff000000)) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** read_ldt: the entries, zero-filled up to bytecount (capped at the table's size); 0 without an LDT. */
function readLdt(p: Process, ptr: bigint, bytecount: bigint): number {
  const ldt = p.ldt;
  if (!ldt) return 0;
  const n = Number(bytecount > BigInt(LDT_ENTRIES * LDT_ENTRY_SIZE) ? BigInt(LDT_ENTRIES * LDT_ENTRY_SIZE) : bytecount);
  const out = new Uint8Array(n);
  const v = new DataView(out.buffer);
  for (let i = 0; i < ldt.length && (i + 1) * LDT_ENTRY_SIZE <= n; i++) v.setBigUint64(i * LDT_ENTRY_SIZE, ldt[i]!, true);
  p.machine.write(ptr, out);
  return n;
}

/** write_ldt (`oldmode`: func 1, which clears AVL and takes base 0 / limit 0 as an empty entry): 0 or -errno. */
function writeLdt(p: Process, ptr: bigint, bytecount: bigint, oldmode: boolean): number {
  if (bytecount !== BigInt(USER_DESC_BYTES)) return -Errno.EINVAL;
  const d = parseUserDesc(p.machine.read(ptr, USER_DESC_BYTES));
  if (d.entryNumber >= LDT_ENTRIES) return -Errno.EINVAL;
  // contents 3 (conforming code) only in the new mode, and only not present.
  if (d.contents === 3 && (oldmode || d.segNotPresent === 0)) return -Errno.EINVAL;
  let desc = 0n;
  if (!((oldmode && d.baseAddr === 0 && d.limit === 0) || ldtEmpty(d))) {
    if (!d.seg32bit && !ALLOW_16BIT_SEGMENTS) return -Errno.EINVAL;
    if (oldmode) d.useable = 0;
    desc = fillLdt(d);
  }
  // A new LDT of max(entry + 1, old size) entries, the old ones copied (alloc_ldt_struct, map_ldt_struct).
  const ldt = [...(p.ldt ?? [])];
  while (ldt.length <= d.entryNumber) ldt.push(0n);
  ldt[d.entryNumber] = desc;
  p.ldt = ldt;
  return 0;
}

/**
 * SYSCALL_DEFINE3(modify_ldt) (ldt.c, 6.18): func 0 read, 1 write (old mode), 2 read_default,
 * 0x11 write; any other -ENOSYS. The result is cast to unsigned int: an error comes back as a
 * 32-bit value zero-extended (measured: -EINVAL reads 0x00000000ffffffea in RAX).
 */
export function modify_ldt(this: Kernel, p: Process, func: number, ptr: bigint, bytecount: bigint): bigint {
  let r: number;
  switch (func) {
    case LdtFunc.Read: r = readLdt(p, ptr, bytecount); break;
    case LdtFunc.WriteOld: r = writeLdt(p, ptr, bytecount, true); break;
    case LdtFunc.ReadDefault: {
      r = Number(bytecount > BigInt(DEFAULT_LDT_BYTES) ? BigInt(DEFAULT_LDT_BYTES) : bytecount);
      p.machine.write(ptr, new Uint8Array(r));
      break;
    }
    case LdtFunc.Write: r = writeLdt(p, ptr, bytecount, false); break;
    default: r = -Errno.ENOSYS;
  }
  return BigInt(r >>> 0);
}
