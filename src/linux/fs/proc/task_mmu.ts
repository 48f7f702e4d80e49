/**
 * /proc/<pid>/maps (fs/proc/task_mmu.c show_map_vma / show_vma_header_prefix, Linux 6.18): one
 * line per VMA of the model's address space, from the model alone.
 *
 * The model's regions are one per mmap/mprotect piece (emulator/machine.ts); Linux merges
 * adjacent anonymous VMAs with the same flags (mm/vma.c vma_merge_new_range), and file VMAs whose
 * offsets continue. The model merges the same way (named assumption `proc-maps-merge`: two
 * neighbouring pieces with the same protection, vm_flags and protection key merge when both are
 * anonymous, or both map the program with continuing offsets; Linux also compares what the model
 * does not keep, such as an anon_vma that differs after fork).
 */
import { Prot } from '../../../../emulator/unicorn.js';
import type { Region } from '../../../../emulator/machine.js';
import { STACK_TOP, VM_SHARED } from '../../mm/mmap.js';
import type { Process } from '../../sched.js';
import { VSYSCALL_ADDR, VSYSCALL_END } from '../../arch/x86/entry/vsyscall/vsyscall_64.js';

/**
 * Where the name starts: show_map_vma's seq_setwidth(m, 25 + sizeof(void *) * 6 - 1) then
 * seq_pad(m, ' '): the header is padded to 72 columns, then one space.
 */
const MAPS_NAME_COLUMN = 25 + 8 * 6 - 1;
/**
 * The device and inode the model reports for the program's file (named assumption
 * `proc-exe-inode`): the model has no file system of its own and reads nothing of the host's,
 * so the program's file is on an anonymous device (0:0) with the inode fs/stat.ts gives the first
 * named file.
 */
export const EXE_DEV_MAJOR = 0;
export const EXE_DEV_MINOR = 0;
export const EXE_INODE = 100;

/** One VMA as show_map_vma prints it. */
export interface Vma { start: bigint; end: bigint; prot: number; shared: boolean; file: { offset: bigint; path: string } | undefined; vmFlags: number; pkey: number }

/** The process's VMAs, merged as Linux would have merged them (assumption `proc-maps-merge`). */
export function processVmas(p: Process): Vma[] {
  const out: Vma[] = [];
  for (const r of p.machine.mappings() as readonly Region[]) {
    const fm = p.fileMaps.find((f) => f.start <= r.start && r.start < f.end);
    const v: Vma = { start: r.start, end: r.end, prot: r.prot, shared: ((r.vmFlags ?? 0) & VM_SHARED) !== 0, file: r.file ? { offset: r.file.base + r.start, path: r.file.path } : fm ? { offset: fm.offset + (r.start - fm.start), path: p.exePath } : undefined, vmFlags: r.vmFlags ?? 0, pkey: r.pkey ?? 0 };
    const last = out[out.length - 1];
    // is_mergeable_vma: the same vm_flags (VM_GROWSDOWN, VM_ACCOUNT, ... and the protection key's bits).
    const continues = last !== undefined && last.end === v.start && last.prot === v.prot && last.shared === v.shared && last.vmFlags === v.vmFlags && last.pkey === v.pkey
      && (last.file === undefined ? v.file === undefined : v.file !== undefined && last.file.path === v.file.path && last.file.offset + (last.end - last.start) === v.file.offset);
    if (continues) last.end = v.end; else out.push(v);
  }
  return out;
}

/** The special names (fs/proc/task_mmu.c get_vma_name, 6.18): [heap] and [stack] (vma_is_initial_heap / vma_is_initial_stack). */
function vmaName(p: Process, v: Vma): string | undefined {
  if (v.file) return v.file.path;
  // vma_is_initial_heap: vm_start <= mm->brk && vm_end >= mm->start_brk (a heap exists once brk moved).
  if (p.brk > p.brkStart && v.start <= p.brk && v.end >= p.brkStart) return '[heap]';
  // vma_is_initial_stack: the VMA holding mm->start_stack (the model's stack ends at STACK_TOP).
  const startStack = STACK_TOP - 1n;
  if (v.start <= startStack && v.end >= startStack) return '[stack]';
  return undefined;
}

const hex8 = (v: bigint): string => v.toString(16).padStart(8, '0');
const hex2 = (v: number): string => v.toString(16).padStart(2, '0');

/** show_map_vma (fs/proc/task_mmu.c, 6.18) for every VMA: the text of /proc/<pid>/maps. */
export function show_map(p: Process): string {
  let s = '';
  for (const v of processVmas(p)) {
    const perms = `${v.prot & Prot.READ ? 'r' : '-'}${v.prot & Prot.WRITE ? 'w' : '-'}${v.prot & Prot.EXEC ? 'x' : '-'}${v.shared ? 's' : 'p'}`;
    const [dev, ino] = v.file ? [`${hex2(EXE_DEV_MAJOR)}:${hex2(EXE_DEV_MINOR)}`, EXE_INODE] : ['00:00', 0];
    // show_vma_header_prefix: "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ".
    let line = `${hex8(v.start)}-${hex8(v.end)} ${perms} ${hex8(v.file?.offset ?? 0n)} ${dev} ${ino} `;
    const name = vmaName(p, v);
    if (name !== undefined) line = `${line.padEnd(MAPS_NAME_COLUMN, ' ')} ${name}`;
    s += `${line}\n`;
  }
  // m_next after the last VMA: get_gate_vma, the vsyscall page (vsyscall=xonly: VM_EXEC only).
  const gate = `${hex8(VSYSCALL_ADDR)}-${hex8(VSYSCALL_END)} --xp ${hex8(0n)} 00:00 0 `;
  s += `${gate.padEnd(MAPS_NAME_COLUMN, ' ')} [vsyscall]\n`;
  return s;
}

/** Sizes task_mem (fs/proc/task_mmu.c, 6.18) reports, in kB. */
export interface MemSizes { total: bigint; exec: bigint; stack: bigint; data: bigint }

/**
 * The VM sizes of /proc/<pid>/status from the model's VMAs: VmSize the whole address space,
 * VmExe the program's executable mappings, VmStk the stack VMA, VmData the private writable
 * non-stack ones (mm->data_vm counts VM_WRITE & ~VM_SHARED & ~VM_STACK).
 */
export function memSizes(p: Process): MemSizes {
  const kb = (v: bigint): bigint => v / 1024n;
  let total = 0n, exec = 0n, stack = 0n, data = 0n;
  for (const v of processVmas(p)) {
    const len = v.end - v.start;
    total += len;
    const name = vmaName(p, v);
    if (name === '[stack]') stack += len;
    else if (v.prot & Prot.WRITE) data += len;
    if (v.file && v.prot & Prot.EXEC) exec += len;
  }
  return { total: kb(total), exec: kb(exec), stack: kb(stack), data: kb(data) };
}
