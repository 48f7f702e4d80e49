/**
 * The x86-64 signal frame (arch/x86/kernel/signal_64.c, Linux 6.18): x64_setup_rt_frame and
 * rt_sigreturn; and the restart of an interrupted system call (arch/x86/kernel/signal.c
 * handle_signal, arch_do_signal_or_restart).
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { GuestMemoryFault } from '../../../../../emulator/machine.js';
import { iretToUser, segmentCheck } from '../../../../../emulator/general-insns.js';
import { Mnemonic } from '../../../../../emulator/iced.js';
import { X86Reg } from '../../../../../emulator/unicorn.js';
import { clearUserStatesForHandler, get_sigframe, on_sig_stack, restoreSigframeFpu, setupSigframeFpu } from '../../../../../kernel-model/signal.js';
import { Errno, SA_NODEFER, SA_ONSTACK, SA_RESTART, SS_DISABLE, SS_ONSTACK, Sig, Sys } from '../../../abi.js';
import { ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS, ERESTART_RESTARTBLOCK } from '../../../errno.js';
import type { Kernel } from '../../../kernel.js';
import { SI_KERNEL, SS_AUTODISARM } from '../../../kernel/signal.js';
import { MASK64, neg, sigBit, UNBLOCKABLE, type SigAction, Task } from '../../../sched.js';
import { FIX_EFLAGS, FRAME, RFLAGS_DF, RFLAGS_RF, RFLAGS_TF, SC, SIGCONTEXT_GPRS, type SigInfo, UC_FP_XSTATE, UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS, USER_CS, USER_DS, encodeSigInfo } from '../../../signal-frame.js';

/**
 * setup_rt_frame / x64_setup_rt_frame (arch/x86/kernel/signal_64.c) and handle_signal's
 * fpu__clear_user_states, task loaded on its engine. The place comes from get_sigframe and the
 * FPU part from copy_fpstate_to_sigframe (kernel-model/signal.ts). Returns why it failed.
 */
