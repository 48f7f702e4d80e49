/**
 * The legacy vsyscall page (arch/x86/entry/vsyscall/vsyscall_64.c, Linux 6.18) in its default mode,
 * vsyscall=xonly (CONFIG_LEGACY_VSYSCALL_XONLY): no page backs VSYSCALL_ADDR; an instruction fetch
 * there faults and emulate_vsyscall runs gettimeofday, time or getcpu and emulates the RET; a read
 * or write of the page takes the ordinary SIGSEGV (SEGV_MAPERR); /proc/<pid>/maps shows the gate
 * VMA (`--xp`, "[vsyscall]"). test/guests/vsyscall.c is natively equal on this host.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { GuestMemoryFault, type GuestFault } from '../../../../../../emulator/machine.js';
import { X86Reg } from '../../../../../../emulator/unicorn.js';
import { Errno, Sig, Sys } from '../../../../abi.js';
import type { Kernel } from '../../../../kernel.js';
import { SI_KERNEL } from '../../../../kernel/signal.js';
import { TASK_SIZE_MAX } from '../../../../ptrace.js';
import { MASK64, neg, type Task } from '../../../../sched.js';

/** VSYSCALL_ADDR (arch/x86/include/uapi/asm/vsyscall.h): -10 MiB, the fixed page's address. */
export const VSYSCALL_ADDR = 0xffffffffff600000n;
/** The gate VMA covers one page (gate_vma: vm_start VSYSCALL_ADDR, vm_end + PAGE_SIZE). */
export const VSYSCALL_END = VSYSCALL_ADDR + 0x1000n;
/** addr_to_vsyscall_nr: entries are 1 KiB apart; bits 10-11 give the number, 0-2 valid. */
const VSYSCALL_NR_MASK = 0xc00n;
const VSYSCALL_NR_SHIFT = 10n;
const VSYSCALL_ENTRIES = 3;
/** X86_TRAP_PF and the page-fault error-code bits (arch/x86/include/asm/trap_pf.h). */
const X86_TRAP_PF = 14;
const X86_PF_WRITE = 1 << 1;
const X86_PF_USER = 1 << 2;
/** si_code SEGV_MAPERR (include/uapi/asm-generic/siginfo.h). */
const SEGV_MAPERR = 1;
/** sizeof(struct __kernel_old_timeval), sizeof(struct timezone), sizeof(__kernel_old_time_t), sizeof(unsigned). */
const OLD_TIMEVAL_BYTES = 16n;
const TIMEZONE_BYTES = 8n;
const OLD_TIME_T_BYTES = 8n;
const UNSIGNED_BYTES = 4n;

/** The three entries in address order (addr_to_vsyscall_nr 0, 1, 2) and the calls they make. */
const ENTRY_SYSCALLS: readonly Sys[] = [Sys.gettimeofday, Sys.time, Sys.getcpu];

/** addr_to_vsyscall_nr: the entry number, or -1 for any other address (a "misaligned vsyscall"). */
export function addr_to_vsyscall_nr(addr: bigint): number {
  if ((addr & ~VSYSCALL_NR_MASK & MASK64) !== VSYSCALL_ADDR) return -1;
  const nr = Number((addr & VSYSCALL_NR_MASK) >> VSYSCALL_NR_SHIFT);
  return nr < VSYSCALL_ENTRIES ? nr : -1;
}

/** in_gate_area: the address lies in the vsyscall page (vsyscall mode is never NONE here). */
export const in_gate_area = (addr: bigint): boolean => addr >= VSYSCALL_ADDR && addr < VSYSCALL_END;

/**
 * access_ok (arch/x86/include/asm/uaccess_64.h): the range lies below TASK_SIZE_MAX. It looks at
 * the address only, never at the mappings: NULL passes (the vsyscalls then write nothing).
 */
const access_ok = (ptr: bigint, size: bigint): boolean => ptr + size <= TASK_SIZE_MAX;

