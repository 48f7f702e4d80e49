/**
 * The x86-64 rt_sigframe (arch/x86/include/asm/sigframe.h, arch/x86/kernel/signal_64.c): layout
 * constants, and building / reading the general-register part. The extended-state part goes
 * through kernel-model/signal.ts.
 */
import { X86Reg } from '../../emulator/unicorn.js';

/** struct sigcontext_64 (arch/x86/include/uapi/asm/sigcontext.h), in 8-byte words, in order. */
export const SIGCONTEXT_GPRS: readonly X86Reg[] = [
  X86Reg.R8, X86Reg.R9, X86Reg.R10, X86Reg.R11, X86Reg.R12, X86Reg.R13, X86Reg.R14, X86Reg.R15,
  X86Reg.RDI, X86Reg.RSI, X86Reg.RBP, X86Reg.RBX, X86Reg.RDX, X86Reg.RAX, X86Reg.RCX, X86Reg.RSP, X86Reg.RIP, X86Reg.RFLAGS,
];
/** Word index of each field after the GPRs (sigcontext_64). */
export const SC = { CSGSFS: 18, ERR: 19, TRAPNO: 20, OLDMASK: 21, CR2: 22, FPSTATE: 23 } as const;
/** sizeof(struct sigcontext_64). */
export const SIGCONTEXT_BYTES = 256;

/** Offsets inside struct rt_sigframe: pretcode, then ucontext, then siginfo. */
export const FRAME = {
  PRETCODE: 0,
  UC: 8,
  /** ucontext: uc_flags 0, uc_link 8, uc_stack 16 (24 bytes), uc_mcontext 40, uc_sigmask 296. */
  UC_FLAGS: 8,
  UC_LINK: 16,
  UC_STACK: 24,
  MCONTEXT: 48,
  SIGMASK: 304,
  INFO: 312,
  /** sizeof(struct rt_sigframe). */
  SIZE: 440,
} as const;
/** sizeof(siginfo_t) (include/uapi/asm-generic/siginfo.h SI_MAX_SIZE). */
export const SIGINFO_BYTES = 128;
/** uc_flags of 64-bit frames (arch/x86/include/uapi/asm/ucontext.h; signal.c frame_uc_flags): UC_FP_XSTATE with XSAVE, UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS. */
export const UC_FP_XSTATE = 0x1n;
export const UC_SIGCONTEXT_SS = 0x2n;
export const UC_STRICT_RESTORE_SS = 0x4n;
/** The user code and stack selectors of x86-64 Linux (arch/x86/include/asm/segment.h __USER_CS, __USER_DS). */
export const USER_CS = 0x33n;
export const USER_DS = 0x2bn;
/** RFLAGS bits cleared for the handler (arch/x86/kernel/signal.c: TF, DF, RF). */
export const RFLAGS_TF = 1n << 8n;
export const RFLAGS_DF = 1n << 10n;
export const RFLAGS_RF = 1n << 16n;
/** FIX_EFLAGS (arch/x86/kernel/signal.c): the flags sigreturn takes from the frame. */
export const FIX_EFLAGS = 0x1n | 0x4n | 0x10n | 0x40n | 0x80n | 0x100n | 0x400n | 0x800n | 0x40000n | 0x10000n;

/** What goes into siginfo for one signal (the union member the signal uses). */
export interface SigInfo {
  signo: number;
  code: number;
  /** SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP: si_addr. */
  addr?: bigint;
  /** kill/tgkill/SIGCHLD: si_pid, si_uid. */
  pid?: number;
  uid?: number;
  /** SIGCHLD: si_status. */
  status?: number;
  /** Faults: trap number and error code for uc_mcontext. */
  trapno?: number;
  err?: number;
  /** Why the signal came (faults), for the one-line report when it kills. */
  reason?: string;
  /** SEGV_PKUERR: si_pkey, the faulting page's protection key. */
  pkey?: number;
  /** POSIX timers (SI_TIMER): si_tid (the timer id) at 16, si_overrun at 20, si_value at 24; rt_sigqueueinfo's si_value. */
  timerid?: number;
  overrun?: number;
  value?: bigint;
  /** SIGSYS of seccomp (_sigsys): si_errno (the filter's data) at 4, si_syscall at 24, si_arch at 28; si_call_addr is `addr`. */
  errno?: number;
  syscall?: number;
  arch?: number;
  /** A siginfo user space gave whole (PTRACE_SETSIGINFO, rt_sigqueueinfo): encoded as it is. */
  raw?: Uint8Array;
}

/** A siginfo_t from user space: si_signo and si_code read from it, the bytes kept whole. */
export function rawSigInfo(b: Uint8Array): SigInfo {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { signo: v.getInt32(0, true), code: v.getInt32(8, true), raw: b.slice(0, SIGINFO_BYTES) };
}
/**
 * Offset of si_pkey (include/uapi/asm-generic/siginfo.h): the _sigfault union member after si_addr
 * (byte 16) starts at byte 24; _addr_pkey pads __ADDR_BND_PKEY_PAD (8 bytes on x86-64) before _pkey.
 */
export const SIGINFO_PKEY_OFFSET = 32;

export function encodeSigInfo(i: SigInfo): Uint8Array {
  if (i.raw) return i.raw.slice(0, SIGINFO_BYTES);
  const b = new Uint8Array(SIGINFO_BYTES);
  const v = new DataView(b.buffer);
  v.setInt32(0, i.signo, true);
  v.setInt32(8, i.code, true);
  // The union starts at byte 16 (after si_signo, si_errno, si_code and padding).
  if (i.addr !== undefined) v.setBigUint64(16, i.addr, true);
  if (i.pkey !== undefined) v.setUint32(SIGINFO_PKEY_OFFSET, i.pkey, true);
  if (i.pid !== undefined) { v.setInt32(16, i.pid, true); v.setUint32(20, i.uid ?? 0, true); }
  if (i.status !== undefined) v.setInt32(24, i.status, true);
  if (i.timerid !== undefined) { v.setInt32(16, i.timerid, true); v.setInt32(20, i.overrun ?? 0, true); }
  if (i.value !== undefined) v.setBigUint64(24, i.value, true);
  if (i.errno !== undefined) v.setInt32(4, i.errno, true);
  if (i.syscall !== undefined) v.setInt32(24, i.syscall, true);
  if (i.arch !== undefined) v.setUint32(28, i.arch, true);
  return b;
}
