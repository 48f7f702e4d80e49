/**
 * struct user_regs_struct (arch/x86/include/asm/user_64.h): the general registers as ptrace
 * (PTRACE_GETREGS, NT_PRSTATUS) and core dumps (elf_prstatus.pr_reg) show them, read from and
 * written to a unicorn engine. The order is kernel-model/core.ts USER_REGS.
 */
import { USER_REGS, type UserReg, type UserRegs } from '../../kernel-model/core.js';
import type { Unicorn } from '../../emulator/unicorn.js';
import { X86Reg } from '../../emulator/unicorn.js';
import { USER_CS, USER_DS } from './signal-frame.js';

/** sizeof(struct user_regs_struct): 27 u64 words. */
export const USER_REGS_STRUCT_SIZE = 8 * USER_REGS.length;

/** The engine register behind each word; undefined for those the kernel supplies (selectors, orig_rax). */
const ENGINE: Partial<Record<UserReg, X86Reg>> = {
  r15: X86Reg.R15, r14: X86Reg.R14, r13: X86Reg.R13, r12: X86Reg.R12, rbp: X86Reg.RBP, rbx: X86Reg.RBX, r11: X86Reg.R11,
  r10: X86Reg.R10, r9: X86Reg.R9, r8: X86Reg.R8, rax: X86Reg.RAX, rcx: X86Reg.RCX, rdx: X86Reg.RDX, rsi: X86Reg.RSI,
  rdi: X86Reg.RDI, rip: X86Reg.RIP, eflags: X86Reg.RFLAGS, rsp: X86Reg.RSP, fs_base: X86Reg.FS_BASE, gs_base: X86Reg.GS_BASE,
};
const ENGINE_NAMES = USER_REGS.filter((r) => ENGINE[r] !== undefined);
const ENGINE_REGS = ENGINE_NAMES.map((r) => ENGINE[r]!);

/** The registers of the task loaded on `uc`; `origRax` is -1 outside a system call (pt_regs.orig_ax). */
export function readUserRegs(uc: Unicorn, origRax: bigint): UserRegs {
  const v = uc.regReadBatch(ENGINE_REGS);
  const regs = Object.fromEntries(USER_REGS.map((r) => [r, 0n])) as UserRegs;
  ENGINE_NAMES.forEach((r, i) => { regs[r] = v[i]!; });
  regs.orig_rax = BigInt.asUintN(64, origRax);
  // 64-bit user mode: __USER_CS and __USER_DS; DS/ES/FS/GS hold the null selector (start_thread).
  regs.cs = USER_CS;
  regs.ss = USER_DS;
  return regs;
}

export function encodeUserRegs(regs: UserRegs): Uint8Array {
  const b = new Uint8Array(USER_REGS_STRUCT_SIZE);
  const dv = new DataView(b.buffer);
  USER_REGS.forEach((r, i) => dv.setBigUint64(8 * i, BigInt.asUintN(64, regs[r]), true));
  return b;
}

export function decodeUserRegs(b: Uint8Array): UserRegs {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Object.fromEntries(USER_REGS.map((r, i) => [r, dv.getBigUint64(8 * i, true)])) as UserRegs;
}

/** Write back what user space may change (putreg): the GPRs, RIP, the flags in FLAG_MASK, the FS/GS bases. */
export function writeUserRegs(uc: Unicorn, regs: UserRegs, flagMask: bigint): void {
  const old = uc.regRead(X86Reg.RFLAGS);
  const vals = ENGINE_NAMES.map((r) => (r === 'eflags' ? (old & ~flagMask) | (regs.eflags & flagMask) : regs[r]));
  uc.regWriteBatch(ENGINE_REGS, vals);
}
