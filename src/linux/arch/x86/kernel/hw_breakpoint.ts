/**
 * The debug registers a tracer writes (arch/x86/kernel/hw_breakpoint.c and
 * kernel/events/hw_breakpoint.c, Linux 6.18): how a DR7 slot's len/type bits become a perf
 * breakpoint attribute and back, and which addresses and lengths are refused; and how an
 * instruction breakpoint fires (hw_breakpoint_handler with ptrace_triggered). The engine has no
 * debug registers: the kernel hooks the enabled execute addresses of the running thread
 * (Machine.setBreakpoints), and memory hooks on the enabled data ranges (Machine.setWatchpoints).
 */
import { Errno } from '../../../abi.js';
import { TASK_SIZE_MAX } from '../../../ptrace.js';

/** HBP_NUM (arch/x86/include/asm/hw_breakpoint.h): DR0..DR3. */
export const HBP_NUM = 4;
/** The x86 len and type encodings (arch/x86/include/asm/hw_breakpoint.h X86_BREAKPOINT_*): 0x40 | DR7 LEN bits, 0x80 | DR7 R/W bits. */
export enum X86BpLen { LEN_1 = 0x40, LEN_2 = 0x44, LEN_8 = 0x48, LEN_4 = 0x4c }
/** X86_BREAKPOINT_LEN_X: an execute breakpoint's length (the same encoding as LEN_1). */
export const X86_BREAKPOINT_LEN_X = X86BpLen.LEN_1;
export enum X86BpType { EXECUTE = 0x80, WRITE = 0x81, RW = 0x83 }
/** Generic breakpoint types and lengths (include/uapi/linux/hw_breakpoint.h HW_BREAKPOINT_R/W/X, HW_BREAKPOINT_LEN_*). */
const HW_BREAKPOINT_R = 1;
const HW_BREAKPOINT_W = 2;
const HW_BREAKPOINT_X = 4;
/** DR7 fields (arch/x86/include/uapi/asm/debugreg.h): each slot's two enable bits, its 4 control bits from bit 16; the reserved bits. */
const DR_ENABLE_SIZE = 2n;
const DR_CONTROL_SHIFT = 16n;
const DR_CONTROL_SIZE = 4n;
const DR_GLOBAL_ENABLE = 0x2n;
const DR_GLOBAL_SLOWDOWN = 0x200n;
export const DR_CONTROL_RESERVED = 0xffffffff0000fc00n;
/** DR6_RESERVED (arch/x86/include/uapi/asm/debugreg.h): the bits that read as 1; thread.virtual_dr6 keeps DR6 XORed with them. */
export const DR6_RESERVED = 0xffff0ff0n;

/** A breakpoint's perf attribute (struct perf_event_attr bp_addr, bp_len, bp_type, disabled). */
export interface BpAttr { addr: bigint; len: number; type: number; disabled: boolean }
/** A registered ptrace breakpoint: its attribute and the parsed x86 form (bp->hw.info). */
export interface HwBreakpoint { attr: BpAttr; address: bigint; len: X86BpLen; type: X86BpType }

/** The debug-register state of one thread (thread_struct ptrace_bps[], virtual_dr6, ptrace_dr7). */
export class ThreadDebugRegs {
  readonly ptraceBps: (HwBreakpoint | undefined)[] = Array.from({ length: HBP_NUM }, () => undefined);
  virtualDr6 = 0n;
  ptraceDr7 = 0n;
  /**
   * X86_EFLAGS_RF in the thread's saved flags (pt_regs), which the engine has no bit for: set by
   * hw_breakpoint_handler after an execute breakpoint, cleared once the thread ran an instruction.
   */
  resumeFlag = false;
  /** copy_thread(): a child has no breakpoints; dup_task_struct copied the rest. */
  forkCopy(): ThreadDebugRegs {
    const c = new ThreadDebugRegs();
    c.virtualDr6 = this.virtualDr6;
    c.ptraceDr7 = this.ptraceDr7;
    return c;
  }
}

