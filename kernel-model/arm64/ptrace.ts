/**
 * What an arm64 tracer sees in the general registers at syscall stops, as
 * arch/arm64/kernel/ptrace.c decides it, and the two proposals that would change it.
 *
 * Sources (read, not copied):
 * - Linux arch/arm64/kernel/ptrace.c (torvalds/linux, blob 0027d9c6c7b5, v6.x): `report_syscall()`
 *   (the clobber of x7 / r12 around syscall stops; the later generic-entry series names the same
 *   code `ptrace_save_reg()`), `syscall_trace_enter()`, `syscall_trace_exit()`, `gpr_get()`,
 *   `gpr_set()`, `valid_native_regs()`, `system_call_get()`, `system_call_set()`.
 * - Linux arch/arm64/kernel/syscall.c (torvalds/linux, blob 0ccfdcf968b3): `el0_svc_common()`
 *   (orig_x0 and syscallno saved, x0 = -ENOSYS for a user-issued syscall(-1) when traced, a
 *   NO_SYSCALL from the entry stop skips the call but still reports the exit stop).
 * - kernel/ptrace.c `ptrace_regset()` (iov_len a multiple of the regset's word, clamped to it).
 * - Andrei Vagin, "[PATCH 0/3 v2] arm64/ptrace: allow to get all registers on syscall traps" and
 *   "[PATCH 2/3] arm64/ptrace: introduce PTRACE_O_ARM64_RAW_REGS" (linux-api, 2021-02-01,
 *   <20210201194012.524831-3-avagin@gmail.com>): patch 1 stops clobbering pt_regs and makes
 *   gpr_get/gpr_set substitute x7 by `ptrace_message`; patch 2 adds the option (1 << 28) that turns
 *   the substitution off. v1 used a new regset instead ("v2: use the ptrace option instead of adding
 *   a new regset"). Will Deacon's review (2021-02-04, <20210204153615.GB21058@willie-the-truck>)
 *   asked whether "a separate regset containing just "real x7" and orig_x0 would be preferable".
 *   Neither was merged (uapi elf.h lists arm64 notes up to NT_ARM_GCS 0x410; no such note).
 *
 * AArch32 (compat) tasks: the kernel clobbers r12 instead of x7; the model runs AArch64 tasks only
 * (unicorn's AArch64 mode), so `syscallStopRegno` refuses compat tasks: not modelled.
 */
import { KernelBehaviour, type KernelVariant } from '../variants.js';

/** include/uapi/linux/elf.h NT_PRSTATUS: struct user_pt_regs on arm64. */
export const NT_PRSTATUS = 1;
/** include/uapi/linux/elf.h NT_ARM_SYSTEM_CALL: the syscall number (one int), commit 766a85d7bc5d. */
export const NT_ARM_SYSTEM_CALL = 0x404;
/**
 * The separate regset of the review's alternative (real x7 and orig_x0). No number was ever
 * assigned: this one is a named assumption (the next free arm64 note after NT_ARM_GCS 0x410 was
 * not chosen on purpose; 0x4ff stays clear of future assignments for a while).
 */
export const ASSUMED_NT_ARM_SYSCALL_REGS = 0x4ff;
/** Its assumed layout: { u64 x7; u64 orig_x0; } (the two values the review names, in that order). */
export const SYSCALL_REGS_SIZE = 16;

/** arch/arm64/include/uapi/asm/ptrace.h struct user_pt_regs: regs[31], sp, pc, pstate (u64 each). */
export const USER_PT_REGS_WORDS = 34;
export const USER_PT_REGS_SIZE = USER_PT_REGS_WORDS * 8;

/** Offsets in user_pt_regs (bytes). */
export const UPR_SP = 31 * 8;
export const UPR_PC = 32 * 8;
export const UPR_PSTATE = 33 * 8;

/** arch/arm64/kernel/ptrace.c enum ptrace_syscall_dir: the value x7 takes at the stop. */
export enum PtraceSyscallDir {
  ENTER = 0,
  EXIT = 1,
}

