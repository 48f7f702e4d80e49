/**
 * The ELF loader and core dumper (fs/binfmt_elf.c load_elf_binary / create_elf_tables /
 * elf_core_dump, fs/exec.c, Linux 6.18), with the fresh FPU state of a new program.
 * Functions of the Kernel class (src/linux/kernel.ts), called as its methods (`this` is the kernel).
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { FCW_INIT, MXCSR_INIT } from '../../../emulator/cpu-model.js';
import { GUEST_PAGE, Machine, type SegmentSelectors } from '../../../emulator/machine.js';
import { Prot, X86Reg } from '../../../emulator/unicorn.js';
import { XFeature } from '../../../emulator/xfeatures.js';
import { XsaveContext } from '../../../emulator/xsave.js';
import { fpuTaskStopped } from '../../../kernel-model/context-switch.js';
import { type CoreMapping, type CoreThread, PF, writeElfCore } from '../../../kernel-model/core.js';
import { TaskFpu, wrpkru } from '../../../kernel-model/fpstate.js';
import { INIT_PKRU_VALUE } from '../../../kernel-model/fpu-config.js';
import type { Kernel } from '../kernel.js';
import { AT_RSEQ_ALIGN, AT_RSEQ_FEATURE_SIZE, RSEQ_ALIGN, RSEQ_FEATURE_SIZE } from '../kernel/rseq.js';
import { STACK_TOP, VM_GROWSDOWN, initialStackStart } from '../mm/mmap.js';
import { Rlimit } from '../kernel/sys.js';
import { mmPkeysInit } from '../arch/x86/mm/pkeys.js';
import { FIRST_PID, sigBit, TaskState, Task, Process } from '../sched.js';
import { type SigInfo, USER_CS, USER_DS } from '../signal-frame.js';
import { readUserRegs } from '../user-regs.js';
import { AT_BASE, AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_FLAGS, AT_GID, AT_HWCAP, AT_HWCAP2, AT_MINSIGSTKSZ, AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_SECURE, AT_UID, type ElfImage, buildInitialStack, layoutProcess } from '../../loader/elf.js';

/**
 * The selectors of a 64-bit task (start_thread_common in arch/x86/kernel/process_64.c: CS
 * __USER_CS, SS __USER_DS, DS/ES/FS/GS null), which x87 FCS/FDS record (measured on AMD Zen 5:
 * FCS 33H, FDS 0 for a DS operand, 2BH for an RSP-based one).
 */
export const LINUX_USER_SELECTORS: SegmentSelectors = { cs: Number(USER_CS), ss: Number(USER_DS), ds: 0, es: 0, fs: 0, gs: 0 };
/** sysconf(_SC_CLK_TCK) = USER_HZ (include/asm-generic/param.h). */
const USER_HZ = 100n;
/** RFLAGS at process start: IF and the always-one bit 1 (SDM Vol. 1 3.4.3; start_thread). */
const RFLAGS_AT_START = 0x202n;
/** Full x87 tag word with every register empty (SDM Vol. 1 8.1.7), as FNINIT leaves it. */
const X87_TAGS_ALL_EMPTY = 0xffffn;
/** TASK_COMM_LEN (include/linux/sched.h): task->comm holds 15 characters and a NUL. */
const TASK_COMM_LEN = 16;

/** Load a static program as the first process (execve of a fresh mm). */
export function load(this: Kernel, img: ElfImage, argv: string[], envp: string[], execfn: string): void {
  const { xs: fpu, kfpu } = this.freshFpu();
  const pid = this.nextPid++;
  const proc = new Process(pid, undefined as unknown as Machine, undefined);
  const task = new Task(pid, proc, fpu, kfpu);
  proc.kvm = this.newKvmHost();
  this.loadElfBinary(proc, task, img, argv, envp, execfn);
  // The program the user named may be executed again (execve); with the --file files, nothing else.
  this.execAllowed.add(proc.exePath);
  proc.files.set(0, { kind: 'host', hostFd: 0 });
  proc.files.set(1, { kind: 'host', hostFd: 1 });
  proc.files.set(2, { kind: 'host', hostFd: 2 });
  const se = this.topo.initial();
  task.cpu = se.cpu;
  task.cpusMask = se.cpusMask;
  proc.threads.push(task);
  proc.loaded = task;
  this.tasks.push(task);
  this.init = proc;
}

/**
 * load_elf_binary() (fs/binfmt_elf.c) of a static image into a fresh address space on a new
 * engine for `proc`: the PT_LOAD mappings, brk, the stack (setup_arg_pages, growing on demand), the auxv
 * (create_elf_tables), argv/envp, and start_thread's registers; `task` runs it with its FPU state.
 */