/** decode_dr7() (arch/x86/include/asm/hw_breakpoint.h): slot `n`'s x86 len and type, and whether L or G enables it. */
export function decode_dr7(dr7: bigint, n: number): { len: number; type: number; enabled: boolean } {
  const info = Number((dr7 >> (DR_CONTROL_SHIFT + BigInt(n) * DR_CONTROL_SIZE)) & 0xfn);
  return { len: (info & 0xc) | 0x40, type: (info & 0x3) | 0x80, enabled: ((dr7 >> (BigInt(n) * DR_ENABLE_SIZE)) & 3n) !== 0n };
}

/** encode_dr7(): an enabled slot as ptrace_get_dr7 rebuilds it (G bit, GE). */
function encode_dr7(n: number, len: number, type: number): bigint {
  return (BigInt((len | type) & 0xf) << (DR_CONTROL_SHIFT + BigInt(n) * DR_CONTROL_SIZE)) | (DR_GLOBAL_ENABLE << (BigInt(n) * DR_ENABLE_SIZE)) | DR_GLOBAL_SLOWDOWN;
}

/** ptrace_get_dr7() (arch/x86/kernel/ptrace.c): DR7 rebuilt from the enabled breakpoints (what ptrace_write_dr7 restores). */
export function ptrace_get_dr7(bps: readonly (HwBreakpoint | undefined)[]): bigint {
  let dr7 = 0n;
  bps.forEach((bp, i) => { if (bp && !bp.attr.disabled) dr7 |= encode_dr7(i, bp.len, bp.type); });
  return dr7;
}

/** arch_bp_generic_fields() (arch/x86/kernel/hw_breakpoint.c): x86 len/type to generic ones; -EINVAL for I/O breakpoints and an execute one with a length. */
export function arch_bp_generic_fields(x86Len: number, x86Type: number): { len: number; type: number } | Errno {
  let type: number;
  switch (x86Type) {
    case X86BpType.EXECUTE:
      if (x86Len !== X86_BREAKPOINT_LEN_X) return Errno.EINVAL;
      return { len: 8, type: HW_BREAKPOINT_X }; // sizeof(long)
    case X86BpType.WRITE: type = HW_BREAKPOINT_W; break;
    case X86BpType.RW: type = HW_BREAKPOINT_W | HW_BREAKPOINT_R; break;
    default: return Errno.EINVAL;
  }
  const len = { [X86BpLen.LEN_1]: 1, [X86BpLen.LEN_2]: 2, [X86BpLen.LEN_4]: 4, [X86BpLen.LEN_8]: 8 }[x86Len as X86BpLen];
  return len === undefined ? Errno.EINVAL : { len, type };
}

/**
 * hw_breakpoint_parse() (kernel/events/hw_breakpoint.c) with hw_breakpoint_arch_parse() and
 * arch_build_bp_info() (arch/x86/kernel/hw_breakpoint.c): the x86 form of an attribute, -EINVAL
 * for an address not aligned to the length, and -EINVAL for a range reaching TASK_SIZE_MAX (ptrace
 * breakpoints exclude the kernel, arch_check_bp_in_kernelspace). AMD range breakpoints (lengths
 * other than 1, 2, 4, 8) are not reachable from ptrace.
 */
export function hw_breakpoint_parse(attr: BpAttr): HwBreakpoint | Errno {
  let type: X86BpType;
  let len: X86BpLen;
  if (attr.type === HW_BREAKPOINT_X) {
    if (attr.len !== 8) return Errno.EINVAL;
    type = X86BpType.EXECUTE;
    len = X86_BREAKPOINT_LEN_X;
  } else {
    if (attr.type === HW_BREAKPOINT_W) type = X86BpType.WRITE;
    else if (attr.type === (HW_BREAKPOINT_W | HW_BREAKPOINT_R)) type = X86BpType.RW;
    else return Errno.EINVAL;
    const l = ({ 1: X86BpLen.LEN_1, 2: X86BpLen.LEN_2, 4: X86BpLen.LEN_4, 8: X86BpLen.LEN_8 } as Record<number, X86BpLen>)[attr.len];
    if (l === undefined) return Errno.EINVAL;
    len = l;
  }
  const align = { [X86BpLen.LEN_1]: 0n, [X86BpLen.LEN_2]: 1n, [X86BpLen.LEN_4]: 3n, [X86BpLen.LEN_8]: 7n }[len];
  if (attr.addr & align) return Errno.EINVAL;
  // arch_bp_generic_len(): an execute breakpoint covers one byte here.
  const bytes = BigInt(type === X86BpType.EXECUTE ? 1 : attr.len);
  if (attr.addr >= TASK_SIZE_MAX || attr.addr + bytes - 1n >= TASK_SIZE_MAX) return Errno.EINVAL;
  return { attr: { ...attr }, address: attr.addr, len, type };
}

