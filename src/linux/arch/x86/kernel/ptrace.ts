/**
 * The x86 side of ptrace (arch/x86/kernel/ptrace.c, Linux 6.18): getreg/putreg of one word of
 * user_regs_struct, PTRACE_PEEKUSR/POKEUSR over struct user, the debug registers
 * (ptrace_get_debugreg, ptrace_set_debugreg, ptrace_write_dr7), and genregs_set.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { USER_REGS, type UserReg, type UserRegs } from '../../../../../kernel-model/core.js';
import { X86Reg } from '../../../../../emulator/unicorn.js';
import { Errno } from '../../../abi.js';
import type { Kernel } from '../../../kernel.js';
import { PTRACE_FLAG_MASK, TASK_SIZE_MAX } from '../../../ptrace.js';
import { neg, Task } from '../../../sched.js';
import { RFLAGS_RF, USER_CS, USER_DS } from '../../../signal-frame.js';
import { readUserRegs } from '../../../user-regs.js';
import {
  DR6_RESERVED, DR_CONTROL_RESERVED, HBP_NUM, X86BpLen, X86BpType, arch_bp_generic_fields, decode_dr7, hw_breakpoint_parse, ptrace_get_dr7,
  type BpAttr, type HwBreakpoint,
} from './hw_breakpoint.js';

/** sizeof(struct user) of the kernel (arch/x86/include/asm/user_64.h): 912 bytes up to u_debugreg[8], then error_code and fault_address. */
export const USER_STRUCT_SIZE = 928n;
/** offsetof(struct user, u_debugreg) (asm/user_64.h): after regs (216), u_fpvalid + pad (8), i387 (512), 8 longs, u_ar0, u_fpstate, magic, u_comm[32]. */
export const USER_DEBUGREG_OFFSET = 848n;
/** sizeof(struct user_regs_struct): 27 words. */
const USER_REGS_BYTES = BigInt(8 * USER_REGS.length);
/** SEGMENT_RPL_MASK and USER_RPL (arch/x86/include/asm/segment.h). */
const SEGMENT_RPL_MASK = 3n;
const USER_RPL = 3n;
/** The words of user_regs_struct putreg hands to set_segment_reg. */
const SELECTORS: ReadonlySet<UserReg> = new Set(['cs', 'ss', 'ds', 'es', 'fs', 'gs']);

/** The selectors ptrace shows (thread_struct ds, es, fsindex, gsindex; pt_regs cs, ss). */
export interface SegmentSelectors { cs: bigint; ss: bigint; ds: bigint; es: bigint; fs: bigint; gs: bigint }
export const initialSelectors = (): SegmentSelectors => ({ cs: USER_CS, ss: USER_DS, ds: 0n, es: 0n, fs: 0n, gs: 0n });

/** The user_regs_struct of a task: the engine's registers and the selectors the task holds. */
export function getUserRegs(this: Kernel, c: Task): UserRegs {
  const regs = readUserRegs(this.loadTask(c).uc, c.origRax);
  Object.assign(regs, c.segs);
  // RF of the saved flags (set by an execute breakpoint's #DB) lives beside the engine's flags.
  if (c.debugRegs.resumeFlag) regs.eflags |= RFLAGS_RF;
  return regs;
}

/** getreg() (arch/x86/kernel/ptrace.c): one word of user_regs_struct by its offset. */
export function getreg(this: Kernel, c: Task, offset: bigint): bigint {
  return this.getUserRegs(c)[USER_REGS[Number(offset / 8n)]!];
}

/**
 * putreg() (arch/x86/kernel/ptrace.c): a selector goes through set_segment_reg (16 bits; -EIO
 * for a non-null one whose RPL is not 3, and for a null CS or SS), RFLAGS through set_flags (only
 * FLAG_MASK bits change, never refused), the FS/GS bases must be below TASK_SIZE_MAX (-EIO); every
 * other word is stored as it is.
 */