/**
 * do_user_addr_fault's call to emulate_vsyscall for a user fault in the vsyscall page. The model
 * reports an instruction fetch as a page fault whose address is the faulting RIP (the fetch's
 * X86_PF_INSTR); reads and writes return false and take the ordinary SIGSEGV. Returns true when
 * the fault was consumed: the call was emulated, or emulate_vsyscall raised its own SIGSEGV.
 */
export function emulate_vsyscall(this: Kernel, t: Task, f: GuestFault): boolean {
  if (f.trapno !== X86_TRAP_PF || !in_gate_area(f.addr)) return false;
  const m = t.proc.machine;
  const [rip, rsp, rdi, rsi] = m.uc.regReadBatch([X86Reg.RIP, X86Reg.RSP, X86Reg.RDI, X86Reg.RSI]) as bigint[];
  if (rip !== f.addr) return false; // "Failed vsyscall read": the ordinary fault
  // force_sig(SIGSEGV): si_code SI_KERNEL, no address; regs untouched (RIP stays in the page).
  const sigsegv = (why: string): true => {
    this.sendToThread(t, { signo: Sig.SIGSEGV, code: SI_KERNEL, addr: 0n, reason: `vsyscall at 0x${rip.toString(16)}: ${why}` }, true);
    return true;
  };
  const vsyscall_nr = addr_to_vsyscall_nr(f.addr);
  if (vsyscall_nr < 0) return sigsegv('misaligned vsyscall');
  let caller: bigint;
  try {
    caller = m.readU64(rsp);
  } catch (e) {
    if (e instanceof GuestMemoryFault) return sigsegv('vsyscall with bad stack');
    throw e;
  }
  // write_ok_or_segv: a pointer access_ok refuses gets SIGSEGV SEGV_MAPERR at that pointer (the
  // thread's error code PF_USER | PF_WRITE, trap 14); then check_fault's SIGSEGV finds one pending
  // (a second non-RT SIGSEGV is not queued), and the RET is not emulated.
  const checks: [bigint, bigint][] = vsyscall_nr === 0 ? [[rdi, OLD_TIMEVAL_BYTES], [rsi, TIMEZONE_BYTES]]
    : vsyscall_nr === 1 ? [[rdi, OLD_TIME_T_BYTES]] : [[rdi, UNSIGNED_BYTES], [rsi, UNSIGNED_BYTES]];
  for (const [ptr, size] of checks) {
    if (access_ok(ptr, size)) continue;
    this.sendToThread(t, { signo: Sig.SIGSEGV, code: SEGV_MAPERR, addr: ptr, trapno: X86_TRAP_PF, err: X86_PF_USER | X86_PF_WRITE, reason: `vsyscall at 0x${rip.toString(16)}: pointer 0x${ptr.toString(16)} beyond TASK_SIZE_MAX` }, true);
    return true;
  }
  // The call itself (orig_ax the call's number while seccomp looks; -1 after). getcpu is called
  // with RDX 0 (the unused cache argument), RDX itself is kept.
  let ret: bigint | 'stop';
  try {
    ret = this.syscall(t, ENTRY_SYSCALLS[vsyscall_nr]!, rdi, rsi, 0n, 0n, 0n, 0n);
  } catch (e) {
    if (!(e instanceof GuestMemoryFault)) throw e;
    ret = neg(Errno.EFAULT);
  }
  if (ret === 'stop') throw new Error(`emulate_vsyscall: ${Sys[ENTRY_SYSCALLS[vsyscall_nr]!]} asked to stop the task`);
  // A copy to user memory that faulted: "vsyscall fault (exploit attempt?)", SIGSEGV.
  if (ret === neg(Errno.EFAULT)) return sigsegv('vsyscall fault');
  // Emulate a RET: RIP from the stack, RSP past it; RAX the result.
  m.uc.regWriteBatch([X86Reg.RAX, X86Reg.RIP, X86Reg.RSP], [ret & MASK64, caller, (rsp + 8n) & MASK64]);
  return true;
}