/** DR_TRAP0 (arch/x86/include/uapi/asm/debugreg.h): DR6 bit n says breakpoint n hit. */
const DR_TRAP0 = 0x1n;
/** DR_STEP (debugreg.h): DR6 bit 14, a single step. */
export const DR_STEP = 0x4000n;

/** The addresses of the thread's enabled execute breakpoints (what the CPU would compare RIP with). */
export function executeBreakpointAddresses(d: ThreadDebugRegs): Set<bigint> {
  const s = new Set<bigint>();
  for (const bp of d.ptraceBps) if (bp && !bp.attr.disabled && bp.type === X86BpType.EXECUTE) s.add(bp.address);
  return s;
}

/**
 * The #DB of an instruction breakpoint at `rip`, as Linux 6.18 handles it from user mode
 * (arch/x86/kernel/traps.c exc_debug_user, then arch/x86/kernel/hw_breakpoint.c
 * hw_breakpoint_handler): virtual_dr6 starts from the real DR6's DR_STEP only (none here), every
 * enabled execute slot at `rip` (the CPU sets DR6.Bn for each, SDM Vol. 3 18.2.3) goes through
 * perf_bp_event to ptrace_triggered (arch/x86/kernel/ptrace.c), which sets DR_TRAPn in
 * virtual_dr6; an execute breakpoint sets RF in the saved flags so that returning runs the
 * instruction. Returns whether any slot hit; the caller then sends SIGTRAP (send_sigtrap with
 * get_si_code: TRAP_HWBKPT, si_addr the instruction).
 */
export function hw_breakpoint_handler(d: ThreadDebugRegs, rip: bigint): boolean {
  let dr6 = 0n;
  d.ptraceBps.forEach((bp, i) => {
    if (bp && !bp.attr.disabled && bp.type === X86BpType.EXECUTE && bp.address === rip) dr6 |= DR_TRAP0 << BigInt(i);
  });
  if (dr6 === 0n) return false;
  d.virtualDr6 = dr6;
  d.resumeFlag = true;
  return true;
}

/** The enabled data breakpoints (R/W 01 write, 11 read or write) of the thread: what Machine.setWatchpoints hooks. */
export function dataBreakpoints(d: ThreadDebugRegs): { slot: number; start: bigint; len: number; reads: boolean }[] {
  const out: { slot: number; start: bigint; len: number; reads: boolean }[] = [];
  d.ptraceBps.forEach((bp, i) => {
    if (!bp || bp.attr.disabled || bp.type === X86BpType.EXECUTE) return;
    out.push({ slot: i, start: bp.address, len: bp.attr.len, reads: bp.type === X86BpType.RW });
  });
  return out;
}

/**
 * The #DB of data breakpoints, a trap taken once the accessing instruction completed (SDM Vol. 3
 * 18.2.5, 18.3.1.2): the CPU sets DR6.Bn for every slot whose range the access overlapped;
 * exc_debug_user resets virtual_dr6 (keeping DR_STEP when the step trap comes with it), and
 * hw_breakpoint_handler gives each hit slot to ptrace_triggered (DR_TRAPn in virtual_dr6). No RF
 * (only execute breakpoints set it). send_sigtrap's si_addr is regs->ip: the next instruction.
 * `hits`: the slots' bits (Machine.takeWatchHits).
 */
export function hw_breakpoint_data_handler(d: ThreadDebugRegs, hits: number, step: boolean): void {
  d.virtualDr6 = (step ? DR_STEP : 0n) | (BigInt(hits) * DR_TRAP0);
}