/** include/uapi/linux/ptrace.h PTRACE_EVENTMSG_SYSCALL_ENTRY / _EXIT (ptrace_message at syscall stops). */
export enum PtraceEventMsg {
  None = 0,
  SyscallEntry = 1,
  SyscallExit = 2,
}

/** arch/arm64/include/asm/syscall.h NO_SYSCALL (-1): syscallno that skips the call. */
export const NO_SYSCALL = -1;
/** include/uapi/asm-generic/errno-base.h ENOSYS = 38 (and the others the model returns). */
export enum Errno {
  EPERM = 1,
  ESRCH = 3,
  EINTR = 4,
  EIO = 5,
  ECHILD = 10,
  EAGAIN = 11,
  ENOMEM = 12,
  EFAULT = 14,
  EINVAL = 22,
  ENOSYS = 38,
}

/** include/uapi/linux/ptrace.h option bits. */
export const PTRACE_O_TRACESYSGOOD = 1;
export const PTRACE_O_EXITKILL = 1 << 20;
export const PTRACE_O_SUSPEND_SECCOMP = 1 << 21;
/** include/uapi/linux/ptrace.h PTRACE_O_MASK: 0xff | EXITKILL | SUSPEND_SECCOMP. */
export const PTRACE_O_MASK = 0xff | PTRACE_O_EXITKILL | PTRACE_O_SUSPEND_SECCOMP;
/** Vagin v2 patch 2: arch/arm64/include/uapi/asm/ptrace.h PTRACE_O_ARM64_RAW_REGS (1 << 28), never merged. */
export const PTRACE_O_ARM64_RAW_REGS = 1 << 28;

/** arch/arm64/include/uapi/asm/ptrace.h PSR bits used by valid_native_regs(). */
export const PSR = {
  MODE_MASK: 0xfn, // PSR_MODE_MASK (low 4 bits: EL and SP selection; EL0t = 0)
  MODE32: 0x10n, // PSR_MODE32_BIT
  F: 0x40n,
  I: 0x80n,
  A: 0x100n,
  D: 0x200n,
  NZCV: 0xf0000000n, // PSR_N_BIT | PSR_Z_BIT | PSR_C_BIT | PSR_V_BIT
} as const;

/** ptrace.c SPSR_EL1_AARCH64_RES0_BITS: GENMASK(63,32) | (27,26) | (23,22) | (20,13) | (5,5). */
const genmask = (h: number, l: number): bigint => ((1n << BigInt(h - l + 1)) - 1n) << BigInt(l);
export const SPSR_EL1_AARCH64_RES0_BITS = genmask(63, 32) | genmask(27, 26) | genmask(23, 22) | genmask(20, 13) | genmask(5, 5);

/** The kernel's struct pt_regs for one AArch64 task: user_pt_regs plus orig_x0 and syscallno. */
export interface Arm64PtRegs {
  /** x0..x30 */
  regs: bigint[];
  sp: bigint;
  pc: bigint;
  pstate: bigint;
  orig_x0: bigint;
  /** s32 in the kernel (pt_regs.syscallno). */
  syscallno: number;
}

/** Which kind of ptrace stop a task is in: the rules differ between them. */
export enum Arm64StopKind {
  SyscallEntry = 'syscall-entry',
  SyscallExit = 'syscall-exit',
  /** The exit of a syscall stepped with PTRACE_SINGLESTEP: reported as a pseudo-step (SIGTRAP). */
  SyscallExitPseudoStep = 'syscall-exit-pseudo-step',
  Seccomp = 'seccomp',
  SingleStep = 'single-step',
  Signal = 'signal',
}

/** Per-task state of a ptrace stop that the syscall-stop rules keep. */
export interface Arm64StopState {
  kind: Arm64StopKind;
  /** ptrace_message during the stop (PTRACE_EVENTMSG_SYSCALL_* at syscall stops, else 0). */
  message: PtraceEventMsg;
  /** The register report_syscall saved (clobber variants), restored when the stop ends. */
  saved?: { regno: number; value: bigint };
  /** PTRACE_O_* options of the tracer (PTRACE_O_ARM64_RAW_REGS matters here). */
  options: number;
}

