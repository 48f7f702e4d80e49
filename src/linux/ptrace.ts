/**
 * ptrace ABI numbers and encodings (include/uapi/linux/ptrace.h, arch/x86/include/uapi/asm/ptrace-abi.h,
 * include/uapi/linux/wait.h) for the process model's tracer support. The FPU regsets themselves
 * are kernel-model/regset.ts; the state machine (stops, resumes, waits) lives in kernel.ts.
 */
import { TASK_SIZE } from '../loader/elf.js';

/** ptrace requests: generic (linux/ptrace.h) and x86-64 (asm/ptrace-abi.h). */
export enum PtraceReq {
  TRACEME = 0, PEEKTEXT = 1, PEEKDATA = 2, PEEKUSR = 3, POKETEXT = 4, POKEDATA = 5, POKEUSR = 6, CONT = 7, KILL = 8, SINGLESTEP = 9,
  GETREGS = 12, SETREGS = 13, GETFPREGS = 14, SETFPREGS = 15, ATTACH = 16, DETACH = 17, SYSCALL = 24,
  /** arch/x86/include/uapi/asm/ptrace-abi.h. */
  SYSEMU = 31, SYSEMU_SINGLESTEP = 32,
  SETOPTIONS = 0x4200, GETEVENTMSG = 0x4201, GETSIGINFO = 0x4202, SETSIGINFO = 0x4203, GETREGSET = 0x4204, SETREGSET = 0x4205,
  SEIZE = 0x4206, INTERRUPT = 0x4207, LISTEN = 0x4208, GET_SYSCALL_INFO = 0x420e,
  /** PTRACE_SET_SYSCALL_INFO (include/uapi/linux/ptrace.h, Linux 6.16+). */
  SET_SYSCALL_INFO = 0x4212,
}

/** PTRACE_O_TRACESYSGOOD (linux/ptrace.h): syscall stops report SIGTRAP | 0x80. */
export const PTRACE_O_TRACESYSGOOD = 1;
/** The events (include/uapi/linux/ptrace.h PTRACE_EVENT_*); PTRACE_O_TRACE<event> is 1 << event. */
export enum PtraceEvent { FORK = 1, VFORK = 2, CLONE = 3, EXEC = 4, VFORK_DONE = 5, EXIT = 6, SECCOMP = 7 }
export const ptraceEventEnabled = (options: number, ev: PtraceEvent): boolean => (options & (1 << ev)) !== 0;
/** PTRACE_EVENT_STOP (linux/ptrace.h): the stop PTRACE_INTERRUPT (and group stops of seized tracees) report. */
export const PTRACE_EVENT_STOP = 128;
/** ptrace_message at syscall stops (include/uapi/linux/ptrace.h PTRACE_EVENTMSG_SYSCALL_ENTRY/EXIT). */
export const PTRACE_EVENTMSG_SYSCALL_ENTRY = 1n;
export const PTRACE_EVENTMSG_SYSCALL_EXIT = 2n;
/** What TRACESYSGOOD ORs into the syscall-stop signal. */
export const SYSCALL_TRAP_BIT = 0x80;
/** The options SETOPTIONS accepts (PTRACE_O_MASK, linux/ptrace.h): bits 0..7, EXITKILL (20), SUSPEND_SECCOMP (21). */
export const PTRACE_O_MASK = 0xff | (1 << 20) | (1 << 21);

/** si_code of the SIGTRAP after a single step (include/uapi/asm-generic/siginfo.h TRAP_TRACE). */
export const TRAP_TRACE = 2;
/** si_code of the SIGTRAP of a hardware breakpoint (include/uapi/asm-generic/siginfo.h TRAP_HWBKPT). */
export const TRAP_HWBKPT = 4;
/** si_code CLD_TRAPPED (siginfo.h): a traced child stopped (waitid). */
export const CLD_TRAPPED = 4;

/** struct iovec: base, len. */
export const IOVEC_SIZE = 16;

/** wait status of a stopped child (W_STOPCODE): the signal (and event) above 0x7f. */
export function stopStatus(sig: number, event = 0): number {
  return (((event << 8) | sig) << 8) | 0x7f;
}

/**
 * FLAG_MASK (arch/x86/kernel/ptrace.c): the RFLAGS bits a tracer may change with SETREGS:
 * CF, PF, AF, ZF, SF, TF, DF, OF, RF, AC and NT.
 */
export const PTRACE_FLAG_MASK = 0x1n | 0x4n | 0x10n | 0x40n | 0x80n | 0x100n | 0x400n | 0x800n | 0x4000n | 0x10000n | 0x40000n;
/** TASK_SIZE_MAX (4-level paging; equal to a 64-bit task's TASK_SIZE): putreg refuses FS/GS bases at or above it (-EIO). */
export const TASK_SIZE_MAX = TASK_SIZE;