export function loadElfBinary(this: Kernel, proc: Process, task: Task, img: ElfImage, argv: string[], envp: string[], execfn: string): void {
  const cpu = this.o.cpu;
  const fpu = task.fpu;
  proc.machine = new Machine(cpu, fpu, { onSyscall: () => this.onSyscall(proc), systemSources: this.systemSources, pageFault: (addr) => this.expandStack(proc, addr) }, { pke: this.view.cr4Pke.value, fsgsbase: this.view.cr4Fsgsbase.value });
  // A new mm: its protection keys as init_new_context sets them.
  proc.pkeys = mmPkeysInit(this.view.cr4Pke.value);
  proc.machine.userSelectors = LINUX_USER_SELECTORS;
  proc.machine.trace = this.o.trace;
  const m = proc.machine;
  const lay = layoutProcess(img);
  for (const mp of lay.mappings) {
    const prot = (mp.perms.r ? Prot.READ : 0) | (mp.perms.w ? Prot.WRITE : 0) | (mp.perms.x ? Prot.EXEC : 0);
    m.map(mp.start, mp.size, prot, mp.bytes);
  }
  proc.brkStart = proc.brk = lay.brk;
  // load_elf_binary: start_data is the highest PT_LOAD's p_vaddr, end_data the highest p_vaddr + p_filesz (with the load bias).
  const bias = lay.phdr - img.phdr.vaddr;
  proc.startData = proc.endData = 0n;
  for (const s of img.segments) {
    if (bias + s.vaddr > proc.startData) proc.startData = bias + s.vaddr;
    if (bias + s.vaddr + s.filesz > proc.endData) proc.endData = bias + s.vaddr + s.filesz;
  }
  const auxv = new Map<number, bigint>([
    // ELF_HWCAP / ELF_HWCAP2 as the kernel keeps them, not raw CPUID (kernel-model/kernel-view.ts).
    [AT_HWCAP, BigInt(this.view.hwcap.value)], [AT_PAGESZ, GUEST_PAGE], [AT_CLKTCK, USER_HZ],
    [AT_PHDR, lay.phdr], [AT_PHENT, BigInt(img.phdr.entsize)], [AT_PHNUM, BigInt(img.phdr.num)], [AT_BASE, 0n],
    [AT_FLAGS, 0n], [AT_ENTRY, lay.entry], [AT_UID, 0n], [AT_EUID, 0n], [AT_GID, 0n], [AT_EGID, 0n], [AT_SECURE, 0n],
    [AT_HWCAP2, BigInt(this.view.hwcap2.value)],
  ]);
  const minsig = this.view.minsigstksz.value;
  if (minsig !== undefined) auxv.set(AT_MINSIGSTKSZ, BigInt(minsig));
  // create_elf_tables (fs/binfmt_elf.c, 6.3+): what struct rseq the kernel supports.
  if (this.rseqExt) { auxv.set(AT_RSEQ_FEATURE_SIZE, BigInt(RSEQ_FEATURE_SIZE)); auxv.set(AT_RSEQ_ALIGN, BigInt(RSEQ_ALIGN)); }
  proc.argv = argv;
  proc.exe = execfn;
  proc.exePath = this.hostPath(execfn);
  proc.fileMaps = [];
  for (const mp of lay.mappings) {
    const seg = img.segments.find((x) => x.index === mp.segment);
    if (mp.kind === 'file' && seg) proc.fileMaps.push({ start: mp.start, end: mp.start + mp.size, offset: seg.offset - (seg.vaddr + lay.loadBias - mp.start) });
  }
  const st = buildInitialStack({ argv, envp, auxv, execfn, platform: 'x86_64', random16: this.random.bytes(16), stackTop: STACK_TOP });
  // setup_arg_pages: the stack mapping (VM_GROWSDOWN) covers the strings and stack_expand below, at
  // most RLIMIT_STACK; it grows on demand from there (mm/mmap.ts expandStack).
  const strings = [execfn, ...envp, ...(argv.length ? argv : [''])].reduce((n, s) => n + BigInt(Buffer.byteLength(s) + 1), 0n);
  const stackStart = initialStackStart(STACK_TOP, STACK_TOP - 8n - strings, proc.rlimits[Rlimit.STACK]!.cur);
  m.map(stackStart, STACK_TOP - stackStart, Prot.READ | Prot.WRITE | (lay.stackExecutable ? Prot.EXEC : 0), undefined, { vmFlags: VM_GROWSDOWN });
  if (st.sp < stackStart) this.expandStack(proc, st.sp); // create_elf_tables' writes fault the stack down
  m.poke(st.sp, st.bytes);
  // mm->saved_auxv (create_elf_tables): the vector as written on the stack, AT_NULL included, as
  // /proc/<pid>/auxv and the core's NT_AUXV give it.
  proc.auxv = st.auxv.flatMap(([k, v]) => [BigInt(k), v]);
  proc.ldt = undefined; // destroy_context_ldt: a new mm has no LDT
  proc.argStart = st.argStart;
  proc.argEnd = st.argEnd;
  // ELF_PLAT_INIT / start_thread: GPRs zero, RSP at argc, RIP at the entry; x87/SSE in the FNINIT / MXCSR 1F80H state.
  m.uc.regWriteBatch([X86Reg.RSP, X86Reg.RIP, X86Reg.RFLAGS, X86Reg.FPCW, X86Reg.MXCSR, X86Reg.FPTAG], [st.sp, lay.entry, RFLAGS_AT_START, BigInt(FCW_INIT), BigInt(MXCSR_INIT), X87_TAGS_ALL_EMPTY]);
  m.syncIn(true);
}

