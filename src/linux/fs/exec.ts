/**
 * execve (fs/exec.c do_execveat_common, bprm_execve, begin_new_exec, setup_new_exec; Linux 6.18)
 * of a static ELF the user handed in: the program named on the command line or a `--file` file.
 * Guests are untrusted: any other path is -ENOENT, as for open.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { readFileSync } from 'node:fs';
import { Errno, SIG_IGN, SI_USER, Sig, SS_DISABLE } from '../abi.js';
import { ThreadDebugRegs } from '../arch/x86/kernel/hw_breakpoint.js';
import { initialSelectors } from '../arch/x86/kernel/ptrace.js';
import type { Kernel } from '../kernel.js';
import { neg, TaskState, Task } from '../sched.js';
import { parseElf, type ElfImage } from '../../loader/elf.js';
import { completeVforkDone } from '../kernel/fork.js';

/** ENOEXEC (include/uapi/asm-generic/errno-base.h): no binary handler takes the file. */
const ENOEXEC = 8;
/** MAX_ARG_STRINGS (include/uapi/linux/binfmts.h): the most argv or envp entries (count() gives -E2BIG). */
const MAX_ARG_STRINGS = 0x7fffffff;
/** PTRACE_O_TRACEEXEC and PTRACE_EVENT_EXEC (include/uapi/linux/ptrace.h). */
const PTRACE_O_TRACEEXEC = 0x10;
const PTRACE_EVENT_EXEC = 4;
/** A NULL-terminated array of string pointers in guest memory (get_user_arg_ptr, copy_strings). */
function readStrings(t: Task, arr: bigint): string[] | bigint {
  const m = t.proc.machine;
  const out: string[] = [];
  if (!arr) return out; // a NULL argv or envp is an empty list (do_execveat_common)
  for (let i = 0; i < MAX_ARG_STRINGS; i++) {
    const p = m.readU64(arr + 8n * BigInt(i));
    if (!p) return out;
    out.push(m.readCString(p));
  }
  return neg(Errno.E2BIG);
}

/**
 * execve: the file must be one the user handed in (else -ENOENT) and a static x86-64 ELF the
 * model's loader takes (else -ENOEXEC, with a warning naming why). Past the point of no return
 * (begin_new_exec): the other threads are killed (de_thread), the address space is a fresh one on
 * a new engine, close-on-exec descriptors are closed, handled signals go back to SIG_DFL
 * (flush_signal_handlers; ignored ones stay ignored, the mask and pending signals stay), the
 * alternate stack is dropped (execve(2)), rseq is unregistered (rseq_execve), and the FPU is
 * reset as fpu_flush_thread() does: fpstate_reset (the default fpstate and permissions, AMX
 * permission dropped, guest permission too) and fpu_reset_fpregs (init_fpstate in the registers,
 * PKRU = init_pkru_value). A tracee gets SIGTRAP, or the PTRACE_EVENT_EXEC stop under
 * PTRACE_O_TRACEEXEC (ptrace_event in exec_binprm).
 */
export function execve(this: Kernel, t: Task, filename: bigint, argvp: bigint, envpp: bigint): bigint | 'stop' {
  const p = t.proc;
  const path = p.machine.readCString(filename);
  // do_open_execat() comes first, then the argument copies (alloc_bprm, count, copy_strings), then the binary handler.
  const full = this.hostPath(path);
  if (!this.execAllowed.has(full) && !this.o.allowedFiles.includes(full)) return neg(Errno.ENOENT);
  const argv = readStrings(t, argvp);
  if (typeof argv === 'bigint') return argv;
  const envp = readStrings(t, envpp);
  if (typeof envp === 'bigint') return envp;
  let img: ElfImage;
  try {
    img = parseElf(new Uint8Array(readFileSync(full)), path);
  } catch (e) {
    this.o.stderr(`xstate-lab: warning: execve(${JSON.stringify(path)}): ${(e as Error).message}; it returns -ENOEXEC`);
    return -BigInt(ENOEXEC);
  }
  return this.defer(t, () => {
    const old = p.machine;
    old.syncIn(true);
    // A vfork child leaves its parent's address space here (exec_mm_release -> complete_vfork_done): the engine stays the parent's.
    const shared = p.vforkDone !== undefined && !p.vforkDone.done;
    completeVforkDone(p);
    // de_thread(): every other thread of the group dies.
    for (const x of p.threads) if (x !== t) this.endTask(x);
    // fpu_flush_thread(): a fresh fpstate, permissions and registers.
    const { xs, kfpu } = this.freshFpu();
    t.fpu = xs;
    t.kfpu = kfpu;
    p.kvm = this.newKvmHost();
    if (t.ctx) { t.ctx.free(); t.ctx = undefined; }
    t.pendingRegs.clear();
    this.loadElfBinary(p, t, img, argv, envp, path);
    p.loaded = t;
    if (!shared) old.close();
    // do_close_on_exec(), flush_signal_handlers(), the alternate stack, rseq, clear_child_tid (exec_mm_release).
    for (const fd of [...p.cloexec]) this.closeFd(p, fd);
    p.sigactions = p.sigactions.map((a) => (a.handler === SIG_IGN ? { ...a, flags: 0n, mask: 0n, restorer: 0n } : { handler: 0n, flags: 0n, restorer: 0n, mask: 0n }));
    t.altstack = { sp: 0n, size: 0n, flags: SS_DISABLE };
    t.rseq = undefined;
    t.rseqEvent = t.rseqNotify = false;
    t.clearChildTid = 0n;
    t.restartBlock = undefined;
    t.origRax = -1n;
    // flush_thread(): flush_ptrace_hw_breakpoint (no breakpoints, DR6/DR7 0); start_thread(): null DS/ES/FS/GS.
    t.debugRegs = new ThreadDebugRegs();
    // exit_itimers(): the POSIX timers go (kernel/time/posix-timers.ts).
    for (const timer of p.posixTimers.values()) timer.seq++;
    p.posixTimers.clear();
    t.segs = initialSelectors();
    if (t.ptrace && t.state === TaskState.Runnable) {
      if (t.ptrace.options & PTRACE_O_TRACEEXEC) {
        const sig = Sig.SIGTRAP;
        this.ptraceStopTask(t, { sig, event: PTRACE_EVENT_EXEC, info: { signo: sig, code: sig | (PTRACE_EVENT_EXEC << 8), pid: t.tid, uid: 0 }, reported: false, message: BigInt(t.tid) }); // ptrace_message: the former thread id
      } else if (!t.ptrace.seized) this.sendToThread(t, { signo: Sig.SIGTRAP, code: SI_USER, pid: p.pid, uid: 0 }); // send_sig(SIGTRAP, current, 0)
    }
    return undefined; // RAX is start_thread's 0
  });
}