export function putreg(this: Kernel, c: Task, offset: bigint, value: bigint): bigint {
  const reg = USER_REGS[Number(offset / 8n)]!;
  const uc = this.loadTask(c).uc;
  if (SELECTORS.has(reg)) {
    const sel = value & 0xffffn;
    // invalid_selector(): non-null with an RPL other than 3.
    if (sel !== 0n && (sel & SEGMENT_RPL_MASK) !== USER_RPL) return neg(Errno.EIO);
    if ((reg === 'cs' || reg === 'ss') && sel === 0n) return neg(Errno.EIO);
    const before = c.segs[reg as keyof SegmentSelectors];
    c.segs[reg as keyof SegmentSelectors] = sel;
    // Named limitation `ptrace-selectors-stored`: the engine stays in 64-bit mode with flat
    // segments; a selector a tracer writes is what ptrace and the next stops show, nothing more.
    if (sel !== before && (reg === 'cs' || reg === 'ss') && !this.ptraceWarned.has(`ptrace-${reg}`)) {
      this.ptraceWarned.add(`ptrace-${reg}`);
      this.o.stderr(`xstate-lab: warning: a tracer set ${reg.toUpperCase()} to 0x${sel.toString(16)}; the model keeps running the tracee in 64-bit mode with its own selectors (only ptrace shows the new value)`);
    }
    return 0n;
  }
  if (reg === 'eflags') {
    // set_flags(): TIF_FORCED_TF is not modelled (single steps do not use TF here).
    const old = uc.regRead(X86Reg.RFLAGS);
    uc.regWrite(X86Reg.RFLAGS, (old & ~PTRACE_FLAG_MASK) | (value & PTRACE_FLAG_MASK & ~RFLAGS_RF));
    c.debugRegs.resumeFlag = (value & RFLAGS_RF) !== 0n;
    return 0n;
  }
  if ((reg === 'fs_base' || reg === 'gs_base') && value >= TASK_SIZE_MAX) return neg(Errno.EIO);
  if (reg === 'orig_rax') { c.origRax = value; return 0n; }
  uc.regWrite(ENGINE_REG[reg]!, value);
  return 0n;
}

/** The engine register behind each word putreg stores directly. */
const ENGINE_REG: Partial<Record<UserReg, X86Reg>> = {
  r15: X86Reg.R15, r14: X86Reg.R14, r13: X86Reg.R13, r12: X86Reg.R12, rbp: X86Reg.RBP, rbx: X86Reg.RBX, r11: X86Reg.R11,
  r10: X86Reg.R10, r9: X86Reg.R9, r8: X86Reg.R8, rax: X86Reg.RAX, rcx: X86Reg.RCX, rdx: X86Reg.RDX, rsi: X86Reg.RSI,
  rdi: X86Reg.RDI, rip: X86Reg.RIP, rsp: X86Reg.RSP, fs_base: X86Reg.FS_BASE, gs_base: X86Reg.GS_BASE,
};

/** genregs_set() (arch/x86/kernel/ptrace.c): putreg word by word, stopping at the first refusal (the words before it stay written). */
export function setUserRegs(this: Kernel, c: Task, b: Uint8Array): bigint {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let off = 0; off + 8 <= b.length; off += 8) {
    const r = this.putreg(c, BigInt(off), dv.getBigUint64(off, true));
    if (r !== 0n) return r;
  }
  return 0n;
}

/** Offsets PEEKUSR/POKEUSR take: word-aligned and inside struct user (-EIO otherwise). */
const userOffsetValid = (addr: bigint): boolean => (addr & 7n) === 0n && addr < USER_STRUCT_SIZE;
const debugregIndex = (addr: bigint): number | undefined =>
  addr >= USER_DEBUGREG_OFFSET && addr <= USER_DEBUGREG_OFFSET + 56n ? Number((addr - USER_DEBUGREG_OFFSET) / 8n) : undefined;

/** arch_ptrace PTRACE_PEEKUSR: a register, a debug register, or 0 for the rest of struct user. */
export function peekUser(this: Kernel, c: Task, addr: bigint): bigint | Errno {
  if (!userOffsetValid(addr)) return Errno.EIO;
  if (addr < USER_REGS_BYTES) return this.getreg(c, addr);
  const n = debugregIndex(addr);
  return n === undefined ? 0n : ptrace_get_debugreg(c, n);
}