/**
 * A new process's FPU (fpstate_reset at execve): the kernel side from fpu__init_system_xstate,
 * and the CPU as the kernel leaves it for user space: XCR0, IA32_XSS, IA32_XFD = fpstate->xfd,
 * PKRU = init_pkru_value.
 */
export function freshFpu(this: Kernel): { xs: XsaveContext; kfpu: TaskFpu } {
  const cfg = this.fpuCfg;
  const kfpu = new TaskFpu(cfg, this.o.kernel);
  const xs = new XsaveContext(this.o.cpu);
  xs.xcr0 = cfg.xcr0;
  xs.xss = cfg.xss;
  xs.xfd = kfpu.fpstate.xfd;
  xs.cr4Osxsave = cfg.useXsave;
  if (cfg.xcr0 & (1 << XFeature.PKRU)) wrpkru(xs, INIT_PKRU_VALUE);
  return { xs, kfpu };
}

/**
 * elf_core_dump (fs/binfmt_elf.c) of a dying process into the --core file, never over an
 * existing file: every thread's registers and FPU regsets (switch_fpu_prepare first, so that
 * fpstate and thread.pkru hold the live state), the process notes and every mapping's bytes.
 * Returns the words added to the report line.
 */
export function dumpCore(this: Kernel, p: Process, dumper: Task, info: SigInfo): string {
  const m = p.machine;
  const live = [dumper, ...p.threads.filter((x) => x !== dumper && x.state !== TaskState.Dead)];
  const threads: CoreThread[] = [];
  const loaded = p.loaded;
  for (const t of live) {
    if (p.loaded !== t) {
      if (p.loaded && p.loaded.state !== TaskState.Dead) p.loaded.ctx = m.uc.contextSave(p.loaded.ctx);
      if (t.ctx) m.uc.contextRestore(t.ctx);
      p.loaded = t;
    }
    fpuTaskStopped(m, t);
    threads.push({ tid: t.tid, regs: readUserRegs(m.uc, t.origRax), fpu: t.kfpu, sighold: t.sigmask, sigpend: t.pending.reduce((a, x) => a | sigBit(x.info.signo), 0n) });
  }
  if (loaded && p.loaded !== loaded && loaded.ctx) { p.loaded!.ctx = m.uc.contextSave(p.loaded!.ctx); m.uc.contextRestore(loaded.ctx); p.loaded = loaded; m.setXstate(loaded.fpu); }
  const pf = (prot: number): number => ((prot & Prot.READ) ? PF.R : 0) | ((prot & Prot.WRITE) ? PF.W : 0) | ((prot & Prot.EXEC) ? PF.X : 0);
  const mappings: CoreMapping[] = m.mappings().map((r) => {
    const file = p.fileMaps.find((f) => f.start <= r.start && r.start < f.end);
    // A mapping nobody may read is dumped without bytes (vma_dump_size).
    const data = r.prot & Prot.READ ? m.peek(r.start, Number(r.end - r.start)) : new Uint8Array(0);
    return { start: r.start, end: r.end, flags: pf(r.prot), data, ...(file ? { path: p.exePath, fileOffset: file.offset + (r.start - file.start) } : {}) };
  });
  const core = writeElfCore({
    cpu: this.o.cpu, pid: p.pid, ppid: p.parent?.pid ?? FIRST_PID - 1, pgrp: this.init!.pid, sid: this.init!.pid, uid: 0, gid: 0,
    comm: basename(p.exe).slice(0, TASK_COMM_LEN - 1), psargs: p.argv.join(' '),
    signo: info.signo, sigCode: info.code, sigAddr: info.addr, sigPid: info.pid, sigUid: info.uid,
    threads, auxv: p.auxv, mappings,
  });
  try {
    writeFileSync(this.o.core!, core, { flag: 'wx' });
  } catch (e) {
    return ` (no core: ${(e as Error).message})`;
  }
  return ` (core dumped to ${this.o.core})`;
}