export function setupFrame(this: Kernel, t: Task, info: SigInfo, act: SigAction): string | undefined {
  const m = t.proc.machine;
  const uc = m.uc;
  // rseq_signal_deliver(): an interrupted critical section resumes at its abort handler, which the frame saves.
  if (t.rseq) { t.rseqEvent = true; t.rseqNotify = true; this.rseqReturnToUser(t); }
  const regs = uc.regReadBatch(SIGCONTEXT_GPRS);
  // The saved flags carry RF as an execute breakpoint's #DB set it (pt_regs flags; the engine has no RF bit).
  if (t.debugRegs.resumeFlag) regs[17] = regs[17]! | RFLAGS_RF;
  const rsp = regs[15]!;
  const ss = { sp: t.altstack.sp, size: t.altstack.size, enabled: t.altstack.flags !== SS_DISABLE };
  const place = get_sigframe(t.kfpu, rsp, ss, (act.flags & SA_ONSTACK) !== 0n);
  if (place.overflow) return place.overflow;
  const { frame, bufFx } = place;
  const b = new Uint8Array(FRAME.SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(FRAME.PRETCODE, act.restorer, true);
  v.setBigUint64(FRAME.UC_FLAGS, (this.fpuCfg.useXsave ? UC_FP_XSTATE : 0n) | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS, true);
  v.setBigUint64(FRAME.UC_STACK, t.altstack.sp, true);
  v.setInt32(FRAME.UC_STACK + 8, t.altstack.flags, true); // __save_altstack: sas_ss_flags as the task set them (measured)
  v.setBigUint64(FRAME.UC_STACK + 16, t.altstack.size, true);
  // save_altstack_ex(): SS_AUTODISARM disarms the stack for the handler (sas_ss_reset); rt_sigreturn's restore_altstack rearms it.
  const autodisarm = (t.altstack.flags & SS_AUTODISARM) !== 0 && t.altstack.flags !== SS_DISABLE;
  regs.forEach((r, i) => v.setBigUint64(FRAME.MCONTEXT + 8 * i, r, true));
  const w = (k: number, x: bigint): void => v.setBigUint64(FRAME.MCONTEXT + 8 * k, x, true);
  w(SC.CSGSFS, USER_CS | (USER_DS << 48n));
  // setup_sigcontext: the thread's last exception (thread.error_code, trap_nr, cr2), whatever this signal is.
  w(SC.ERR, BigInt(t.errorCode));
  w(SC.TRAPNO, BigInt(t.trapNr));
  // sigmask_to_save(): the mask rt_sigsuspend replaced, if any, else the current one.
  const saved = t.savedSigmask ?? t.sigmask;
  w(SC.OLDMASK, saved & 0xffffffffn);
  w(SC.CR2, t.cr2);
  w(SC.FPSTATE, bufFx);
  v.setBigUint64(FRAME.SIGMASK, saved, true);
  b.set(encodeSigInfo(info), FRAME.INFO);
  // get_sigframe writes the FPU part first, then the rest of the frame is put in place.
  if (!setupSigframeFpu(m, t.fpu, t.kfpu, bufFx)) return `cannot write the extended state at 0x${bufFx.toString(16)}`;
  try {
    m.write(frame, b);
  } catch (e) {
    if (e instanceof GuestMemoryFault) return `cannot write the frame at 0x${frame.toString(16)}`;
    throw e;
  }
  clearUserStatesForHandler(m, t.fpu, t.kfpu);
  const flags = regs[17]! & ~(RFLAGS_TF | RFLAGS_DF | RFLAGS_RF);
  uc.regWriteBatch([X86Reg.RDI, X86Reg.RSI, X86Reg.RDX, X86Reg.RAX, X86Reg.RSP, X86Reg.RIP, X86Reg.RFLAGS],
    [BigInt(info.signo), frame + BigInt(FRAME.INFO), frame + BigInt(FRAME.UC), 0n, frame, act.handler, flags]);
  t.debugRegs.resumeFlag = false; // handle_signal() clears RF for the handler
  if (autodisarm) t.altstack = { sp: 0n, size: 0n, flags: SS_DISABLE };
  t.sigmask |= act.mask | ((act.flags & SA_NODEFER) ? 0n : sigBit(info.signo));
  t.sigmask &= ~UNBLOCKABLE;
  t.savedSigmask = undefined; // signal_delivered(): clear_restore_sigmask
  return undefined;
}

/** rt_sigreturn (arch/x86/kernel/signal_64.c): the frame sits at RSP - 8 (the handler's ret popped pretcode). */
export function sigreturn(this: Kernel, t: Task): bigint | undefined {
  const m = t.proc.machine;
  const frame = m.uc.regRead(X86Reg.RSP) - 8n;
  let b: Uint8Array;
  try {
    b = m.read(frame, FRAME.SIZE);
  } catch {
    this.sendToThread(t, { signo: Sig.SIGSEGV, code: SI_KERNEL, addr: 0n }, true);
    return undefined;
  }
  const v = new DataView(b.buffer);
  // restore_altstack() comes before restore_sigcontext (6.18): uc_stack through do_sigaltstack at
  // the handler's stack pointer, so a handler running on the alternate stack cannot change it
  // (-EPERM); every error is ignored (test/guests/sigaltstack-restore.c).
  this.doSigaltstack(t, { sp: v.getBigUint64(FRAME.UC_STACK, true), flags: v.getInt32(FRAME.UC_STACK + 8, true), size: v.getBigUint64(FRAME.UC_STACK + 16, true) }, frame + 8n);
  const regs = SIGCONTEXT_GPRS.map((_, i) => v.getBigUint64(FRAME.MCONTEXT + 8 * i, true));
  const oldFlags = m.uc.regRead(X86Reg.RFLAGS);
  regs[17] = (oldFlags & ~FIX_EFLAGS) | (regs[17]! & FIX_EFLAGS);
  // restore_sigcontext(): RF is among FIX_EFLAGS; the model keeps it beside the engine's flags.
  t.debugRegs.resumeFlag = (regs[17] & RFLAGS_RF) !== 0n;
  regs[17] &= ~RFLAGS_RF;
  m.uc.regWriteBatch(SIGCONTEXT_GPRS, regs);
  t.sigmask = v.getBigUint64(FRAME.SIGMASK, true) & ~UNBLOCKABLE;
  t.restartBlock = undefined; // restore_sigcontext: restart_block.fn = do_no_restart_syscall
  const fpstate = v.getBigUint64(FRAME.MCONTEXT + 8 * SC.FPSTATE, true);
  const r = restoreSigframeFpu(m, t.fpu, t.kfpu, fpstate);
  if (!r.ok) this.sendToThread(t, { signo: Sig.SIGSEGV, code: SI_KERNEL, addr: 0n, reason: `bad frame in rt_sigreturn: ${r.reason}` }, true);
  else this.returnSelectors(t, v.getBigUint64(FRAME.MCONTEXT + 8 * SC.CSGSFS, true), v.getBigUint64(FRAME.UC_FLAGS, true));
  return undefined; // RAX comes from the frame
}

/** The length of SYSCALL (0F 05): a restarted call goes back over it. */
const SYSCALL_INSN_BYTES = 2n;

/** The restart errno a system call left in RAX (syscall_get_error), when the task is at a system call's exit. */
function restartCode(t: Task, rax: bigint): number | undefined {
  if (BigInt.asIntN(64, t.origRax) < 0n) return undefined; // syscall_get_nr() < 0: not in a system call
  const e = -Number(BigInt.asIntN(64, rax));
  return e === ERESTARTSYS || e === ERESTARTNOINTR || e === ERESTARTNOHAND || e === ERESTART_RESTARTBLOCK ? e : undefined;
}

/**
 * handle_signal() (arch/x86/kernel/signal.c) before a handler's frame: an interrupted call gives
 * -EINTR, except -ERESTARTSYS under SA_RESTART and -ERESTARTNOINTR, which are made again once the
 * handler returns (RAX = orig_ax, RIP back on the SYSCALL).
 */
export function restartForHandler(this: Kernel, t: Task, act: SigAction): void {
  const uc = t.proc.machine.uc;
  const [rax, rip] = uc.regReadBatch([X86Reg.RAX, X86Reg.RIP]);
  const code = restartCode(t, rax!);
  if (code === undefined) return;
  if (code === ERESTARTNOINTR || (code === ERESTARTSYS && (act.flags & SA_RESTART))) {
    uc.regWriteBatch([X86Reg.RAX, X86Reg.RIP], [t.origRax & MASK64, rip! - SYSCALL_INSN_BYTES]);
  } else uc.regWrite(X86Reg.RAX, neg(Errno.EINTR) & MASK64);
}

/**
 * arch_do_signal_or_restart() with no handler to run (arch/x86/kernel/signal.c): every restart
 * code makes the call again, -ERESTART_RESTARTBLOCK through restart_syscall; then
 * restore_saved_sigmask().
 */
export function restartWithoutHandler(this: Kernel, t: Task): void {
  const uc = t.proc.machine.uc;
  const [rax, rip] = uc.regReadBatch([X86Reg.RAX, X86Reg.RIP]);
  const code = restartCode(t, rax!);
  if (code !== undefined) {
    const nr = code === ERESTART_RESTARTBLOCK ? BigInt(Sys.restart_syscall) : t.origRax & MASK64;
    uc.regWriteBatch([X86Reg.RAX, X86Reg.RIP], [nr, rip! - SYSCALL_INSN_BYTES]);
  }
  if (t.savedSigmask !== undefined) { t.sigmask = t.savedSigmask; t.savedSigmask = undefined; }
}

/** AR_* of force_valid_ss (arch/x86/kernel/signal_64.c, 6.18): the LAR bits it compares (DPL, S, P, type without the accessed bit). */
const AR_DPL_MASK = 3 << 13, AR_S = 1 << 12, AR_P = 1 << 15, AR_TYPE_MASK = 7 << 9;
const AR_DPL3 = 3 << 13, AR_TYPE_RWDATA = 1 << 9, AR_TYPE_RWDATA_EXPDOWN = 3 << 9;

/**
 * The selectors rt_sigreturn leaves for the return to user space (restore_sigcontext,
 * arch/x86/kernel/signal_64.c, 6.18: cs and ss from the frame with RPL 3; without
 * UC_STRICT_RESTORE_SS a 64-bit return gets a usable SS, force_valid_ss), then what the IRET
 * does with them (emulator/general-insns.ts iretToUser): a #GP is SIGSEGV and a #NP or #SS
 * SIGBUS, each with si_code SI_KERNEL (the fault is reported as from user mode, fixup_bad_iret;
 * exc_general_protection / do_error_trap). A return to a 32-bit code segment is compat mode,
 * which the model cannot run: the run ends with an error naming it.
 */
export function returnSelectors(this: Kernel, t: Task, csgsfs: bigint, ucFlags: bigint): void {
  const USER_RPL = 3;
  const cs = Number(csgsfs & 0xffffn) | USER_RPL;
  let ss = Number((csgsfs >> 48n) & 0xffffn) | USER_RPL;
  const desc = (sel: number): bigint | undefined => this.segmentDescriptor(t, sel);
  if (!(ucFlags & UC_STRICT_RESTORE_SS) && cs === Number(USER_CS)) {
    const lar = segmentCheck(Mnemonic.Lar, ss, desc(ss));
    const ar = lar === undefined ? 0 : Number(lar) & (AR_DPL_MASK | AR_S | AR_P | AR_TYPE_MASK);
    if (ar !== (AR_DPL3 | AR_S | AR_P | AR_TYPE_RWDATA) && ar !== (AR_DPL3 | AR_S | AR_P | AR_TYPE_RWDATA_EXPDOWN)) ss = Number(USER_DS);
  }
  const out = iretToUser(cs, ss, desc);
  if (out.fault === 'GP') this.sendToThread(t, { signo: Sig.SIGSEGV, code: SI_KERNEL, addr: 0n, reason: `IRET to CS ${cs.toString(16)}H SS ${ss.toString(16)}H: #GP(${out.selector.toString(16)}H)` }, true);
  else if (out.fault) this.sendToThread(t, { signo: Sig.SIGBUS, code: SI_KERNEL, addr: 0n, reason: `IRET to CS ${cs.toString(16)}H SS ${ss.toString(16)}H: #${out.fault}(${out.selector.toString(16)}H)` }, true);
  else if (!out.longMode) this.fatal = { kind: 'error', message: `rt_sigreturn to CS ${cs.toString(16)}H, a 32-bit code segment: compat mode is not modelled` };
}