/** arch_ptrace PTRACE_POKEUSR: a register (putreg) or a debug register; anything else in struct user is -EIO. */
export function pokeUser(this: Kernel, c: Task, addr: bigint, data: bigint): bigint {
  if (!userOffsetValid(addr)) return neg(Errno.EIO);
  if (addr < USER_REGS_BYTES) return this.putreg(c, addr, data);
  const n = debugregIndex(addr);
  return n === undefined ? neg(Errno.EIO) : ptrace_set_debugreg(c, n, data);
}

/** ptrace_get_debugreg(): DR0-3 the breakpoint's address (0 without one), DR6 from virtual_dr6, DR7 as last written; DR4/DR5 read 0. */
export function ptrace_get_debugreg(c: Task, n: number): bigint {
  const d = c.debugRegs;
  if (n < HBP_NUM) return d.ptraceBps[n]?.address ?? 0n;
  if (n === 6) return d.virtualDr6 ^ DR6_RESERVED;
  if (n === 7) return d.ptraceDr7;
  return 0n;
}

/** ptrace_set_debugreg(): an address (ptrace_set_breakpoint_addr), DR6 kept as written, DR7 (ptrace_write_dr7); DR4/DR5 are -EIO. */
export function ptrace_set_debugreg(c: Task, n: number, val: bigint): bigint {
  const d = c.debugRegs;
  if (n < HBP_NUM) {
    const bp = d.ptraceBps[n];
    // A first address makes a disabled 1-byte write breakpoint (a stub a later DR7 changes).
    const attr: BpAttr = bp ? { ...bp.attr, addr: val } : { ...stubAttr(), addr: val };
    const r = hw_breakpoint_parse(attr);
    if (typeof r === 'number') return neg(r);
    d.ptraceBps[n] = r;
    return 0n;
  }
  if (n === 6) { d.virtualDr6 = val ^ DR6_RESERVED; return 0n; }
  if (n === 7) {
    const r = ptrace_write_dr7(c, val);
    if (r === 0n) d.ptraceDr7 = val;
    return r;
  }
  return neg(Errno.EIO);
}

/** ptrace_set_breakpoint_addr's stub: X86_BREAKPOINT_LEN_1, X86_BREAKPOINT_WRITE, disabled. */
function stubAttr(): BpAttr {
  const f = arch_bp_generic_fields(X86BpLen.LEN_1, X86BpType.WRITE) as { len: number; type: number };
  return { addr: 0n, len: f.len, type: f.type, disabled: true };
}

/**
 * ptrace_write_dr7(): each slot in turn takes the len/type/enable of the new DR7 (reserved bits
 * ignored): a disabled slot without a breakpoint is skipped, an enabled one gets a breakpoint at
 * address 0, an existing one is modified (ptrace_modify_breakpoint, checked even when disabled).
 * The first refusal stops the pass, and a second pass writes back the DR7 the breakpoints made
 * before (ptrace_get_dr7); the refusal is returned.
 */
function ptrace_write_dr7(c: Task, value: bigint): bigint {
  const d = c.debugRegs;
  const old = ptrace_get_dr7(d.ptraceBps);
  let data = value & ~DR_CONTROL_RESERVED;
  let ret = 0n;
  for (let pass = 0; pass < 2; pass++) {
    let rc = 0n;
    for (let i = 0; i < HBP_NUM; i++) {
      const { len, type, enabled } = decode_dr7(data, i);
      const bp: HwBreakpoint | undefined = d.ptraceBps[i];
      if (!bp && !enabled) continue;
      const f = arch_bp_generic_fields(len, type);
      if (typeof f === 'number') { rc = neg(f); break; }
      const r = hw_breakpoint_parse({ addr: bp?.attr.addr ?? 0n, len: f.len, type: f.type, disabled: !enabled });
      if (typeof r === 'number') { rc = neg(r); break; }
      d.ptraceBps[i] = r;
    }
    if (rc === 0n || pass === 1) break;
    ret = rc;
    data = old;
  }
  return ret;
}