export const emptyPtRegs = (): Arm64PtRegs => ({ regs: new Array<bigint>(31).fill(0n), sp: 0n, pc: 0n, pstate: 0n, orig_x0: 0n, syscallno: 0 });
export const clonePtRegs = (r: Arm64PtRegs): Arm64PtRegs => ({ ...r, regs: [...r.regs] });

/** report_syscall: `regno = is_compat_task() ? 12 : 7`. Compat tasks are not modelled. */
export function syscallStopRegno(compat = false): number {
  if (compat) throw new Error('AArch32 (compat) tasks are not modelled: the kernel would use r12 there');
  return 7;
}

/**
 * The start of a syscall stop (report_syscall before ptrace_report_syscall_*): on today's kernel
 * x7 is saved and replaced by the direction in pt_regs itself; under Vagin's v2 pt_regs is left
 * alone and only ptrace_message says the direction. A syscall exit reached by PTRACE_SINGLESTEP is
 * a pseudo-step: the register is restored before the stop, so nothing is clobbered.
 */
export function report_syscall_begin(v: KernelVariant, regs: Arm64PtRegs, dir: PtraceSyscallDir, options: number, singleStep = false): Arm64StopState {
  // The pseudo-step is user_single_step_report() (a SIGTRAP), not ptrace_report_syscall(): ptrace_message stays 0.
  if (dir === PtraceSyscallDir.EXIT && singleStep) return { kind: Arm64StopKind.SyscallExitPseudoStep, message: PtraceEventMsg.None, options };
  const message = dir === PtraceSyscallDir.ENTER ? PtraceEventMsg.SyscallEntry : PtraceEventMsg.SyscallExit;
  const kind = dir === PtraceSyscallDir.ENTER ? Arm64StopKind.SyscallEntry : Arm64StopKind.SyscallExit;
  if (!v.has(KernelBehaviour.Arm64SyscallStopClobber)) return { kind, message, options };
  const regno = syscallStopRegno();
  const saved = { regno, value: regs.regs[regno] };
  regs.regs[regno] = BigInt(dir);
  return { kind, message, saved, options };
}

/** The end of a syscall stop (report_syscall after the tracer resumed): the saved register comes back, discarding any write. */
export function report_syscall_end(regs: Arm64PtRegs, st: Arm64StopState): void {
  if (st.saved) regs.regs[st.saved.regno] = st.saved.value;
}

/** Stops other than syscall stops (seccomp, single-step, signals) touch no register (report_syscall's comment). */
export function otherStop(kind: Arm64StopKind.Seccomp | Arm64StopKind.SingleStep | Arm64StopKind.Signal, options: number): Arm64StopState {
  return { kind, message: PtraceEventMsg.None, options };
}

/** Whether the v2 view substitution is on at this stop (no raw option, a syscall stop by ptrace_message). */
function v2Substitutes(v: KernelVariant, st: Arm64StopState | undefined): boolean {
  if (!st || !v.has(KernelBehaviour.Arm64SyscallStopView)) return false;
  if (v.has(KernelBehaviour.Arm64RawRegsOption) && (st.options & PTRACE_O_ARM64_RAW_REGS) !== 0) return false;
  return st.message === PtraceEventMsg.SyscallEntry || st.message === PtraceEventMsg.SyscallExit;
}

/** pt_regs.user_regs as bytes (struct user_pt_regs, little-endian u64s). */
function userRegsBytes(regs: Arm64PtRegs): Uint8Array {
  const out = new Uint8Array(USER_PT_REGS_SIZE);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 31; i++) dv.setBigUint64(i * 8, BigInt.asUintN(64, regs.regs[i]), true);
  dv.setBigUint64(UPR_SP, BigInt.asUintN(64, regs.sp), true);
  dv.setBigUint64(UPR_PC, BigInt.asUintN(64, regs.pc), true);
  dv.setBigUint64(UPR_PSTATE, BigInt.asUintN(64, regs.pstate), true);
  return out;
}

