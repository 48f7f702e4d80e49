/**
 * The GDT Linux sets up on each CPU (arch/x86/kernel/cpu/common.c gdt_page and setup_getcpu,
 * arch/x86/include/asm/segment.h, arch/x86/include/asm/desc_defs.h, Linux 6.18), and the
 * descriptor a selector names there or in the process's LDT (arch/x86/kernel/ldt.ts): what LAR,
 * LSL, VERR and VERW read (emulator/general-insns.ts) and what sigreturn's IRET checks.
 *
 * Measured on 6.18 (under a PVM hypervisor): LAR 2BH = 00CFF300H, LAR 33H = 00AFFB00H, LAR 7BH =
 * 0040F500H and LSL 7BH = the CPU number; kernel selectors fail at CPL 3. That host's
 * hypervisor shows no descriptor at 23H (__USER32_CS) and no LDT descriptors to LAR, where
 * common.c and ldt.c put them: the model follows the kernel's source there (named
 * `pvm-gdt-differs`).
 */
import type { Kernel } from '../../../../kernel.js';
import type { Task } from '../../../../sched.js';
import { MODELLED_NODE } from '../../../../kernel/sched/affinity.js';

/** GDT_ENTRY_* (arch/x86/include/asm/segment.h, 64-bit). */
export enum GdtEntry { KERNEL32_CS = 1, KERNEL_CS = 2, KERNEL_DS = 3, DEFAULT_USER32_CS = 4, DEFAULT_USER_DS = 5, DEFAULT_USER_CS = 6, TSS = 8, LDT = 10, PER_CPU = 15 }
/** GDT_ENTRIES (segment.h, 64-bit): 16 descriptors, so the limit is 127. */
const GDT_ENTRIES = 16;
/** Selector fields (SDM Vol. 3A 3.4.2): RPL bits 1:0, TI bit 2, index from bit 3. */
const SELECTOR_TI = 0x4;
const SELECTOR_INDEX_SHIFT = 3;
/** arch/x86/include/asm/segment.h VDSO_CPUNODE_BITS: the per-CPU segment limit holds (node << 12) | cpu. */
const VDSO_CPUNODE_BITS = 12;
export const vdso_encode_cpunode = (cpu: number, node: number): number => ((node << VDSO_CPUNODE_BITS) | cpu) >>> 0;

/**
 * A descriptor from GDT_ENTRY_INIT(flags, base 0, limit 0xfffff) (desc_defs.h): the access byte
 * and flags nibble as the DESC_CODE64 / DESC_DATA64 / DESC_CODE32 macros give them (type with the
 * accessed bit, S, present, DPL; L or D/B; G).
 */
function flat(access: number, flags: number): bigint {
  const LIMIT_LOW = 0xffff, LIMIT_HIGH = 0xf;
  const hi = (access << 8) | (LIMIT_HIGH << 16) | (flags << 20);
  return (BigInt(hi >>> 0) << 32n) | BigInt(LIMIT_LOW);
}
/** Access bytes (P | DPL | S | type) and flags (G, D/B, L) of the flat segments (SDM Vol. 3A 3.4.5). */
const ACC_CODE_KERNEL = 0x9b, ACC_DATA_KERNEL = 0x93, ACC_CODE_USER = 0xfb, ACC_DATA_USER = 0xf3;
const FLAGS_CODE64 = 0xa /* G | L */, FLAGS_32 = 0xc /* G | D/B */;
/** The 64-bit TSS and LDT system descriptors are DPL 0 (set_tssldt_descriptor): types 9/B and 2. */
const ACC_TSS_BUSY = 0x8b, ACC_LDT = 0x82;

const GDT_FIXED: ReadonlyMap<number, bigint> = new Map([
  [GdtEntry.KERNEL32_CS, flat(ACC_CODE_KERNEL, FLAGS_32)],
  [GdtEntry.KERNEL_CS, flat(ACC_CODE_KERNEL, FLAGS_CODE64)],
  [GdtEntry.KERNEL_DS, flat(ACC_DATA_KERNEL, FLAGS_32)],
  [GdtEntry.DEFAULT_USER32_CS, flat(ACC_CODE_USER, FLAGS_32)],
  [GdtEntry.DEFAULT_USER_DS, flat(ACC_DATA_USER, FLAGS_32)],
  [GdtEntry.DEFAULT_USER_CS, flat(ACC_CODE_USER, FLAGS_CODE64)],
  // The TSS (loaded, so busy) and, while the mm has one, the LDT; the model does not keep their bases.
  [GdtEntry.TSS, BigInt(ACC_TSS_BUSY << 8) << 32n],
]);

/**
 * setup_getcpu (common.c, 6.18): the per-CPU descriptor, limit = vdso_encode_cpunode(cpu, node),
 * type 5 (read-only data, expand-down, accessed), S, DPL 3, present, D/B, byte granular.
 */
function perCpuDescriptor(cpu: number): bigint {
  const limit = vdso_encode_cpunode(cpu, MODELLED_NODE);
  const TYPE_RO_EXPDOWN_ACCESSED = 5, S = 1 << 4, DPL3 = 3 << 5, P = 1 << 7, DB = 1 << 22;
  const hi = ((TYPE_RO_EXPDOWN_ACCESSED | S | DPL3 | P) << 8) | (limit & 0xf0000) | DB;
  return (BigInt(hi >>> 0) << 32n) | BigInt(limit & 0xffff);
}

/** The descriptor `sel` names for task `t` on its CPU, or undefined (null selector, beyond the GDT or the LDT). */
export function segmentDescriptor(this: Kernel, t: Task | undefined, sel: number): bigint | undefined {
  const index = sel >> SELECTOR_INDEX_SHIFT;
  if (sel & SELECTOR_TI) {
    const ldt = t?.proc.ldt;
    return ldt && index < ldt.length ? ldt[index] : undefined;
  }
  if (index === 0 || index >= GDT_ENTRIES) return undefined;
  if (index === GdtEntry.PER_CPU) return perCpuDescriptor(t?.cpu ?? 0);
  // load_mm_ldt: the LDT descriptor is present while the mm has an LDT (else LDTR is null).
  if (index === GdtEntry.LDT) return t?.proc.ldt ? BigInt(ACC_LDT << 8) << 32n : 0n;
  // Unused entries (and the TSS's second half) are zero: not a type LAR or LSL takes.
  return GDT_FIXED.get(index) ?? 0n;
}