/** gpr_get: NT_PRSTATUS, struct user_pt_regs as the tracer is shown it. */
export function gpr_get(v: KernelVariant, regs: Arm64PtRegs, st: Arm64StopState | undefined): Uint8Array {
  const out = userRegsBytes(regs);
  const dv = new DataView(out.buffer);
  if (v2Substitutes(v, st)) {
    // v2 patch 1: x7 shows the direction from ptrace_message (PTRACE_SYSCALL_ENTER / _EXIT).
    dv.setBigUint64(7 * 8, BigInt(st!.message === PtraceEventMsg.SyscallEntry ? PtraceSyscallDir.ENTER : PtraceSyscallDir.EXIT), true);
  }
  return out;
}

/**
 * valid_native_regs: RES0 bits cleared; EL0t AArch64 with D, A, I, F clear is valid; anything else
 * is forced to EL0t with only NZCV kept and reported invalid (gpr_set then fails with EINVAL).
 */
export function valid_native_regs(pstate: bigint): { pstate: bigint; valid: boolean } {
  let p = pstate & ~SPSR_EL1_AARCH64_RES0_BITS;
  const userMode = (p & PSR.MODE_MASK) === 0n; // user_mode(): PSR_MODE_EL0t
  if (userMode && (p & PSR.MODE32) === 0n && (p & (PSR.D | PSR.A | PSR.I | PSR.F)) === 0n) return { pstate: p, valid: true };
  p &= PSR.NZCV;
  return { pstate: p, valid: false };
}

/**
 * gpr_set: a copy of the current user_pt_regs overwritten by the `bytes` the tracer gave (a short
 * write keeps the rest), checked by valid_native_regs, then stored. On a clobber kernel x7 is
 * stored too, but report_syscall_end puts the saved value back after a syscall stop; under v2
 * without the option x7 keeps the task's real value.
 */
export function gpr_set(v: KernelVariant, regs: Arm64PtRegs, st: Arm64StopState | undefined, bytes: Uint8Array): Errno | 0 {
  const cur = userRegsBytes(regs); // newregs = task_pt_regs(target)->user_regs
  cur.set(bytes.subarray(0, Math.min(bytes.length, USER_PT_REGS_SIZE)));
  const dv = new DataView(cur.buffer);
  const next = Array.from({ length: 31 }, (_, i) => dv.getBigUint64(i * 8, true));
  if (v2Substitutes(v, st)) next[7] = regs.regs[7]; // "Historically, x7 can't be changed" (v2 patch 2)
  const ps = valid_native_regs(dv.getBigUint64(UPR_PSTATE, true));
  if (!ps.valid) return Errno.EINVAL;
  regs.regs = next;
  regs.sp = dv.getBigUint64(UPR_SP, true);
  regs.pc = dv.getBigUint64(UPR_PC, true);
  regs.pstate = ps.pstate;
  return 0;
}

/** system_call_get: pt_regs.syscallno as an int (4 bytes). */
export function system_call_get(regs: Arm64PtRegs): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, regs.syscallno, true);
  return out;
}

/** system_call_set: the int the tracer wrote becomes pt_regs.syscallno (-1 skips the call). */
export function system_call_set(regs: Arm64PtRegs, bytes: Uint8Array): 0 {
  const b = system_call_get(regs); // a short write keeps the rest (user_regset_copyin)
  b.set(bytes.subarray(0, 4));
  regs.syscallno = new DataView(b.buffer).getInt32(0, true);
  return 0;
}

/** The assumed syscall-regs regset (arm64-raw-regset): the real x7 (the saved one at a clobbered stop) and orig_x0. */
export function syscall_regs_get(regs: Arm64PtRegs, st: Arm64StopState | undefined): Uint8Array {
  const out = new Uint8Array(SYSCALL_REGS_SIZE);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt.asUintN(64, st?.saved ? st.saved.value : regs.regs[7]), true);
  dv.setBigUint64(8, BigInt.asUintN(64, regs.orig_x0), true);
  return out;
}

/**
 * Its write (an assumption: the review did not say whether it is writable): x7 sets the value the
 * stop restores (so a tracer can change the real x7), orig_x0 sets pt_regs.orig_x0.
 */
export function syscall_regs_set(regs: Arm64PtRegs, st: Arm64StopState | undefined, bytes: Uint8Array): 0 {
  const cur = syscall_regs_get(regs, st);
  cur.set(bytes.subarray(0, SYSCALL_REGS_SIZE));
  const dv = new DataView(cur.buffer);
  const x7 = dv.getBigUint64(0, true);
  if (st?.saved) st.saved.value = x7;
  else regs.regs[7] = x7;
  regs.orig_x0 = dv.getBigUint64(8, true);
  return 0;
}

/** One regset of the arm64 view the model offers: its note type, word size and count (struct user_regset .size, .n). */
export interface Arm64Regset { note: number; size: number; n: number; name: string }

/** The regsets of user_aarch64_view the model has, plus the proposal's. */
export function arm64Regsets(v: KernelVariant): Arm64Regset[] {
  const out: Arm64Regset[] = [
    { note: NT_PRSTATUS, size: 8, n: USER_PT_REGS_WORDS, name: 'NT_PRSTATUS' }, // REGSET_GPR: .n = sizeof(user_pt_regs)/sizeof(u64)
    { note: NT_ARM_SYSTEM_CALL, size: 4, n: 1, name: 'NT_ARM_SYSTEM_CALL' }, // REGSET_SYSTEM_CALL: .n = 1, .size = sizeof(int)
  ];
  if (v.has(KernelBehaviour.Arm64SyscallRegsRegset)) out.push({ note: ASSUMED_NT_ARM_SYSCALL_REGS, size: 8, n: 2, name: 'NT_ARM_SYSCALL_REGS (assumed)' });
  return out;
}

/**
 * kernel/ptrace.c ptrace_regset: EINVAL for an unknown note or an iov_len that is not a multiple
 * of the regset's word; otherwise iov_len clamped to the regset's size. NT_PRFPREG and the other
 * arm64 regsets exist in the kernel but not in this model: they answer EIO here ("not modelled"),
 * never the kernel's EINVAL, so a scenario cannot mistake them for the kernel's answer.
 */
export function ptrace_regset_len(v: KernelVariant, note: number, iovLen: number): { regset?: Arm64Regset; len: number; errno: Errno | 0 } {
  const r = arm64Regsets(v).find((x) => x.note === note);
  if (!r) return { len: iovLen, errno: Errno.EINVAL };
  if (iovLen % r.size !== 0) return { regset: r, len: iovLen, errno: Errno.EINVAL };
  return { regset: r, len: Math.min(iovLen, r.n * r.size), errno: 0 };
}

/** PTRACE_SETOPTIONS (kernel/ptrace.c ptrace_setoptions): bits outside PTRACE_O_MASK are EINVAL. */
export function ptrace_setoptions(v: KernelVariant, data: number): Errno | 0 {
  let mask = PTRACE_O_MASK;
  if (v.has(KernelBehaviour.Arm64RawRegsOption)) mask |= PTRACE_O_ARM64_RAW_REGS; // v2: _PTRACE_O_ARCH_OPTIONS
  return (data & ~mask) !== 0 ? Errno.EINVAL : 0;
}

/**
 * el0_svc_common before the entry stop: orig_x0 = x0, syscallno = the number from x8; a traced
 * user-issued syscall(-1) gets x0 = -ENOSYS so a skipped call reports ENOSYS unless the tracer
 * sets x0 (a skip the tracer asks for with NT_ARM_SYSTEM_CALL = -1 otherwise keeps x0 as it is).
 */
export function el0_svc_entry(regs: Arm64PtRegs, scno: number, traced: boolean): void {
  regs.orig_x0 = regs.regs[0];
  regs.syscallno = scno;
  if (traced && scno === NO_SYSCALL) regs.regs[0] = BigInt.asUintN(64, BigInt(-Errno.ENOSYS));
}
