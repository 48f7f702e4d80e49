/**
 * A Linux process model for static x86-64 programs: processes and threads on Machines (one
 * unicorn engine per address space), the system calls musl-static programs use, signals with
 * handlers and rt_sigreturn, and a deterministic round-robin scheduler.
 *
 * Determinism: no host clock, no host randomness, no host files but those the user named. Time
 * is a virtual clock advanced by the instructions run; getrandom and AT_RANDOM come from a fixed
 * seed; tasks run in fixed instruction quanta, round-robin by tid.
 */
import { straceExit, straceSignal, straceSyscall, type TraceMemory } from './strace.js';
import { readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { FCW_INIT, MXCSR_INIT, type CpuModel } from '../../emulator/cpu-model.js';
import {
  GuestMemoryFault, GUEST_PAGE, Machine, StopKind, cloneXsaveContext, type GuestFault, type SegmentSelectors,
} from '../../emulator/machine.js';
import { Prot, X86Reg, type UnicornContext } from '../../emulator/unicorn.js';
import { XsaveContext } from '../../emulator/xsave.js';
import { XFeature } from '../../emulator/xfeatures.js';
import { ARCH_SET_XCR0, arch_set_xcr0, userXcr0 } from '../../kernel-model/arch-set-xcr0.js';
import { fpuCloneChild, fpuTaskResumed, fpuTaskStopped, switchExtendedState } from '../../kernel-model/context-switch.js';
import { NoteType, USER_I387_STRUCT_SIZE, ptrace_getregset, ptrace_setregset } from '../../kernel-model/regset.js';
import { PF, writeElfCore, type CoreMapping, type CoreThread } from '../../kernel-model/core.js';
import { INIT_PKRU_VALUE, XFEATURE_MASK_USER_DYNAMIC, fpu__init_system_xstate, userSupportedMask, xfeatureMax, type FpuConfig } from '../../kernel-model/fpu-config.js';
import { TaskFpu, X86_TRAP_MF, fpu__exception_code, grantPermission, wrpkru, xfd_enable_feature } from '../../kernel-model/fpstate.js';
import {
  MINSIGSTKSZ, clearUserStatesForHandler, get_sigframe, on_sig_stack, restoreSigframeFpu, setupSigframeFpu, sigaltstack_size_valid, validate_sigaltstack,
} from '../../kernel-model/signal.js';
import { KernelBehaviour, type KernelVariant } from '../../kernel-model/variants.js';
import { kernelView, type KernelView } from '../../kernel-model/kernel-view.js';
import { KvmHost, type KvmVendorModule } from '../../kernel-model/kvm.js';
import { kvmIoctl, type KvmFile } from './kvm-dev.js';
import {
  AT_BASE, AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_FLAGS, AT_GID, AT_HWCAP, AT_HWCAP2, AT_MINSIGSTKSZ, AT_PAGESZ,
  AT_PHDR, AT_PHENT, AT_PHNUM, AT_SECURE, AT_UID, buildInitialStack, layoutProcess, type ElfImage,
} from '../loader/elf.js';
import {
  AT_EMPTY_PATH, AT_FDCWD, ArchPrctl, CORE_DUMP_SIGNALS, CLD_EXITED, CLD_KILLED, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_PARENT_SETTID,
  CLONE_SETTLS, CLONE_THREAD, CLONE_VM, CSIGNAL, ClockId, DEFAULT_IGNORED, Errno, FUTEX_CLOCK_REALTIME, FUTEX_PRIVATE_FLAG,
  FD_CLOEXEC, FIONREAD, Fcntl, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_NOTIFICATION_PIPE, S_IFIFO, FutexOp, MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MREMAP_FIXED, MREMAP_MAYMOVE, NSIG, O_ACCMODE, SA_NODEFER, SA_ONSTACK,
  SA_RESETHAND, SIG_DFL, SIG_IGN, SI_TKILL, SI_USER, SS_DISABLE, SS_ONSTACK, S_IFCHR, S_IFREG, Sig, SigHow, Sys,
  P_ALL, P_PID, WEXITED, WNOHANG, WNOWAIT, Whence,
} from './abi.js';
import {
  FIX_EFLAGS, FRAME, RFLAGS_DF, RFLAGS_RF, RFLAGS_TF, SC, SIGCONTEXT_GPRS, UC_FP_XSTATE, UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS,
  SIGINFO_BYTES, USER_CS, USER_DS, encodeSigInfo, type SigInfo,
} from './signal-frame.js';
import {
  CLD_TRAPPED, PTRACE_EVENT_STOP, PTRACE_FLAG_MASK, PTRACE_O_MASK, PTRACE_O_TRACESYSGOOD, PtraceReq, SYSCALL_TRAP_BIT, TASK_SIZE_MAX, TRAP_TRACE,
  stopStatus,
} from './ptrace.js';
import { USER_REGS_STRUCT_SIZE, decodeUserRegs, encodeUserRegs, readUserRegs, writeUserRegs } from './user-regs.js';
import { NOT_IMPLEMENTED_IN_LINUX, X32_FIRST, X32_LAST, syscallName } from './syscall-table.js';
import { create_pipe_files, pipeActivity, pipe_get_size, pipe_read, pipe_release, pipe_set_size, pipe_write, type PipeFile, type PipeIo } from './fs/pipe.js';
import { RDRAND_SEED, SplitMix64 as SplitMix64Rng, type SystemSources } from '../../emulator/general-insns.js';
import { CpuTopology, MODELLED_NODE, MODELLED_NR_CPUS, sched_getaffinity, sched_setaffinity } from './kernel/sched/affinity.js';
import { do_sysinfo } from './kernel/sys.js';
import { AT_RSEQ_ALIGN, AT_RSEQ_FEATURE_SIZE, RSEQ_ALIGN, RSEQ_FEATURE_SIZE, rseqExtensible, rseq_handle_notify_resume, sys_rseq, type RseqRegistration } from './kernel/rseq.js';

const MASK64 = (1n << 64n) - 1n;
/**
 * The selectors of a 64-bit task (start_thread_common in arch/x86/kernel/process_64.c: CS
 * __USER_CS, SS __USER_DS, DS/ES/FS/GS null), which x87 FCS/FDS record (measured on AMD Zen 5:
 * FCS 33H, FDS 0 for a DS operand, 2BH for an RSP-based one).
 */
const LINUX_USER_SELECTORS: SegmentSelectors = { cs: Number(USER_CS), ss: Number(USER_DS), ds: 0, es: 0, fs: 0, gs: 0 };
/** The top of the user stack: TASK_SIZE (arch/x86/include/asm/page_64_types.h, 4-level paging). */
const STACK_TOP = 0x7ffffffff000n;
/** RLIMIT_STACK default, 8 MiB (include/uapi/linux/resource.h _STK_LIM); mapped whole, no growth. */
const STACK_SIZE = 8n * 1024n * 1024n;
/** Where top-down mmap starts: below the stack and the 128 MiB minimum gap (mm/util.c mmap_base, MIN_GAP). */
const MMAP_BASE = STACK_TOP - STACK_SIZE - 128n * 1024n * 1024n;
/** mmap_min_addr default (mm/Kconfig DEFAULT_MMAP_MIN_ADDR = 65536). */
const MMAP_MIN_ADDR = 0x10000n;
/** Instructions per scheduling quantum when several tasks are runnable, and when one is. */
export const QUANTUM_SHARED = 10_000;
const QUANTUM_ALONE = 1_000_000;
/** Virtual clock start: 2026-01-01T00:00:00Z, in ns since the epoch. */
const CLOCK_EPOCH_NS = 1_767_225_600n * 1_000_000_000n;
/** Virtual nanoseconds each instruction takes, and each clock read. */
const NS_PER_INSN = 1n;
const NS_PER_CLOCK_READ = 1000n;
/** arch/x86/include/asm/segment.h VDSO_CPUNODE_BITS: TSC_AUX and the per-CPU segment limit hold (node << 12) | cpu. */
const VDSO_CPUNODE_BITS = 12;
const vdso_encode_cpunode = (cpu: number, node: number): number => ((node << VDSO_CPUNODE_BITS) | cpu) >>> 0;
/** First pid; threads and children count up from here. */
const FIRST_PID = 1000;
/** sysconf(_SC_CLK_TCK) = USER_HZ (include/asm-generic/param.h). */
const USER_HZ = 100n;
/** utsname field length (include/uapi/linux/utsname.h __NEW_UTS_LEN + 1). */
const UTS_FIELD = 65;
/** The fixed uname answer (the release comes from the kernel variant). */
const UTS = { sysname: 'Linux', nodename: 'xstate-lab', version: '#1 SMP PREEMPT_DYNAMIC xstate-lab', machine: 'x86_64', domainname: '(none)' };
/** RLIMIT_STACK (include/uapi/asm-generic/resource.h) and RLIM_INFINITY. */
const RLIMIT_STACK = 3;
/** RLIMIT_NOFILE and its defaults INR_OPEN_CUR / INR_OPEN_MAX (include/asm-generic/resource.h, include/uapi/linux/fs.h). */
const RLIMIT_NOFILE = 7;
const NOFILE_CUR = 1024;
const NOFILE_MAX = 4096;
/** sys_pipe2's accepted flags (fs/pipe.c __do_pipe_flags). */
const PIPE2_FLAGS = O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE;
/** ENOPKG (include/uapi/asm-generic/errno.h): watch_queue_init() in a kernel without CONFIG_WATCH_QUEUE. */
const ENOPKG = 65;
/** Bits F_SETFL may change on a pipe (fs/fcntl.c SETFL_MASK: O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME; the model keeps these two). */
const PIPE_SETFL_MASK = O_NONBLOCK | O_DIRECT;
/** O_RDONLY / O_WRONLY access modes (include/uapi/asm-generic/fcntl.h). */
const O_RDONLY = 0;
const O_WRONLY = 1;
const RLIM_INFINITY = MASK64;
/** struct stat st_blksize reported for every file. */
const BLKSIZE = 4096n;
/** Registers a syscall reads: number and six arguments (arch/x86/entry/entry_64.S calling convention). */
/** RFLAGS at process start: IF and the always-one bit 1 (SDM Vol. 1 3.4.3; start_thread). */
const RFLAGS_AT_START = 0x202n;
/** Full x87 tag word with every register empty (SDM Vol. 1 8.1.7), as FNINIT leaves it. */
const X87_TAGS_ALL_EMPTY = 0xffffn;
/** si_code SI_KERNEL (include/uapi/asm-generic/siginfo.h): a bad sigreturn frame. */
const SI_KERNEL = 0x80;
/** sizeof(stack_t), sizeof(struct kernel_sigaction) on x86-64 (include/uapi/asm-generic/signal.h, arch/x86/include/uapi/asm/signal.h). */
const STACK_T_BYTES = 24;
const KERNEL_SIGACTION_BYTES = 32;
/** sizeof(struct stat) on x86-64 (arch/x86/include/uapi/asm/stat.h). */
const STAT_BYTES = 144;
/** clock_nanosleep flag TIMER_ABSTIME (include/uapi/linux/time.h). */
const TIMER_ABSTIME = 1;
/** Modes and inode numbers this model reports: stdio as a tty-like character device, named files read-only. */
const STDIO_MODE = 0o620;
const NAMED_FILE_MODE = 0o444;
const FIRST_FILE_INO = 100;
/** A pipe's inode (fs/pipe.c get_pipe_inode: S_IFIFO | S_IRUSR | S_IWUSR) and st_blksize (PAGE_SIZE, pipefs). */
const PIPE_MODE = 0o600;
const PIPE_BLKSIZE = 4096n;
/** TASK_COMM_LEN (include/linux/sched.h): task->comm holds 15 characters and a NUL. */
const TASK_COMM_LEN = 16;
/** X86_TRAP_DB (asm/trapnr.h): the debug exception of a single step. */
const TRAP_DB = 1;
/** X86_TRAP_NM (arch/x86/include/asm/trapnr.h): device not available, XFD's exception. */
const TRAP_NM = 7;
/** The length of SYSCALL (0F 05, SDM Vol. 2B): where RCX points after it. */
const SYSCALL_INSN_BYTES = 2n;
const SYSCALL_REGS: readonly X86Reg[] = [X86Reg.RAX, X86Reg.RDI, X86Reg.RSI, X86Reg.RDX, X86Reg.R10, X86Reg.R8, X86Reg.R9];

const neg = (e: Errno): bigint => -BigInt(e);
const pageAlign = (v: bigint): bigint => (v + GUEST_PAGE - 1n) & ~(GUEST_PAGE - 1n);
const sigBit = (sig: number): bigint => 1n << BigInt(sig - 1);
const UNBLOCKABLE = sigBit(Sig.SIGKILL) | sigBit(Sig.SIGSTOP);

interface SigAction { handler: bigint; flags: bigint; restorer: bigint; mask: bigint }
/** `traced`: the tracer already saw (or injected) it at a signal-delivery stop. */
interface PendingSignal { info: SigInfo; forced: boolean; traced?: boolean }
/** A syscall the task sleeps in: `retry` returns the result once it can complete. */
interface Wait {
  what: string;
  retry?: () => bigint | undefined;
  futex?: { machine: Machine; addr: bigint };
  /** Virtual-clock deadline; `onTimeout` gives the result then. */
  deadline?: bigint;
  onTimeout?: () => bigint;
  /** The result when a signal interrupts the sleep (-EINTR without it; a pipe write gives what it wrote). */
  interrupted?: () => bigint;
}

/** Traced: in a ptrace stop (TASK_TRACED), until the tracer resumes it. */
enum TaskState { Runnable, Blocked, Traced, Dead }

/** A ptrace stop: the signal it reports (with the event for PTRACE_EVENT_STOP), and whether wait has seen it. */
interface PtraceStop { sig: number; event: number; info: SigInfo; reported: boolean }
/** A task's tracer and tracing state (task->ptrace, task->parent while traced). */
interface Tracing { tracer: Process; seized: boolean; options: number; interrupt: boolean; singlestep: boolean; syscalls: boolean }

class Task {
  state = TaskState.Runnable;
  ctx: UnicornContext | undefined;
  /** Register values to apply the next time this task is put on its CPU. */
  readonly pendingRegs = new Map<X86Reg, bigint>();
  /** Work to do on the task once the engine has stopped (sigreturn, clone, fork). */
  deferred: (() => bigint | undefined) | undefined;
  sigmask = 0n;
  readonly pending: PendingSignal[] = [];
  altstack = { sp: 0n, size: 0n, flags: SS_DISABLE };
  clearChildTid = 0n;
  wait: Wait | undefined;
  /** pt_regs.orig_ax: the system call being made, -1 after a fault or interrupt. */
  origRax = -1n;
  ptrace: Tracing | undefined;
  ptraceStop: PtraceStop | undefined;
  /** PTRACE_SYSCALL: the system call stopped at its entry runs when the task is next scheduled; then its exit stop is due. */
  syscallAfterEntryStop = false;
  syscallExitStopDue = false;
  /** task_cpu() and cpus_mask (src/linux/kernel/sched/affinity.ts). */
  cpu = 0;
  cpusMask = 0n;
  /** The registered struct rseq, and what is due on the next return to user space (kernel/rseq.ts). */
  rseq: RseqRegistration | undefined;
  rseqEvent = false;
  rseqNotify = false;
  /** mm_cid: the lowest concurrency id free in the process when the task was created (assumption `mm-cid-lowest-free`). */
  mmCid = 0;
  constructor(readonly tid: number, public proc: Process, public fpu: XsaveContext, public kfpu: TaskFpu) {}
}

interface OpenFile { kind: 'host'; hostFd: number }
interface MemFile { kind: 'file'; path: string; data: Buffer; pos: number }
type FileRef = OpenFile | MemFile | KvmFile | PipeFile;
/** The device node of /dev/kvm (misc device 10:232, include/linux/miscdevice.h KVM_MINOR). */
const DEV_KVM = '/dev/kvm';
/** /dev/kvm's permissions as udev leaves them without a kvm group (crw-------), and an inode number for it. */
const DEV_KVM_MODE = 0o600;
const DEV_KVM_INO = 232;

class Process {
  readonly threads: Task[] = [];
  readonly children: Process[] = [];
  sigactions: SigAction[] = Array.from({ length: NSIG + 1 }, () => ({ handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n }));
  files = new Map<number, FileRef>();
  /** Descriptors with FD_CLOEXEC. */
  cloexec = new Set<number>();
  brkStart = 0n;
  brk = 0n;
  /** The CPU (engine) this address space is loaded on, and which thread it holds. */
  loaded: Task | undefined;
  exit: { code: number } | { signal: number; reason: string } | undefined;
  reaped = false;
  /** Signal the parent gets when this process exits (clone's CSIGNAL byte; SIGCHLD for fork). */
  exitSignal = Sig.SIGCHLD as number;
  /** What a core dump names: the auxv words, the command line and the program (mm->saved_auxv, psargs, comm). */
  auxv: bigint[] = [];
  argv: string[] = [];
  exe = '';
  /** The program's file mappings (NT_FILE): address range and the file offset of its start. */
  fileMaps: { start: bigint; end: bigint; offset: bigint }[] = [];
  exePath = '';
  /** This process's KVM: kvm_caps and fpu->guest_perm of the group leader (ARCH_{GET,REQ}_XCOMP_GUEST_PERM, locked by the first vCPU). */
  kvm!: KvmHost;
  constructor(readonly pid: number, public machine: Machine, public parent: Process | undefined) {}
  get alive(): boolean { return this.exit === undefined; }
}

export interface KernelOptions {
  cpu: CpuModel;
  /** The kernel variant (kernel-model/variants.ts): every behaviour the process model shows comes from it. */
  kernel: KernelVariant;
  /** Where an ELF core goes when the guest dies of a core-dumping signal (never overwritten); none without it. */
  core?: string;
  /** Files the guest may open, read-only (absolute paths after resolve). */
  allowedFiles: readonly string[];
  /** The KVM vendor module behind the guest's /dev/kvm; without one the guest finds no /dev/kvm (ENOENT). */
  kvmVendor?: KvmVendorModule;
  maxInsns: bigint;
  trace?: (line: string) => void;
  /** Where warnings and reports go. */
  stderr: (line: string) => void;
  /** The modelled CPU count (src/linux/kernel/sched/affinity.ts, assumption `modelled-cpus`); MODELLED_NR_CPUS without it. */
  nrCpus?: number;
}

export type RunResult =
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: number; reason: string }
  /** The model lacks an instruction, or the guest cannot go on (deadlock): a message, no guest status. */
  | { kind: 'error'; message: string };

/** splitmix64 (Steele, Lea, Flood 2014): the deterministic source of getrandom and AT_RANDOM. */
class SplitMix64 {
  private s = 0x786c6162n; // "xlab"
  next(): bigint {
    this.s = (this.s + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 8) {
      let v = this.next();
      for (let k = 0; k < 8 && i + k < n; k++) { out[i + k] = Number(v & 0xffn); v >>= 8n; }
    }
    return out;
  }
}

export class Kernel {
  private readonly tasks: Task[] = [];
  private current: Task | undefined;
  private nextPid = FIRST_PID;
  private clockNs = CLOCK_EPOCH_NS;
  private insns = 0n;
  private readonly random = new SplitMix64();
  private readonly warned = new Set<number>();
  private init: Process | undefined;
  /** One core file per run: the first process that dies of a core-dumping signal writes it. */
  private coreWritten = false;
  private fatal: RunResult | undefined;
  /** Futex waiters in the order they went to sleep. */
  private futexWaiters: Task[] = [];

  /** fpu__init_system_xstate() of this CPU and variant: XCR0, IA32_XSS, the user and kernel feature sets. */
  private readonly fpuCfg: FpuConfig;
  /** What this kernel shows user space of the CPU: AT_HWCAP/AT_HWCAP2/AT_MINSIGSTKSZ and the CR4 bits it sets. */
  readonly view: KernelView;

  /** The modelled CPUs (assumption `modelled-cpus`). */
  private readonly topo: CpuTopology;
  /** The kernel has the extensible struct rseq (6.3+: AT_RSEQ_*, node_id, mm_cid). */
  private readonly rseqExt: boolean;
  /** Inode numbers of pipes (pipefs). */
  private nextPipeIno = 1;

  /** What RDTSC, RDTSCP, RDPID, RDRAND and RDSEED read (emulator/general-insns.ts). */
  private readonly systemSources: SystemSources = {
    // Assumption `modelled-tsc`: the TSC counts nanoseconds of the virtual CLOCK_MONOTONIC (a
    // 1 GHz invariant TSC); a read advances the clock as a clock_gettime does.
    readTsc: () => { this.clockNs += NS_PER_CLOCK_READ; return this.clockNs - CLOCK_EPOCH_NS; },
    // setup_getcpu (arch/x86/kernel/cpu/common.c, 6.18) writes MSR_TSC_AUX = vdso_encode_cpunode(cpu, node).
    tscAux: () => vdso_encode_cpunode(this.current?.cpu ?? 0, MODELLED_NODE),
    random64: () => this.rdrand.next(),
  };
  /** RDRAND/RDSEED's generator: fixed seed, one stream per kernel (determinism). */
  private readonly rdrand = new SplitMix64Rng(RDRAND_SEED);

  constructor(private readonly o: KernelOptions) {
    this.topo = new CpuTopology(o.nrCpus ?? MODELLED_NR_CPUS);
    this.rseqExt = rseqExtensible(o.kernel.release);
    this.fpuCfg = fpu__init_system_xstate(o.cpu, o.kernel);
    this.view = kernelView(o.cpu, o.kernel, this.fpuCfg);
  }

  // ------------------------------------------------------------------ start

  /** Load a static program as the first process (execve of a fresh mm). */
  load(img: ElfImage, argv: string[], envp: string[], execfn: string): void {
    const cpu = this.o.cpu;
    const { xs: fpu, kfpu } = this.freshFpu();
    const pid = this.nextPid++;
    const proc = new Process(pid, undefined as unknown as Machine, undefined);
    const task = new Task(pid, proc, fpu, kfpu);
    proc.kvm = this.newKvmHost();
    proc.machine = new Machine(cpu, fpu, { onSyscall: () => this.onSyscall(proc), systemSources: this.systemSources }, { pke: this.view.cr4Pke.value, fsgsbase: this.view.cr4Fsgsbase.value });
    proc.machine.userSelectors = LINUX_USER_SELECTORS;
    proc.machine.trace = this.o.trace;
    const m = proc.machine;
    const lay = layoutProcess(img);
    for (const mp of lay.mappings) {
      const prot = (mp.perms.r ? Prot.READ : 0) | (mp.perms.w ? Prot.WRITE : 0) | (mp.perms.x ? Prot.EXEC : 0);
      m.map(mp.start, mp.size, prot, mp.bytes);
    }
    proc.brkStart = proc.brk = lay.brk;
    m.map(STACK_TOP - STACK_SIZE, STACK_SIZE, Prot.READ | Prot.WRITE | (lay.stackExecutable ? Prot.EXEC : 0));
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
    proc.auxv = [...auxv].flatMap(([k, v]) => [BigInt(k), v]);
    proc.argv = argv;
    proc.exe = execfn;
    proc.exePath = resolve(execfn);
    for (const mp of lay.mappings) {
      const seg = img.segments.find((x) => x.index === mp.segment);
      if (mp.kind === 'file' && seg) proc.fileMaps.push({ start: mp.start, end: mp.start + mp.size, offset: seg.offset - (seg.vaddr + lay.loadBias - mp.start) });
    }    const st = buildInitialStack({ argv, envp, auxv, execfn, platform: 'x86_64', random16: this.random.bytes(16), stackTop: STACK_TOP });
    m.uc.memWrite(st.sp, st.bytes);
    // ELF_PLAT_INIT / start_thread: GPRs zero, RSP at argc, RIP at the entry; x87/SSE in the FNINIT / MXCSR 1F80H state.
    m.uc.regWriteBatch([X86Reg.RSP, X86Reg.RIP, X86Reg.RFLAGS, X86Reg.FPCW, X86Reg.MXCSR, X86Reg.FPTAG], [st.sp, lay.entry, RFLAGS_AT_START, BigInt(FCW_INIT), BigInt(MXCSR_INIT), X87_TAGS_ALL_EMPTY]);
    m.syncIn(true);
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
   * A new process's FPU (fpstate_reset at execve): the kernel side from fpu__init_system_xstate,
   * and the CPU as the kernel leaves it for user space: XCR0, IA32_XSS, IA32_XFD = fpstate->xfd,
   * PKRU = init_pkru_value.
   */
  private freshFpu(): { xs: XsaveContext; kfpu: TaskFpu } {
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

  // ------------------------------------------------------------------ scheduler

  /** Run until the first process exits; returns its status. */
  run(): RunResult {
    const init = this.init;
    if (!init) throw new Error('Kernel.run before load');
    let last = -1;
    while (init.alive && !this.fatal) {
      const task = this.pick(last);
      if (!task) {
        if (this.wakeOnTimeout()) continue;
        const sleepers = this.tasks.filter((t) => t.state === TaskState.Blocked || t.state === TaskState.Traced)
          .map((t) => (t.state === TaskState.Traced ? `tid ${t.tid} in a ptrace stop` : `tid ${t.tid} in ${t.wait?.what}`));
        return { kind: 'error', message: `deadlock: every task is blocked (${sleepers.join(', ')})` };
      }
      last = task.tid;
      this.switchTo(task);
      if (task.syscallAfterEntryStop) {
        task.syscallAfterEntryStop = false;
        this.syscallAfterEntryStop(task);
      }
      if (task.syscallExitStopDue && task.state === TaskState.Runnable) {
        task.syscallExitStopDue = false;
        if (task.ptrace?.syscalls) { this.ptraceStopTask(task, this.syscallStop(task)); continue; }
      }
      if (!this.deliverSignals(task) || task.state !== TaskState.Runnable) continue;
      this.rseqReturnToUser(task);
      if (task.state !== TaskState.Runnable || !task.proc.alive) continue;
      const runnable = this.tasks.filter((t) => t.state === TaskState.Runnable).length;
      const remaining = this.o.maxInsns - this.insns;
      if (remaining <= 0n) {
        this.killProcess(task.proc, Sig.SIGXCPU, `instruction budget exhausted (--max-insns ${this.o.maxInsns}) at rip 0x${task.proc.machine.uc.regRead(X86Reg.RIP).toString(16)}`, { signo: Sig.SIGXCPU, code: SI_KERNEL }, task);
        continue;
      }
      const slice = BigInt(runnable > 1 ? QUANTUM_SHARED : QUANTUM_ALONE);
      const stepping = task.ptrace?.singlestep === true;
      const quantum = stepping ? 1 : Number(slice < remaining ? slice : remaining);
      task.origRax = -1n;
      const stop = task.proc.machine.run(quantum);
      if (stepping && task.ptrace) {
        // The single-step trap (#DB, TRAP_TRACE) once the instruction completed.
        task.ptrace.singlestep = false;
        if (stop.kind !== StopKind.Fault && task.state === TaskState.Runnable && task.proc.alive) {
          this.sendToThread(task, { signo: Sig.SIGTRAP, code: TRAP_TRACE, addr: task.proc.machine.uc.regRead(X86Reg.RIP), trapno: TRAP_DB }, true);
        }
      }
      this.insns += BigInt(quantum);
      this.clockNs += BigInt(quantum) * NS_PER_INSN;
      if (task.deferred) {
        const fn = task.deferred;
        task.deferred = undefined;
        const r = fn();
        if (r !== undefined && task.proc.loaded === task) task.proc.machine.uc.regWrite(X86Reg.RAX, r & MASK64);
      }
      if (stop.kind === StopKind.Fault && stop.fault) {
        if (!this.handleXfd(task, stop.fault)) this.raiseFault(task, stop.fault);
      }
      else if (stop.kind === StopKind.Unemulated) this.fatal = { kind: 'error', message: stop.message ?? 'instruction not emulated' };
    }
    if (this.fatal) return this.fatal;
    const e = init.exit!;
    return 'code' in e ? { kind: 'exit', code: e.code } : { kind: 'signal', signal: e.signal, reason: e.reason };
  }

  /** Round-robin by tid: the first runnable task after `last`. */
  private pick(last: number): Task | undefined {
    // Retry the sleepers until no pipe moves: one's progress (a partial pipe write) may free another.
    let seen: number;
    do {
      seen = pipeActivity.changes;
      for (const t of this.tasks) if (t.state === TaskState.Blocked) this.tryWake(t);
    } while (pipeActivity.changes !== seen);
    const live = this.tasks.filter((t) => t.state === TaskState.Runnable).sort((a, b) => a.tid - b.tid);
    return live.find((t) => t.tid > last) ?? live[0];
  }

  private tryWake(t: Task): void {
    const r = t.wait?.retry?.();
    if (r !== undefined) this.wake(t, r);
    else if (t.pending.some((p) => this.deliverable(t, p))) this.wake(t, t.wait?.interrupted ? t.wait.interrupted() : neg(Errno.EINTR));
  }

  private wake(t: Task, result: bigint): void {
    if (t.state !== TaskState.Blocked) return;
    t.state = TaskState.Runnable;
    t.wait = undefined;
    t.pendingRegs.set(X86Reg.RAX, result & MASK64);
    this.futexWaiters = this.futexWaiters.filter((w) => w !== t);
  }

  /** With nothing runnable: jump the virtual clock to the earliest deadline and wake that sleeper. */
  private wakeOnTimeout(): boolean {
    let first: Task | undefined;
    for (const t of this.tasks) {
      if (t.state !== TaskState.Blocked || t.wait?.deadline === undefined) continue;
      if (!first || t.wait.deadline < first.wait!.deadline!) first = t;
    }
    if (!first) return false;
    if (first.wait!.deadline! > this.clockNs) this.clockNs = first.wait!.deadline!;
    this.wake(first, first.wait!.onTimeout ? first.wait!.onTimeout() : 0n);
    return true;
  }

  /** Put `task` on its process's engine: save the thread there, restore this one, switch extended state. */
  private switchTo(task: Task): void {
    const p = task.proc;
    const m = p.machine;
    const prev = p.loaded;
    if (prev !== task) {
      if (prev && prev.state !== TaskState.Dead) prev.ctx = m.uc.contextSave(prev.ctx);
      if (task.ctx) m.uc.contextRestore(task.ctx);
      p.loaded = task;
    }
    if (task.pendingRegs.size) {
      m.uc.regWriteBatch([...task.pendingRegs.keys()], [...task.pendingRegs.values()]);
      task.pendingRegs.clear();
    }
    switchExtendedState(m, prev, task);
    // rseq_preempt(): another task ran since this one left user space.
    if (this.current !== task && this.current !== undefined && task.rseq) { task.rseqEvent = true; task.rseqNotify = true; }
    this.current = task;
  }

  /**
   * rseq_handle_notify_resume() as the task (loaded on its engine) returns to user space: the
   * critical-section abort after an event, and cpu_id_start/cpu_id/node_id/mm_cid.
   */
  private rseqReturnToUser(t: Task): void {
    if (!t.rseq || !t.rseqNotify) return;
    const m = t.proc.machine;
    const r = rseq_handle_notify_resume(t, m, this.rseqExt, { cpu: t.cpu, node: MODELLED_NODE, mmCid: t.mmCid }, m.uc.regRead(X86Reg.RIP));
    if (r === 'segv') this.sendToThread(t, { signo: Sig.SIGSEGV, code: SI_KERNEL, addr: 0n, reason: 'rseq: bad struct rseq or rseq_cs on return to user space' }, true);
    else if (r !== undefined) m.uc.regWrite(X86Reg.RIP, r);
  }

  // ------------------------------------------------------------------ signals

  private deliverable(t: Task, p: PendingSignal): boolean {
    return p.forced || (t.sigmask & sigBit(p.info.signo)) === 0n || p.info.signo === Sig.SIGKILL;
  }

  /** Queue a signal for a thread (tgkill, faults) or a process (kill: the first thread not blocking it). */
  private sendToThread(t: Task, info: SigInfo, forced = false): void {
    if (t.state === TaskState.Dead) return;
    const act = t.proc.sigactions[info.signo]!;
    if (!forced && (act.handler === SIG_IGN || (act.handler === SIG_DFL && DEFAULT_IGNORED.has(info.signo))) && info.signo !== Sig.SIGKILL) return;
    if (!forced && t.pending.some((p) => p.info.signo === info.signo)) return; // standard signals do not queue
    t.pending.push({ info, forced });
    if (info.signo === Sig.SIGKILL && t.state === TaskState.Traced) this.ptraceResume(t, 0, false);
  }

  private sendToProcess(p: Process, info: SigInfo): void {
    const live = p.threads.filter((t) => t.state !== TaskState.Dead);
    const t = live.find((x) => (x.sigmask & sigBit(info.signo)) === 0n) ?? live[0];
    if (t) this.sendToThread(t, info);
  }

  /**
   * An XFD #NM (traps.c handle_xfd_event): with the process's permission, xfd_enable_feature()
   * gives the task a larger fpstate and the instruction runs again (RIP did not move); without it
   * the caller raises the fault's SIGILL (ILL_ILLOPC). Returns true when handled.
   */
  private handleXfd(t: Task, f: GuestFault): boolean {
    const xs = t.fpu;
    if (f.trapno !== TRAP_NM || !xs.xfdErr) return false;
    const err = xs.xfdErr;
    xs.xfdErr = 0; // the handler reads and clears IA32_XFD_ERR
    return xfd_enable_feature(xs, t.kfpu, err);
  }

  private raiseFault(t: Task, f: GuestFault): void {
    t.origRax = -1n; // an exception entry, not a system call
    t.proc.machine.syncIn(true);
    let code: number = f.code;
    if (f.trapno === X86_TRAP_MF) {
      // math_error (arch/x86/kernel/traps.c): si_code from the saved FSW and FCW; none for a spurious #MF.
      code = fpu__exception_code(t.fpu, X86_TRAP_MF);
      if (code === 0) return;
    }
    this.sendToThread(t, { signo: f.signal, code, addr: f.addr, trapno: f.trapno, reason: f.reason }, true);
  }

  /** Deliver what is deliverable before the task runs; false when the task no longer runs. */
  private deliverSignals(t: Task): boolean {
    while (t.state === TaskState.Runnable) {
      if (t.ptrace?.interrupt) {
        t.ptrace.interrupt = false;
        this.ptraceStopTask(t, { sig: Sig.SIGTRAP, event: PTRACE_EVENT_STOP, info: { signo: Sig.SIGTRAP, code: SI_USER }, reported: false });
        return false;
      }
      const k = t.pending.findIndex((p) => this.deliverable(t, p));
      if (k < 0) return true;
      const p = t.pending.splice(k, 1)[0]!;
      const sig = p.info.signo;
      // ptrace_signal(): a traced task stops before acting on any signal but SIGKILL; the tracer's
      // resume decides which signal, if any, is then delivered.
      if (t.ptrace && sig !== Sig.SIGKILL && !p.traced) {
        this.ptraceStopTask(t, { sig, event: 0, info: p.info, reported: false });
        return false;
      }
      const act = t.proc.sigactions[sig]!;
      if (this.o.trace && act.handler !== SIG_IGN && !(act.handler === SIG_DFL && DEFAULT_IGNORED.has(sig) && !p.forced)) this.o.trace(`${this.tracePid(t)}${straceSignal(p.info)}`);
      const reason = p.info.reason ?? `signal ${Sig[sig] ?? sig} (si_code ${p.info.code})`;
      const blockedOrIgnored = (t.sigmask & sigBit(sig)) !== 0n || act.handler === SIG_IGN;
      if (sig === Sig.SIGKILL || act.handler === SIG_DFL || (p.forced && blockedOrIgnored)) {
        if (DEFAULT_IGNORED.has(sig) && !p.forced) continue;
        this.killProcess(t.proc, sig, reason, p.info, t);
        return false;
      }
      if (act.handler === SIG_IGN) continue;
      const failed = this.setupFrame(t, p.info, act);
      if (failed) {
        // signal_setup_done -> force_sigsegv: SIGSEGV is forced, and a failing SIGSEGV handler is reset first.
        if (sig === Sig.SIGSEGV) t.proc.sigactions[sig] = { handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n };
        this.sendToThread(t, { signo: Sig.SIGSEGV, code: SI_KERNEL, addr: 0n, reason: `${failed} for ${Sig[sig] ?? sig} (${reason})` }, true);
        continue;
      }
      if (act.flags & SA_RESETHAND) t.proc.sigactions[sig] = { handler: SIG_DFL, flags: 0n, restorer: 0n, mask: 0n };
    }
    return false;
  }

  /**
   * setup_rt_frame / x64_setup_rt_frame (arch/x86/kernel/signal_64.c) and handle_signal's
   * fpu__clear_user_states, task loaded on its engine. The place comes from get_sigframe and the
   * FPU part from copy_fpstate_to_sigframe (kernel-model/signal.ts). Returns why it failed.
   */
  private setupFrame(t: Task, info: SigInfo, act: SigAction): string | undefined {
    const m = t.proc.machine;
    const uc = m.uc;
    // rseq_signal_deliver(): an interrupted critical section resumes at its abort handler, which the frame saves.
    if (t.rseq) { t.rseqEvent = true; t.rseqNotify = true; this.rseqReturnToUser(t); }
    const regs = uc.regReadBatch(SIGCONTEXT_GPRS);
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
    v.setInt32(FRAME.UC_STACK + 8, !ss.enabled ? SS_DISABLE : on_sig_stack(ss, rsp) ? SS_ONSTACK : 0, true);
    v.setBigUint64(FRAME.UC_STACK + 16, t.altstack.size, true);
    regs.forEach((r, i) => v.setBigUint64(FRAME.MCONTEXT + 8 * i, r, true));
    const w = (k: number, x: bigint): void => v.setBigUint64(FRAME.MCONTEXT + 8 * k, x, true);
    w(SC.CSGSFS, USER_CS | (USER_DS << 48n));
    w(SC.ERR, BigInt(info.err ?? 0));
    w(SC.TRAPNO, BigInt(info.trapno ?? 0));
    w(SC.OLDMASK, t.sigmask & 0xffffffffn);
    w(SC.CR2, info.signo === Sig.SIGSEGV ? info.addr ?? 0n : 0n);
    w(SC.FPSTATE, bufFx);
    v.setBigUint64(FRAME.SIGMASK, t.sigmask, true);
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
    t.sigmask |= act.mask | ((act.flags & SA_NODEFER) ? 0n : sigBit(info.signo));
    t.sigmask &= ~UNBLOCKABLE;
    return undefined;
  }

  /** rt_sigreturn (arch/x86/kernel/signal_64.c): the frame sits at RSP - 8 (the handler's ret popped pretcode). */
  private sigreturn(t: Task): bigint | undefined {
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
    const regs = SIGCONTEXT_GPRS.map((_, i) => v.getBigUint64(FRAME.MCONTEXT + 8 * i, true));
    const oldFlags = m.uc.regRead(X86Reg.RFLAGS);
    regs[17] = (oldFlags & ~FIX_EFLAGS) | (regs[17]! & FIX_EFLAGS);
    m.uc.regWriteBatch(SIGCONTEXT_GPRS, regs);
    t.sigmask = v.getBigUint64(FRAME.SIGMASK, true) & ~UNBLOCKABLE;
    const fpstate = v.getBigUint64(FRAME.MCONTEXT + 8 * SC.FPSTATE, true);
    const r = restoreSigframeFpu(m, t.fpu, t.kfpu, fpstate);
    if (!r.ok) this.sendToThread(t, { signo: Sig.SIGSEGV, code: SI_KERNEL, addr: 0n, reason: `bad frame in rt_sigreturn: ${r.reason}` }, true);
    return undefined; // RAX comes from the frame
  }

  // ------------------------------------------------------------------ ptrace

  /** Make `t` the task loaded on its process's engine (its registers in unicorn, its xstate on the machine). */
  private loadTask(t: Task): Machine {
    const p = t.proc;
    const m = p.machine;
    if (p.loaded !== t) {
      if (p.loaded && p.loaded.state !== TaskState.Dead) p.loaded.ctx = m.uc.contextSave(p.loaded.ctx);
      if (t.ctx) m.uc.contextRestore(t.ctx);
      p.loaded = t;
    }
    if (t.pendingRegs.size) {
      m.uc.regWriteBatch([...t.pendingRegs.keys()], [...t.pendingRegs.values()]);
      t.pendingRegs.clear();
    }
    if (m.xs !== t.fpu) m.setXstate(t.fpu);
    return m;
  }

  /**
   * ptrace_stop(): the task (loaded on its engine) stops for its tracer. It is switched out, so
   * switch_fpu_prepare saves its FPU registers into fpstate and thread.pkru, where the regsets
   * read them; the tracer's process gets SIGCHLD (CLD_TRAPPED).
   */
  private ptraceStopTask(t: Task, stop: PtraceStop): void {
    const tr = t.ptrace!;
    fpuTaskStopped(this.loadTask(t), t);
    t.state = TaskState.Traced;
    t.ptraceStop = stop;
    if (tr.tracer.alive) this.sendToProcess(tr.tracer, { signo: Sig.SIGCHLD, code: CLD_TRAPPED, pid: t.tid, uid: 0, status: stop.sig });
  }

  /**
   * ptrace_resume() of a stopped tracee: the registers are reloaded from fpstate
   * (restore_fpregs_from_fpstate, TIF_NEED_FPU_LOAD), and `sig` (0: none) is delivered without
   * another stop, as the tracer chose.
   */
  private ptraceResume(t: Task, sig: number, step: boolean): void {
    const stop = t.ptraceStop;
    fpuTaskResumed(this.loadTask(t), t);
    t.state = TaskState.Runnable;
    t.ptraceStop = undefined;
    if (t.ptrace) t.ptrace.singlestep = step;
    if (sig && stop) {
      const info: SigInfo = sig === stop.sig && stop.event === 0 ? stop.info : { signo: sig, code: SI_USER, pid: t.ptrace?.tracer.pid ?? 0, uid: 0 };
      t.pending.unshift({ info, forced: false, traced: true });
    }
  }

  /** A syscall stop: SIGTRAP, with 0x80 under PTRACE_O_TRACESYSGOOD, also as si_code (ptrace_report_syscall). */
  private syscallStop(t: Task): PtraceStop {
    const sig = Sig.SIGTRAP | (t.ptrace!.options & PTRACE_O_TRACESYSGOOD ? SYSCALL_TRAP_BIT : 0);
    return { sig, event: 0, info: { signo: Sig.SIGTRAP, code: sig, pid: t.tid, uid: 0 }, reported: false };
  }

  /**
   * The system call a syscall-entry-stop held back, with the registers the tracer left (orig_rax
   * -1 skips it: -ENOSYS stays in RAX). Its exit stop follows when it has completed.
   */
  private syscallAfterEntryStop(t: Task): void {
    const m = t.proc.machine;
    const a = m.uc.regReadBatch(SYSCALL_REGS);
    const nr = BigInt.asIntN(64, t.origRax);
    let r: bigint | 'stop' = neg(Errno.ENOSYS);
    if (nr >= 0n) {
      try {
        r = this.syscall(t, Number(nr & 0xffffffffn), a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!);
      } catch (e) {
        if (e instanceof GuestMemoryFault) r = neg(Errno.EFAULT);
        else throw e;
      }
    }
    if (r === 'stop') {
      const fn = t.deferred;
      t.deferred = undefined;
      const v = fn?.();
      if (v !== undefined && t.proc.loaded === t) m.uc.regWrite(X86Reg.RAX, v & MASK64);
    } else m.uc.regWrite(X86Reg.RAX, r & MASK64);
    t.syscallExitStopDue = true;
  }

  /** The tracee `pid` of the calling process, or why not (-ESRCH); `stopped`: it must be in a ptrace stop (ptrace_check_attach). */
  private tracee(caller: Process, pid: number, stopped: boolean): Task | bigint {
    const t = this.tasks.find((x) => x.tid === pid && x.state !== TaskState.Dead);
    if (!t || t.ptrace?.tracer !== caller) return neg(Errno.ESRCH);
    if (stopped && t.state !== TaskState.Traced) return neg(Errno.ESRCH);
    return t;
  }

  /** sys_ptrace (kernel/ptrace.c, arch/x86/kernel/ptrace.c arch_ptrace). */
  private ptraceSyscall(t: Task, req: number, pid: number, addr: bigint, data: bigint): bigint {
    const p = t.proc;
    const m = p.machine;
    switch (req as PtraceReq) {
      case PtraceReq.TRACEME: {
        if (t.ptrace || !p.parent?.alive) return neg(Errno.EPERM);
        t.ptrace = { tracer: p.parent, seized: false, options: 0, interrupt: false, singlestep: false, syscalls: false };
        return 0n;
      }
      case PtraceReq.ATTACH: case PtraceReq.SEIZE: {
        const target = this.tasks.find((x) => x.tid === pid && x.state !== TaskState.Dead);
        if (!target) return neg(Errno.ESRCH);
        if (target.proc === p || target.ptrace) return neg(Errno.EPERM);
        const seize = req === PtraceReq.SEIZE;
        if (seize && (addr !== 0n || (data & ~BigInt(PTRACE_O_MASK)) !== 0n)) return neg(Errno.EIO);
        target.ptrace = { tracer: p, seized: seize, options: seize ? Number(data) : 0, interrupt: false, singlestep: false, syscalls: false };
        if (!seize) this.sendToThread(target, { signo: Sig.SIGSTOP, code: SI_USER, pid: p.pid, uid: 0 });
        return 0n;
      }
      default: break;
    }
    const ignoreState = req === PtraceReq.KILL || req === PtraceReq.INTERRUPT;
    const c = this.tracee(p, pid, !ignoreState);
    if (typeof c === 'bigint') return c;
    const tm = (): Machine => this.loadTask(c);
    const resumeSig = (): number | undefined => (data < 0n || data > BigInt(NSIG) ? undefined : Number(data));
    switch (req as PtraceReq) {
      case PtraceReq.KILL: this.sendToThread(c, { signo: Sig.SIGKILL, code: SI_USER, pid: p.pid, uid: 0 }); return 0n;
      case PtraceReq.INTERRUPT: {
        if (!c.ptrace!.seized) return neg(Errno.EIO);
        if (c.state !== TaskState.Traced) c.ptrace!.interrupt = true;
        return 0n;
      }
      case PtraceReq.CONT: case PtraceReq.SYSCALL: case PtraceReq.SINGLESTEP: case PtraceReq.DETACH: {
        const sig = resumeSig();
        if (sig === undefined) return neg(Errno.EIO);
        c.ptrace!.syscalls = req === PtraceReq.SYSCALL;
        if (req === PtraceReq.DETACH) {
          c.ptrace = undefined;
          this.ptraceResume(c, sig, false);
        } else this.ptraceResume(c, sig, req === PtraceReq.SINGLESTEP);
        return 0n;
      }
      case PtraceReq.SETOPTIONS:
        if ((data & ~BigInt(PTRACE_O_MASK)) !== 0n) return neg(Errno.EINVAL);
        c.ptrace!.options = Number(data);
        return 0n;
      case PtraceReq.GETSIGINFO: m.write(data, encodeSigInfo(c.ptraceStop!.info)); return 0n;
      case PtraceReq.PEEKTEXT: case PtraceReq.PEEKDATA: {
        // access_process_vm with FOLL_FORCE: the tracee's pages whatever their protection.
        const cm = tm();
        if (!cm.isMapped(addr, addr + 8n)) return neg(Errno.EIO);
        m.writeU64(data, new DataView(cm.uc.memRead(addr, 8).buffer).getBigUint64(0, true));
        return 0n;
      }
      case PtraceReq.POKETEXT: case PtraceReq.POKEDATA: {
        const cm = tm();
        if (!cm.isMapped(addr, addr + 8n)) return neg(Errno.EIO);
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, data & MASK64, true);
        cm.uc.memWrite(addr, b);
        return 0n;
      }
      case PtraceReq.GETREGS: m.write(data, encodeUserRegs(readUserRegs(tm().uc, c.origRax))); return 0n;
      case PtraceReq.SETREGS: return this.setUserRegs(c, m.read(data, USER_REGS_STRUCT_SIZE));
      case PtraceReq.GETFPREGS: case PtraceReq.SETFPREGS: {
        // The NT_PRFPREG regset with its full 512 bytes (arch_ptrace -> copy_regset_to/from_user).
        if (req === PtraceReq.GETFPREGS) {
          const r = ptrace_getregset(this.o.cpu, c.kfpu, NoteType.NT_PRFPREG, USER_I387_STRUCT_SIZE);
          if (r.errno) return neg(r.errno);
          m.write(data, r.data!);
          return 0n;
        }
        const r = ptrace_setregset(this.o.cpu, c.kfpu, NoteType.NT_PRFPREG, m.read(data, USER_I387_STRUCT_SIZE), USER_I387_STRUCT_SIZE);
        return r.errno ? neg(r.errno) : 0n;
      }
      case PtraceReq.GETREGSET: case PtraceReq.SETREGSET: return this.ptraceRegset(c, req === PtraceReq.SETREGSET, Number(addr & 0xffffffffn), data);
      default: return neg(Errno.EIO);
    }
  }

  /** ptrace_regset() (kernel/ptrace.c): the iovec, the regset's size rules, the clamped iov_len written back. */
  private ptraceRegset(c: Task, set: boolean, note: number, iovAddr: bigint): bigint {
    const m = this.current!.proc.machine;
    const base = m.readU64(iovAddr);
    const len = m.readU64(iovAddr + 8n);
    if (note === NoteType.NT_PRSTATUS) {
      // REGSET64_GENERAL: 27 words of user_regs_struct; a SET of fewer words changes only those.
      if (len % 8n !== 0n) return neg(Errno.EINVAL);
      const n = len < BigInt(USER_REGS_STRUCT_SIZE) ? Number(len) : USER_REGS_STRUCT_SIZE;
      if (set) {
        const cur = encodeUserRegs(readUserRegs(this.loadTask(c).uc, c.origRax));
        cur.set(m.read(base, n), 0);
        const r = this.setUserRegs(c, cur);
        if (r !== 0n) return r;
      } else m.write(base, encodeUserRegs(readUserRegs(this.loadTask(c).uc, c.origRax)).subarray(0, n));
      m.writeU64(iovAddr + 8n, BigInt(n));
      return 0n;
    }
    if (note !== NoteType.NT_PRFPREG && note !== NoteType.NT_X86_XSTATE) return neg(Errno.EINVAL);
    const iovLen = len > 0x7fffffffn ? 0x7fffffff : Number(len); // far above any regset: clamped all the same
    if (set) {
      const want = Math.min(iovLen, note === NoteType.NT_PRFPREG ? USER_I387_STRUCT_SIZE : this.fpuCfg.user.maxSize);
      let buf: Uint8Array;
      try { buf = m.read(base, iovLen % 8 ? 0 : want); } catch (e) { if (e instanceof GuestMemoryFault) return neg(Errno.EFAULT); throw e; }
      const r = ptrace_setregset(this.o.cpu, c.kfpu, note, buf, iovLen);
      if (r.errno) return neg(r.errno);
      m.writeU64(iovAddr + 8n, BigInt(r.len));
      return 0n;
    }
    const r = ptrace_getregset(this.o.cpu, c.kfpu, note, iovLen);
    if (r.errno) return neg(r.errno);
    m.write(base, r.data!);
    m.writeU64(iovAddr + 8n, BigInt(r.len));
    return 0n;
  }

  /** putreg() for each word of a user_regs_struct: selectors must be user ones, bases below TASK_SIZE_MAX (-EIO). */
  private setUserRegs(c: Task, b: Uint8Array): bigint {
    const regs = decodeUserRegs(b);
    if (regs.fs_base >= TASK_SIZE_MAX || regs.gs_base >= TASK_SIZE_MAX) return neg(Errno.EIO);
    for (const sel of [regs.cs, regs.ss]) if ((sel & 3n) !== 3n) return neg(Errno.EIO);
    writeUserRegs(this.loadTask(c).uc, regs, PTRACE_FLAG_MASK);
    c.origRax = regs.orig_rax;
    return 0n;
  }

  // ------------------------------------------------------------------ exits

  /** Death by a signal's default action; a core-dumping one writes the --core file first (do_coredump). */
  private killProcess(p: Process, signal: number, reason: string, info?: SigInfo, dumper?: Task): void {
    if (!p.alive) return;
    let why = reason;
    if (info && dumper && CORE_DUMP_SIGNALS.has(signal) && this.o.core && !this.coreWritten) {
      this.coreWritten = true;
      why += this.dumpCore(p, dumper, info);
    }
    this.endProcess(p, { signal, reason: why });
  }

  /**
   * elf_core_dump (fs/binfmt_elf.c) of a dying process into the --core file, never over an
   * existing file: every thread's registers and FPU regsets (switch_fpu_prepare first, so that
   * fpstate and thread.pkru hold the live state), the process notes and every mapping's bytes.
   * Returns the words added to the report line.
   */
  private dumpCore(p: Process, dumper: Task, info: SigInfo): string {
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
      const data = r.prot & Prot.READ ? m.uc.memRead(r.start, Number(r.end - r.start)) : new Uint8Array(0);
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

  private endProcess(p: Process, exit: Process['exit']): void {
    if (!p.alive) return;
    p.exit = exit;
    if (this.o.trace && exit) this.o.trace(`${this.tasks.length > 1 ? `[pid ${p.pid}] ` : ''}${straceExit(exit)}`);
    for (const t of p.threads) this.endTask(t);
    // exit_files(): every descriptor is closed (a pipe's other end then sees EOF or EPIPE).
    for (const fd of [...p.files.keys()]) this.closeFd(p, fd);
    // exit_ptrace(): the tracees of a dying tracer are detached and go on.
    for (const t of this.tasks) {
      if (t.ptrace?.tracer !== p || t.state === TaskState.Dead) continue;
      t.ptrace = undefined;
      if (t.state === TaskState.Traced) this.ptraceResume(t, 0, false);
    }
    for (const c of p.children) c.parent = undefined;
    const parent = p.parent;
    if (parent?.alive && p.exitSignal) {
      const status = 'code' in exit! ? exit.code : exit!.signal;
      this.sendToProcess(parent, { signo: p.exitSignal, code: 'code' in exit! ? CLD_EXITED : CLD_KILLED, pid: p.pid, uid: 0, status });
    }
    if (!parent) p.reaped = true;
  }

  private endTask(t: Task): void {
    if (t.state === TaskState.Dead) return;
    t.state = TaskState.Dead;
    t.wait = undefined;
    this.futexWaiters = this.futexWaiters.filter((w) => w !== t);
    if (t.ctx) { t.ctx.free(); t.ctx = undefined; }
  }

  /** SYS_exit of one thread: CLONE_CHILD_CLEARTID's store and wake (kernel/fork.c mm_release). */
  private exitThread(t: Task, code: number): void {
    const p = t.proc;
    if (t.clearChildTid && p.threads.some((x) => x !== t && x.state !== TaskState.Dead)) {
      try {
        p.machine.writeU32(t.clearChildTid, 0);
        this.futexWake(p.machine, t.clearChildTid, 1);
      } catch { /* an unmapped address is ignored, as in Linux */ }
    }
    this.endTask(t);
    if (p.threads.every((x) => x.state === TaskState.Dead)) this.endProcess(p, { code: code & 0xff });
  }

  // ------------------------------------------------------------------ system calls

  /** UC_HOOK_INSN(SYSCALL) for a process's engine: returns true to stop the engine (reschedule). */
  private onSyscall(p: Process): boolean {
    const t = p.loaded!;
    const m = p.machine;
    // SYSCALL (SDM Vol. 2B): RCX := the RIP of the next instruction, R11 := RFLAGS.
    // entry_SYSCALL_64 saves both in pt_regs (cx, r11), and the return, SYSRET or IRET alike,
    // gives user space those saved values back. Unicorn 2.0.1 runs this hook with RIP still at
    // the instruction and advances it afterwards (test/guests/syscall-regs.c shows the difference).
    const [rip, rflags] = m.uc.regReadBatch([X86Reg.RIP, X86Reg.RFLAGS]);
    m.uc.regWriteBatch([X86Reg.RCX, X86Reg.R11], [rip! + SYSCALL_INSN_BYTES, rflags!]);
    const a = m.uc.regReadBatch(SYSCALL_REGS);
    const nr = Number(a[0]! & 0xffffffffn);
    t.origRax = a[0]!;
    if (t.ptrace?.syscalls) {
      // syscall-entry-stop (ptrace_report_syscall_entry): RAX reads -ENOSYS, orig_rax the number.
      m.uc.regWrite(X86Reg.RAX, neg(Errno.ENOSYS) & MASK64);
      t.syscallAfterEntryStop = true;
      this.ptraceStopTask(t, this.syscallStop(t));
      return true;
    }
    let r: bigint | 'stop';
    // exit and exit_group never return: strace prints them, `= ?`, before the process's end.
    const noReturn = nr === Sys.exit || nr === Sys.exit_group;
    if (this.o.trace && noReturn) this.o.trace(`${this.tracePid(t)}${straceSyscall(nr, a.slice(1), 'stop', this.traceMemory(m))}`);
    try {
      r = this.syscall(t, nr, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!);
    } catch (e) {
      if (e instanceof GuestMemoryFault) r = neg(Errno.EFAULT);
      else throw e;
    }
    // strace's notation (src/linux/strace.ts), read from the guest's memory after the call.
    if (this.o.trace && !noReturn) this.o.trace(`${this.tracePid(t)}${straceSyscall(nr, a.slice(1), r, this.traceMemory(m))}`);
    if (r === 'stop') return true;
    m.uc.regWrite(X86Reg.RAX, r & MASK64);
    if (t.rseqNotify) this.rseqReturnToUser(t);
    return t.state !== TaskState.Runnable || !p.alive || t.pending.some((x) => this.deliverable(t, x));
  }

  /** strace -f's `[pid N] ` once there is more than one task. */
  private tracePid(t: Task): string {
    return this.tasks.length > 1 ? `[pid ${t.tid}] ` : '';
  }

  /** Guest memory for trace lines: unreadable memory is shown as its address, never a fault. */
  private traceMemory(m: Machine): TraceMemory {
    return {
      cString: (addr, max) => { try { return m.readCString(addr, max); } catch { return undefined; } },
      bytes: (addr, len) => { try { return m.read(addr, len); } catch { return undefined; } },
    };
  }

  private block(t: Task, w: Wait): 'stop' {
    t.state = TaskState.Blocked;
    t.wait = w;
    return 'stop';
  }

  private defer(t: Task, fn: () => bigint | undefined): 'stop' {
    t.deferred = fn;
    return 'stop';
  }

  private syscall(t: Task, nr: number, a0: bigint, a1: bigint, a2: bigint, a3: bigint, a4: bigint, _a5: bigint): bigint | 'stop' {
    const p = t.proc;
    const m = p.machine;
    const i32 = (x: bigint): number => Number(BigInt.asIntN(32, x));
    switch (nr as Sys) {
      case Sys.read: {
        const f = p.files.get(i32(a0));
        if (f?.kind === 'pipe') return this.pipeIo(t, 'pipe read', pipe_read(f, Number(a2), (b) => m.write(a1, b)));
        return this.read(p, i32(a0), a1, Number(a2));
      }
      case Sys.write: {
        const f = p.files.get(i32(a0));
        if (f?.kind === 'pipe') return this.pipeIo(t, 'pipe write', pipe_write(f, m.read(a1, Number(a2)), () => this.sigpipe(t)));
        return this.write(p, i32(a0), m.read(a1, Number(a2)));
      }
      case Sys.writev: {
        const parts: Uint8Array[] = [];
        for (let k = 0n; k < a2; k++) {
          const base = m.readU64(a1 + 16n * k);
          const len = m.readU64(a1 + 16n * k + 8n);
          parts.push(m.read(base, Number(len)));
        }
        const f = p.files.get(i32(a0));
        if (f?.kind === 'pipe') return this.pipeIo(t, 'pipe write', pipe_write(f, Buffer.concat(parts), () => this.sigpipe(t)));
        return this.write(p, i32(a0), Buffer.concat(parts));
      }
      case Sys.readv: {
        const f = p.files.get(i32(a0));
        if (f?.kind === 'pipe') {
          // One pipe_read over the whole iovec, scattered in order.
          const iov = Array.from({ length: Number(a2) }, (_, k) => ({ base: m.readU64(a1 + 16n * BigInt(k)), len: Number(m.readU64(a1 + 16n * BigInt(k) + 8n)) }));
          const scatter = (b: Uint8Array): void => {
            let off = 0;
            for (const v of iov) { if (off >= b.length) break; const n = Math.min(v.len, b.length - off); m.write(v.base, b.subarray(off, off + n)); off += n; }
          };
          return this.pipeIo(t, 'pipe read', pipe_read(f, iov.reduce((x, v) => x + v.len, 0), scatter));
        }
        let total = 0n;
        for (let k = 0n; k < a2; k++) {
          const n = this.read(p, i32(a0), m.readU64(a1 + 16n * k), Number(m.readU64(a1 + 16n * k + 8n)));
          if (n < 0n) return total ? total : n;
          total += n;
          if (n < m.readU64(a1 + 16n * k + 8n)) break;
        }
        return total;
      }
      case Sys.open: return this.open(p, m.readCString(a0), i32(a1));
      case Sys.openat: return i32(a0) === AT_FDCWD || m.readCString(a1).startsWith('/') ? this.open(p, m.readCString(a1), i32(a2)) : neg(Errno.ENOENT);
      case Sys.close: return this.closeFd(p, i32(a0)) ? 0n : neg(Errno.EBADF);
      case Sys.fcntl: return this.fcntl(p, i32(a0), Number(a1 & 0xffffffffn), a2, nr);
      case Sys.dup: {
        const f = p.files.get(i32(a0));
        if (!f) return neg(Errno.EBADF);
        return BigInt(this.installFd(p, this.retain(f), false));
      }
      case Sys.dup2: case Sys.dup3: return this.dup3(p, i32(a0), i32(a1), nr === Sys.dup3 ? i32(a2) : undefined);
      case Sys.pipe: case Sys.pipe2: return this.pipe2(p, a0, nr === Sys.pipe2 ? i32(a1) : 0);
      case Sys.sched_getaffinity: case Sys.sched_setaffinity: {
        const target = this.schedTarget(t, i32(a0));
        if (!target) return neg(Errno.ESRCH);
        if (nr === Sys.sched_getaffinity) return sched_getaffinity(this.topo, target, a1 & 0xffffffffn, (b) => m.write(a2, b));
        const r = sched_setaffinity(this.topo, target, a1 & 0xffffffffn, (n) => m.read(a2, n));
        // A migrated task's rseq area is updated on its next return to user space (rseq_migrate).
        if (r.migrated && target.rseq) { target.rseqEvent = true; target.rseqNotify = true; }
        return r.ret;
      }
      case Sys.getcpu: {
        // sys_getcpu (kernel/sys.c): the CPU and its node, each where a pointer was given.
        if (a0) m.writeU32(a0, t.cpu);
        if (a1) m.writeU32(a1, MODELLED_NODE);
        return 0n;
      }
      case Sys.rseq: return sys_rseq(t, m, this.rseqExt, a0, Number(a1 & 0xffffffffn), i32(a2), Number(a3 & 0xffffffffn));
      case Sys.fstat: return this.fstat(p, i32(a0), a1);
      case Sys.newfstatat: {
        const path = m.readCString(a1);
        if (path === '' && (Number(a3) & AT_EMPTY_PATH)) return this.fstat(p, i32(a0), a2);
        return this.statPath(p, path, a2);
      }
      case Sys.stat: case Sys.lstat: return this.statPath(p, m.readCString(a0), a1);
      case Sys.lseek: {
        const f = p.files.get(i32(a0));
        if (!f) return neg(Errno.EBADF);
        if (f.kind === 'host' || f.kind === 'pipe') return neg(Errno.ESPIPE); // no_llseek
        if (f.kind !== 'file') return 0n; // KVM's descriptors use noop_llseek: the position stays 0
        const base = a2 === BigInt(Whence.SET) ? 0 : a2 === BigInt(Whence.CUR) ? f.pos : a2 === BigInt(Whence.END) ? f.data.length : -1;
        const pos = base + Number(BigInt.asIntN(64, a1));
        if (base < 0 || pos < 0) return neg(Errno.EINVAL);
        f.pos = pos;
        return BigInt(pos);
      }
      case Sys.ioctl: return this.ioctl(p, i32(a0), Number(a1 & 0xffffffffn), a2);
      case Sys.access: return this.allowed(m.readCString(a0)) || this.isDevKvm(m.readCString(a0)) ? 0n : neg(Errno.ENOENT);
      case Sys.readlink: return neg(Errno.ENOENT); // no /proc: guests reach no host file
      case Sys.brk: return this.brk(p, a0);
      case Sys.mmap: return this.mmap(p, a0, a1, i32(a2), i32(a3), i32(a4));
      case Sys.munmap: {
        if (a0 % GUEST_PAGE || a1 === 0n) return neg(Errno.EINVAL);
        m.unmap(a0, pageAlign(a1));
        return 0n;
      }
      case Sys.mprotect: {
        if (a0 % GUEST_PAGE) return neg(Errno.EINVAL);
        const len = pageAlign(a1);
        if (!m.isMapped(a0, a0 + len)) return neg(Errno.ENOMEM);
        if (len) m.protect(a0, len, Number(a2) & 7);
        return 0n;
      }
      case Sys.mremap: return this.mremap(p, a0, a1, a2, i32(a3));
      case Sys.madvise: return 0n;
      case Sys.exit: this.exitThread(t, i32(a0)); return 'stop';
      case Sys.exit_group: this.endProcess(p, { code: i32(a0) & 0xff }); return 'stop';
      case Sys.arch_prctl: return this.archPrctl(t, Number(a0), a1);
      case Sys.set_tid_address: t.clearChildTid = a0; return BigInt(t.tid);
      case Sys.set_robust_list: return 0n;
      case Sys.rt_sigaction: return this.sigaction(p, i32(a0), a1, a2);
      case Sys.rt_sigprocmask: {
        const old = t.sigmask;
        if (a1) {
          const set = m.readU64(a1);
          if (a0 === BigInt(SigHow.SIG_BLOCK)) t.sigmask |= set;
          else if (a0 === BigInt(SigHow.SIG_UNBLOCK)) t.sigmask &= ~set;
          else if (a0 === BigInt(SigHow.SIG_SETMASK)) t.sigmask = set;
          else return neg(Errno.EINVAL);
          t.sigmask &= ~UNBLOCKABLE;
        }
        if (a2) m.writeU64(a2, old);
        return 0n;
      }
      case Sys.rt_sigpending: {
        const bits = t.pending.reduce((acc, x) => acc | sigBit(x.info.signo), 0n) & t.sigmask;
        m.writeU64(a0, bits);
        return 0n;
      }
      case Sys.rt_sigreturn: return this.defer(t, () => this.sigreturn(t));
      case Sys.sigaltstack: {
        if (a1) {
          const b = new Uint8Array(STACK_T_BYTES);
          const v = new DataView(b.buffer);
          v.setBigUint64(0, t.altstack.sp, true);
          v.setInt32(8, t.altstack.flags, true);
          v.setBigUint64(16, t.altstack.size, true);
          m.write(a1, b);
        }
        if (a0) {
          const v = new DataView(m.read(a0, STACK_T_BYTES).buffer);
          const flags = v.getInt32(8, true);
          const sp = v.getBigUint64(0, true), size = v.getBigUint64(16, true);
          const ss = { sp: t.altstack.sp, size: t.altstack.size, enabled: t.altstack.flags !== SS_DISABLE };
          // do_sigaltstack (kernel/signal.c): no change while running on it; a floor of MINSIGSTKSZ;
          // with dynamic features the frame for the permitted size (sigaltstack_size_valid).
          if (on_sig_stack(ss, m.uc.regRead(X86Reg.RSP))) return neg(Errno.EPERM);
          if (flags & SS_DISABLE) t.altstack = { sp: 0n, size: 0n, flags: SS_DISABLE };
          else {
            if (size < BigInt(MINSIGSTKSZ)) return neg(Errno.ENOMEM);
            const perm = t.kfpu.permittedUserFeatures;
            if (!sigaltstack_size_valid(this.fpuCfg, this.o.cpu.standardSize(perm), (perm & XFEATURE_MASK_USER_DYNAMIC) !== 0, size)) return neg(Errno.ENOMEM);
            t.altstack = { sp, size, flags: 0 };
          }
        }
        return 0n;
      }
      case Sys.getpid: return BigInt(p.pid);
      case Sys.gettid: return BigInt(t.tid);
      case Sys.getppid: return BigInt(p.parent?.pid ?? FIRST_PID - 1);
      case Sys.getuid: case Sys.geteuid: case Sys.getgid: case Sys.getegid: return 0n;
      case Sys.getpgrp: case Sys.setsid: return BigInt(this.init!.pid);
      case Sys.clock_gettime: {
        const ns = this.readClock(Number(a0));
        if (ns < 0n) return neg(Errno.EINVAL);
        if (a1) this.writeTimespec(m, a1, ns, 1n);
        return 0n;
      }
      case Sys.clock_getres: if (a1) this.writeTimespec(m, a1, 1n, 1n); return 0n;
      case Sys.gettimeofday: if (a0) this.writeTimespec(m, a0, this.readClock(ClockId.REALTIME), 1000n); return 0n;
      case Sys.time: {
        const s = this.readClock(ClockId.REALTIME) / 1_000_000_000n;
        if (a0) m.writeU64(a0, s);
        return s;
      }
      case Sys.nanosleep: case Sys.clock_nanosleep: {
        const req = nr === Sys.nanosleep ? a0 : a2;
        const abs = nr === Sys.clock_nanosleep && (Number(a1) & TIMER_ABSTIME) !== 0;
        const ns = this.readTimespec(m, req);
        const deadline = abs ? ns : this.clockNs + ns;
        return this.block(t, { what: 'nanosleep', deadline, onTimeout: () => 0n, retry: () => (this.clockNs >= deadline ? 0n : undefined) });
      }
      case Sys.sched_yield: return this.defer(t, () => 0n);
      case Sys.getrandom: {
        m.write(a0, this.random.bytes(Number(a1)));
        return a1;
      }
      case Sys.sysinfo:
        // kernel/sys.c SYSCALL_DEFINE1(sysinfo): do_sysinfo, then copy_to_user (-EFAULT).
        m.write(a0, do_sysinfo(this.readClock(ClockId.BOOTTIME), this.tasks.filter((x) => x.state !== TaskState.Dead).length));
        return 0n;
      case Sys.uname: {
        const b = new Uint8Array(UTS_FIELD * 6);
        [UTS.sysname, UTS.nodename, this.o.kernel.release, UTS.version, UTS.machine, UTS.domainname]
          .forEach((s, k) => b.set(Buffer.from(s), k * UTS_FIELD));
        m.write(a0, b);
        return 0n;
      }
      case Sys.prlimit64: case Sys.getrlimit: {
        const [res, old] = nr === Sys.getrlimit ? [Number(a0), a1] : [Number(a1), a3];
        if (old) {
          const [cur, max] = res === RLIMIT_STACK ? [STACK_SIZE, RLIM_INFINITY] : res === RLIMIT_NOFILE ? [BigInt(NOFILE_CUR), BigInt(NOFILE_MAX)] : [RLIM_INFINITY, RLIM_INFINITY];
          m.writeU64(old, cur);
          m.writeU64(old + 8n, max);
        }
        return 0n;
      }
      case Sys.futex: return this.futex(t, a0, Number(a1), a2, a3, a4, _a5);
      case Sys.clone: return this.clone(t, a0, a1, a2, a3, a4);
      case Sys.fork: case Sys.vfork: return this.clone(t, BigInt(Sig.SIGCHLD), 0n, 0n, 0n, 0n);
      case Sys.wait4: return this.wait4(t, i32(a0), a1, a2);
      case Sys.ptrace: return this.ptraceSyscall(t, i32(a0), i32(a1), a2, a3);
      case Sys.waitid: return this.waitid(t, i32(a0), i32(a1), a2, Number(a3));
      case Sys.kill: {
        const pid = i32(a0), sig = i32(a1);
        const target = pid === 0 || pid === p.pid ? p : this.findProcess(pid);
        if (!target || !target.alive) return neg(Errno.ESRCH);
        if (sig < 0 || sig > NSIG) return neg(Errno.EINVAL);
        if (sig) this.sendToProcess(target, { signo: sig, code: SI_USER, pid: p.pid, uid: 0 });
        return 0n;
      }
      case Sys.tgkill: case Sys.tkill: {
        const [tgid, tid, sig] = nr === Sys.tkill ? [-1, i32(a0), i32(a1)] : [i32(a0), i32(a1), i32(a2)];
        const target = this.tasks.find((x) => x.tid === tid && (tgid === -1 || x.proc.pid === tgid) && x.state !== TaskState.Dead);
        if (!target) return neg(Errno.ESRCH);
        if (sig < 0 || sig > NSIG) return neg(Errno.EINVAL);
        if (sig) this.sendToThread(target, { signo: sig, code: SI_TKILL, pid: p.pid, uid: 0 });
        return 0n;
      }
      default: return this.unmodelled(nr);
    }
  }

  /**
   * A system call the model lacks: -ENOSYS, as a kernel built without it answers, and one warning
   * per number naming it (src/linux/syscall-table.ts). Rows Linux itself leaves unimplemented
   * (sys_ni_syscall) answer -ENOSYS silently, as Linux does; a number Linux never assigned, or an
   * x32 row, answers -ENOSYS with one warning saying so.
   */
  private unmodelled(nr: number): bigint {
    const name = syscallName(nr);
    if (name !== undefined && !NOT_IMPLEMENTED_IN_LINUX.has(name) && !this.warned.has(nr)) {
      this.warned.add(nr);
      this.o.stderr(`xstate-lab: warning: system call ${name} (${nr}) is not modelled; it returns -ENOSYS`);
    }
    if (name === undefined && !this.warned.has(nr)) {
      // Linux answers -ENOSYS too; the warning says the number is the guest's mistake, not a gap of the model.
      this.warned.add(nr);
      const what = nr >= X32_FIRST && nr <= X32_LAST ? 'is an x32 row, not a 64-bit system call' : 'is not assigned in Linux 6.18\'s x86-64 table';
      this.o.stderr(`xstate-lab: warning: system call number ${nr} ${what}; it returns -ENOSYS, as Linux does`);
    }
    return neg(Errno.ENOSYS);
  }

  private findProcess(pid: number): Process | undefined {
    return this.tasks.find((t) => t.proc.pid === pid)?.proc;
  }

  // ---- files

  /** A pipe read or write: done now, or the task sleeps until `retry` completes it. */
  private pipeIo(t: Task, what: string, io: PipeIo): bigint | 'stop' {
    if (typeof io === 'bigint') return io;
    return this.block(t, { what, retry: io.retry, interrupted: io.interrupted });
  }

  /** pipe_write's send_sig(SIGPIPE, current, 0): si_code SI_USER from the writer itself. */
  private sigpipe(t: Task): void {
    this.sendToThread(t, { signo: Sig.SIGPIPE, code: SI_USER, pid: t.proc.pid, uid: 0 });
  }

  /** One more descriptor refers to an open file (dup, fork). */
  private retain(f: FileRef): FileRef {
    if (f.kind === 'pipe') f.refs++;
    return f;
  }

  /** close_fd(): the descriptor goes; the last one of a pipe end releases it (pipe_release). */
  private closeFd(p: Process, fd: number): boolean {
    const f = p.files.get(fd);
    if (!f) return false;
    p.files.delete(fd);
    p.cloexec.delete(fd);
    if (f.kind === 'pipe' && --f.refs === 0) pipe_release(f);
    return true;
  }

  /**
   * dup2 and dup3 (fs/file.c ksys_dup3): dup3 rejects flags other than O_CLOEXEC and oldfd ==
   * newfd (-EINVAL); dup2 of a valid fd onto itself returns it; a newfd past RLIMIT_NOFILE is
   * -EBADF; an open newfd is closed first.
   */
  private dup3(p: Process, oldfd: number, newfd: number, flags: number | undefined): bigint {
    if (flags !== undefined && (flags & ~O_CLOEXEC)) return neg(Errno.EINVAL);
    if (flags !== undefined && oldfd === newfd) return neg(Errno.EINVAL);
    if (newfd < 0 || newfd >= NOFILE_CUR) return neg(Errno.EBADF);
    const f = p.files.get(oldfd);
    if (!f) return neg(Errno.EBADF);
    if (oldfd === newfd) return BigInt(newfd);
    this.retain(f);
    this.closeFd(p, newfd);
    p.files.set(newfd, f);
    if (flags !== undefined && (flags & O_CLOEXEC)) p.cloexec.add(newfd); else p.cloexec.delete(newfd);
    return BigInt(newfd);
  }

  /**
   * pipe and pipe2 (fs/pipe.c do_pipe2): flags beyond O_CLOEXEC, O_NONBLOCK, O_DIRECT and
   * O_NOTIFICATION_PIPE are -EINVAL; a notification pipe is -ENOPKG (named assumption: the model's
   * kernel is built without CONFIG_WATCH_QUEUE). fd[0] reads, fd[1] writes.
   */
  private pipe2(p: Process, fds: bigint, flags: number): bigint {
    if (flags & ~PIPE2_FLAGS) return neg(Errno.EINVAL);
    if (flags & O_NOTIFICATION_PIPE) return -BigInt(ENOPKG);
    const [r, w] = create_pipe_files(this.nextPipeIno++, flags);
    const cloexec = (flags & O_CLOEXEC) !== 0;
    const rfd = this.installFd(p, r, cloexec);
    const wfd = this.installFd(p, w, cloexec);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setInt32(0, rfd, true);
    new DataView(b.buffer).setInt32(4, wfd, true);
    try {
      p.machine.write(fds, b);
    } catch (e) {
      // do_pipe2: both descriptors are undone when the copy to user space fails.
      this.closeFd(p, rfd);
      this.closeFd(p, wfd);
      if (e instanceof GuestMemoryFault) return neg(Errno.EFAULT);
      throw e;
    }
    return 0n;
  }

  /**
   * fcntl (fs/fcntl.c do_fcntl): F_DUPFD/F_DUPFD_CLOEXEC (the lowest free fd at or above arg),
   * F_GETFD/F_SETFD, F_GETFL/F_SETFL for pipes (O_NONBLOCK, O_DIRECT) and the named files,
   * F_GETPIPE_SZ/F_SETPIPE_SZ (-EBADF on anything but a pipe).
   */
  private fcntl(p: Process, fd: number, cmd: number, arg: bigint, nr: number): bigint {
    const f = p.files.get(fd);
    if (!f) return neg(Errno.EBADF);
    switch (cmd as Fcntl) {
      case Fcntl.F_DUPFD: case Fcntl.F_DUPFD_CLOEXEC: {
        const from = Number(BigInt.asUintN(32, arg));
        if (from >= NOFILE_CUR) return neg(Errno.EINVAL);
        let nfd = from;
        while (p.files.has(nfd)) nfd++;
        if (nfd >= NOFILE_CUR) return neg(Errno.EMFILE);
        p.files.set(nfd, this.retain(f));
        if (cmd === Fcntl.F_DUPFD_CLOEXEC) p.cloexec.add(nfd); else p.cloexec.delete(nfd);
        return BigInt(nfd);
      }
      case Fcntl.F_GETFD: return p.cloexec.has(fd) ? BigInt(FD_CLOEXEC) : 0n;
      case Fcntl.F_SETFD: if (Number(arg) & FD_CLOEXEC) p.cloexec.add(fd); else p.cloexec.delete(fd); return 0n;
      case Fcntl.F_GETFL:
        if (f.kind === 'pipe') return BigInt((f.write ? O_WRONLY : O_RDONLY) | f.flags);
        if (f.kind === 'file') return BigInt(O_RDONLY);
        return this.unmodelled(nr);
      case Fcntl.F_SETFL:
        if (f.kind !== 'pipe') return this.unmodelled(nr);
        f.flags = (f.flags & ~PIPE_SETFL_MASK) | (Number(arg) & PIPE_SETFL_MASK);
        return 0n;
      case Fcntl.F_GETPIPE_SZ: return f.kind === 'pipe' ? pipe_get_size(f.pipe) : neg(Errno.EBADF);
      case Fcntl.F_SETPIPE_SZ: return f.kind === 'pipe' ? pipe_set_size(f.pipe, arg) : neg(Errno.EBADF);
      default: return this.unmodelled(nr);
    }
  }

  /** The task a sched_*affinity call names: 0 is the caller (find_process_by_pid). */
  private schedTarget(t: Task, pid: number): Task | undefined {
    if (pid === 0) return t;
    return this.tasks.find((x) => x.tid === pid && x.state !== TaskState.Dead);
  }

  private allowed(path: string): boolean {
    return this.o.allowedFiles.includes(resolve(path));
  }

  private isDevKvm(path: string): boolean {
    return this.o.kvmVendor !== undefined && resolve(path) === DEV_KVM;
  }

  private kvmWarned = false;
  private open(p: Process, path: string, flags: number): bigint {
    if (resolve(path) === DEV_KVM) {
      if (this.isDevKvm(path)) return BigInt(this.installFd(p, { kind: 'kvm' }, (flags & O_CLOEXEC) !== 0));
      if (!this.kvmWarned) this.o.stderr('xstate-lab: warning: the guest opened /dev/kvm, which this run has not (name a vendor module with --kvm-vendor)');
      this.kvmWarned = true;
      return neg(Errno.ENOENT);
    }
    if (!this.allowed(path)) return neg(Errno.ENOENT);
    if ((flags & O_ACCMODE) !== 0) return neg(Errno.EACCES); // read-only access to the named files
    let data: Buffer;
    try { data = readFileSync(resolve(path)); } catch { return neg(Errno.ENOENT); }
    return BigInt(this.installFd(p, { kind: 'file', path, data, pos: 0 }, (flags & O_CLOEXEC) !== 0));
  }

  /** The lowest free descriptor (fd_install after get_unused_fd_flags). */
  private installFd(p: Process, f: FileRef, cloexec: boolean): number {
    let fd = 0;
    while (p.files.has(fd)) fd++;
    p.files.set(fd, f);
    if (cloexec) p.cloexec.add(fd); else p.cloexec.delete(fd);
    return fd;
  }

  private newKvmHost(): KvmHost {
    return new KvmHost(this.o.cpu, this.o.kernel, this.o.kvmVendor);
  }

  private ioctl(p: Process, fd: number, cmd: number, arg: bigint): bigint {
    const f = p.files.get(fd);
    if (!f) return neg(Errno.EBADF);
    if (f.kind === 'pipe') {
      // pipe_ioctl: FIONREAD, the bytes in the pipe; anything else -ENOIOCTLCMD, -ENOTTY to user space.
      if (cmd !== FIONREAD) return neg(Errno.ENOTTY);
      p.machine.writeU32(arg, f.pipe.bytes);
      return 0n;
    }
    if (f.kind === 'host' || f.kind === 'file') return neg(Errno.ENOTTY);
    const m = p.machine;
    return kvmIoctl(f, cmd, arg, {
      mm: p, host: p.kvm,
      read: (a, n) => m.read(a, n), write: (a, d) => m.write(a, d),
      installFd: (nf) => this.installFd(p, nf, true), // anon_inode_getfd(..., O_RDWR | O_CLOEXEC)
      warn: (key, line) => { if (!this.kvmWarnings.has(key)) { this.kvmWarnings.add(key); this.o.stderr(line); } },
    });
  }
  private readonly kvmWarnings = new Set<string>();

  private read(p: Process, fd: number, buf: bigint, len: number): bigint {
    const f = p.files.get(fd);
    if (!f) return neg(Errno.EBADF);
    if (f.kind !== 'file' && f.kind !== 'host') return neg(Errno.EINVAL); // KVM's file_operations have no read (vfs_read)
    if (f.kind === 'file') {
      const chunk = f.data.subarray(f.pos, f.pos + len);
      p.machine.write(buf, chunk);
      f.pos += chunk.length;
      return BigInt(chunk.length);
    }
    const b = Buffer.alloc(Math.min(len, 1 << 16));
    let n: number;
    try { n = readSync(f.hostFd, b, 0, b.length, null); } catch { return 0n; }
    p.machine.write(buf, b.subarray(0, n));
    return BigInt(n);
  }

  private write(p: Process, fd: number, data: Uint8Array): bigint {
    const f = p.files.get(fd);
    if (!f) return neg(Errno.EBADF);
    if (f.kind === 'file') return neg(Errno.EBADF);
    if (f.kind !== 'host') return neg(Errno.EINVAL); // nor a write
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(f.hostFd, data, off, data.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') continue; // a non-blocking host descriptor: the guest sees a blocking write
        if (code === 'EPIPE') {
          // The reader went away: SIGPIPE and -EPIPE, as pipe_write does.
          const t = p.loaded;
          if (t) this.sendToThread(t, { signo: Sig.SIGPIPE, code: SI_USER, pid: p.pid, uid: 0 });
          return off ? BigInt(off) : neg(Errno.EPIPE);
        }
        return off ? BigInt(off) : neg(Errno.EBADF);
      }
    }
    return BigInt(data.length);
  }

  /** struct stat (arch/x86/include/uapi/asm/stat.h). */
  private writeStat(m: Machine, addr: bigint, mode: number, size: number, ino: number, blksize = BLKSIZE): void {
    const b = new Uint8Array(STAT_BYTES);
    const v = new DataView(b.buffer);
    v.setBigUint64(8, BigInt(ino), true);
    v.setBigUint64(16, 1n, true);
    v.setUint32(24, mode, true);
    v.setBigUint64(48, BigInt(size), true);
    v.setBigUint64(56, blksize, true);
    v.setBigUint64(64, BigInt(Math.ceil(size / 512)), true);
    m.write(addr, b);
  }

  private fstat(p: Process, fd: number, addr: bigint): bigint {
    const f = p.files.get(fd);
    if (!f) return neg(Errno.EBADF);
    if (f.kind === 'host') this.writeStat(p.machine, addr, S_IFCHR | STDIO_MODE, 0, fd + 1);
    else if (f.kind === 'pipe') this.writeStat(p.machine, addr, S_IFIFO | PIPE_MODE, 0, f.pipe.ino, PIPE_BLKSIZE);
    else if (f.kind === 'kvm') this.writeStat(p.machine, addr, S_IFCHR | DEV_KVM_MODE, 0, DEV_KVM_INO);
    else if (f.kind !== 'file') this.writeStat(p.machine, addr, DEV_KVM_MODE, 0, DEV_KVM_INO + 1); // an anon inode
    else this.writeStat(p.machine, addr, S_IFREG | NAMED_FILE_MODE, f.data.length, FIRST_FILE_INO + fd);
    return 0n;
  }

  private statPath(p: Process, path: string, addr: bigint): bigint {
    if (this.isDevKvm(path)) { this.writeStat(p.machine, addr, S_IFCHR | DEV_KVM_MODE, 0, DEV_KVM_INO); return 0n; }
    if (!this.allowed(path)) return neg(Errno.ENOENT);
    let size: number;
    try { size = readFileSync(resolve(path)).length; } catch { return neg(Errno.ENOENT); }
    this.writeStat(p.machine, addr, S_IFREG | NAMED_FILE_MODE, size, FIRST_FILE_INO);
    return 0n;
  }

  // ---- memory

  private brk(p: Process, want: bigint): bigint {
    const m = p.machine;
    if (want < p.brkStart) return p.brk;
    const oldTop = pageAlign(p.brk), newTop = pageAlign(want);
    if (newTop > oldTop) {
      if (m.mappings().some((r) => r.start < newTop && r.end > oldTop)) return p.brk;
      m.map(oldTop, newTop - oldTop, Prot.READ | Prot.WRITE);
    } else if (newTop < oldTop) m.unmap(newTop, oldTop - newTop);
    p.brk = want;
    return p.brk;
  }

  /** The highest free range of `len` bytes below MMAP_BASE (top-down allocation, mm/mmap.c). */
  private findFree(m: Machine, len: bigint): bigint | undefined {
    let top = MMAP_BASE;
    const regions = [...m.mappings()].sort((a, b) => (a.start > b.start ? -1 : 1));
    for (const r of regions) {
      if (r.start >= top) continue; // above the search window
      if (r.end <= top - len) return top - len;
      top = r.start < top ? r.start : top;
    }
    return top - len >= MMAP_MIN_ADDR ? top - len : undefined;
  }

  private mmap(p: Process, addr: bigint, len: bigint, prot: number, flags: number, fd: number): bigint {
    const m = p.machine;
    if (!(flags & MAP_ANONYMOUS)) return fd >= 0 && p.files.has(fd) ? neg(Errno.EACCES) : neg(Errno.EBADF);
    if (len === 0n || addr % GUEST_PAGE) return neg(Errno.EINVAL);
    const size = pageAlign(len);
    let at: bigint | undefined;
    if (flags & MAP_FIXED) at = addr;
    else if (addr && addr >= MMAP_MIN_ADDR && !m.mappings().some((r) => r.start < addr + size && r.end > addr)) at = addr;
    else if (flags & MAP_FIXED_NOREPLACE) return neg(Errno.EINVAL);
    else at = this.findFree(m, size);
    if (at === undefined) return neg(Errno.ENOMEM);
    m.map(at, size, prot & 7);
    return at;
  }

  private mremap(p: Process, old: bigint, oldLen: bigint, newLen: bigint, flags: number): bigint {
    const m = p.machine;
    if (old % GUEST_PAGE || newLen === 0n || (flags & MREMAP_FIXED)) return neg(Errno.EINVAL);
    const os = pageAlign(oldLen), ns = pageAlign(newLen);
    if (!m.isMapped(old, old + os)) return neg(Errno.EFAULT);
    const prot = m.mappings().find((r) => r.start <= old && r.end > old)!.prot;
    if (ns <= os) { if (ns < os) m.unmap(old + ns, os - ns); return old; }
    if (!m.mappings().some((r) => r.start < old + ns && r.end > old + os)) {
      m.map(old + os, ns - os, prot);
      return old;
    }
    if (!(flags & MREMAP_MAYMOVE)) return neg(Errno.ENOMEM);
    const at = this.findFree(m, ns);
    if (at === undefined) return neg(Errno.ENOMEM);
    const bytes = m.uc.memRead(old, Number(os));
    m.map(at, ns, prot, bytes);
    m.unmap(old, os);
    return at;
  }

  // ---- TLS, signals, time

  private archPrctl(t: Task, code: number, arg: bigint): bigint {
    const m = t.proc.machine;
    switch (code as ArchPrctl) {
      case ArchPrctl.SET_FS: m.uc.regWrite(X86Reg.FS_BASE, arg); return 0n;
      case ArchPrctl.SET_GS: m.uc.regWrite(X86Reg.GS_BASE, arg); return 0n;
      case ArchPrctl.GET_FS: m.writeU64(arg, m.uc.regRead(X86Reg.FS_BASE)); return 0n;
      case ArchPrctl.GET_GS: m.writeU64(arg, m.uc.regRead(X86Reg.GS_BASE)); return 0n;
      case ArchPrctl.GET_XCOMP_SUPP: case ArchPrctl.GET_XCOMP_PERM: case ArchPrctl.REQ_XCOMP_PERM:
      case ArchPrctl.GET_XCOMP_GUEST_PERM: case ArchPrctl.REQ_XCOMP_GUEST_PERM:
        return this.fpuXstatePrctl(t, code as ArchPrctl, arg);
      default: return neg(Errno.EINVAL);
    }
  }

  /**
   * fpu_xstate_prctl() (fpu/xstate.c, 5.16+ with dynamic-xfeatures; the options do not exist
   * before, so -EINVAL): the supported and permitted feature masks, and xstate_request_perm()
   * with the rules of linux-fpu-uabi.md §6.2.
   */
  private fpuXstatePrctl(t: Task, code: ArchPrctl, arg: bigint): bigint {
    if (code === ARCH_SET_XCR0 && this.o.kernel.has(KernelBehaviour.ArchSetXcr0V2)) {
      // The proposal's option number (kernel-model/arch-set-xcr0.ts): the thread's user code runs with the new XCR0.
      const e = arch_set_xcr0(this.o.cpu, t.kfpu, Number(arg & 0xffffffffn));
      if (e) return neg(e);
      t.fpu.xcr0 = userXcr0(t.kfpu);
      return 0n;
    }
    if (!this.o.kernel.has(KernelBehaviour.DynamicXfeatures)) return neg(Errno.EINVAL);
    const cfg = this.fpuCfg;
    const m = t.proc.machine;
    const userSupported = userSupportedMask(this.o.kernel);
    switch (code) {
      case ArchPrctl.GET_XCOMP_SUPP: m.writeU64(arg, BigInt((cfg.user.maxFeatures | cfg.user.legacyFeatures) >>> 0)); return 0n;
      case ArchPrctl.GET_XCOMP_PERM: m.writeU64(arg, BigInt((t.kfpu.permittedUserFeatures & userSupported) >>> 0)); return 0n;
      case ArchPrctl.GET_XCOMP_GUEST_PERM: m.writeU64(arg, BigInt((t.proc.kvm.guestPerm & userSupported) >>> 0)); return 0n;
      default: break;
    }
    const guest = code === ArchPrctl.REQ_XCOMP_GUEST_PERM;
    if (arg >= BigInt(xfeatureMax(this.o.kernel))) return neg(Errno.EINVAL);
    // xstate_prctl_req[]: only XTILE_DATA can be requested.
    const req = Number(arg) === XFeature.TILEDATA ? XFEATURE_MASK_USER_DYNAMIC : 0;
    if (!req || (req & ~cfg.user.maxFeatures) !== 0) return neg(Errno.EOPNOTSUPP);
    const perm = guest ? t.proc.kvm.guestPerm : t.kfpu.permittedUserFeatures;
    if ((perm & req) === req) return 0n;
    // FPU_GUEST_PERM_LOCKED: the first vCPU's guest fpstate fixed the permission.
    if (guest && t.proc.kvm.guestPermLocked) return neg(Errno.EBUSY);
    const next = (perm | req) >>> 0;
    if (guest) { t.proc.kvm.guestPerm = next; return 0n; }
    const live = t.proc.threads.filter((x) => x.state !== TaskState.Dead);
    if (!validate_sigaltstack(cfg, this.o.cpu.standardSize(next), live.map((x) => (x.altstack.flags === SS_DISABLE ? 0n : x.altstack.size)))) return neg(Errno.ENOSPC);
    // The permission is the process's (group leader's): every thread sees it.
    for (const x of live) grantPermission(x.kfpu, req);
    return 0n;
  }

  private sigaction(p: Process, sig: number, act: bigint, oact: bigint): bigint {
    if (sig < 1 || sig > NSIG || ((sig === Sig.SIGKILL || sig === Sig.SIGSTOP) && act)) return neg(Errno.EINVAL);
    const m = p.machine;
    const cur = p.sigactions[sig]!;
    if (oact) {
      const b = new Uint8Array(KERNEL_SIGACTION_BYTES);
      const v = new DataView(b.buffer);
      v.setBigUint64(0, cur.handler, true);
      v.setBigUint64(8, cur.flags, true);
      v.setBigUint64(16, cur.restorer, true);
      v.setBigUint64(24, cur.mask, true);
      m.write(oact, b);
    }
    if (act) {
      // struct kernel_sigaction: handler, flags, restorer, mask (arch/x86/include/uapi/asm/signal.h).
      const v = new DataView(m.read(act, KERNEL_SIGACTION_BYTES).buffer);
      p.sigactions[sig] = { handler: v.getBigUint64(0, true), flags: v.getBigUint64(8, true), restorer: v.getBigUint64(16, true), mask: v.getBigUint64(24, true) & ~UNBLOCKABLE };
    }
    return 0n;
  }

  private readClock(id: number): bigint {
    this.clockNs += NS_PER_CLOCK_READ;
    switch (id as ClockId) {
      case ClockId.REALTIME: case ClockId.REALTIME_COARSE: return this.clockNs;
      case ClockId.MONOTONIC: case ClockId.MONOTONIC_RAW: case ClockId.MONOTONIC_COARSE: case ClockId.BOOTTIME: return this.clockNs - CLOCK_EPOCH_NS;
      case ClockId.PROCESS_CPUTIME_ID: case ClockId.THREAD_CPUTIME_ID: return this.insns * NS_PER_INSN;
      default: return -1n;
    }
  }

  private writeTimespec(m: Machine, addr: bigint, ns: bigint, unit: bigint): void {
    m.writeU64(addr, ns / 1_000_000_000n);
    m.writeU64(addr + 8n, (ns % 1_000_000_000n) / unit);
  }

  private readTimespec(m: Machine, addr: bigint): bigint {
    return m.readU64(addr) * 1_000_000_000n + m.readU64(addr + 8n);
  }

  // ---- futex

  private futex(t: Task, uaddr: bigint, op: number, val: bigint, timeout: bigint, uaddr2: bigint, val3: bigint): bigint | 'stop' {
    const m = t.proc.machine;
    const cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    switch (cmd as FutexOp) {
      case FutexOp.WAIT: case FutexOp.WAIT_BITSET: {
        if (m.readU32(uaddr) !== Number(val & 0xffffffffn)) return neg(Errno.EAGAIN);
        let deadline: bigint | undefined;
        if (timeout) {
          const ns = this.readTimespec(m, timeout);
          deadline = cmd === FutexOp.WAIT ? this.clockNs + ns : ns + ((op & FUTEX_CLOCK_REALTIME) ? 0n : CLOCK_EPOCH_NS);
        }
        this.futexWaiters.push(t);
        return this.block(t, { what: 'futex wait', futex: { machine: m, addr: uaddr }, deadline, onTimeout: () => neg(Errno.ETIMEDOUT) });
      }
      case FutexOp.WAKE: case FutexOp.WAKE_BITSET: return BigInt(this.futexWake(m, uaddr, Number(val)));
      case FutexOp.REQUEUE: case FutexOp.CMP_REQUEUE: {
        if (cmd === FutexOp.CMP_REQUEUE && m.readU32(uaddr) !== Number(val3 & 0xffffffffn)) return neg(Errno.EAGAIN);
        const woken = this.futexWake(m, uaddr, Number(val));
        let moved = 0;
        for (const w of this.futexWaiters) {
          if (moved >= Number(timeout & 0x7fffffffn)) break;
          if (w.wait?.futex?.machine === m && w.wait.futex.addr === uaddr) { w.wait.futex.addr = uaddr2; moved++; }
        }
        return BigInt(woken + moved);
      }
      default: return neg(Errno.ENOSYS);
    }
  }

  private futexWake(m: Machine, addr: bigint, n: number): number {
    let woken = 0;
    for (const w of [...this.futexWaiters]) {
      if (woken >= n) break;
      if (w.wait?.futex?.machine === m && w.wait.futex.addr === addr) { this.wake(w, 0n); woken++; }
    }
    return woken;
  }

  // ---- clone, fork, wait

  private clone(t: Task, flags: bigint, newsp: bigint, ptid: bigint, ctid: bigint, tls: bigint): bigint | 'stop' {
    const p = t.proc;
    if ((flags & CLONE_THREAD) && !(flags & CLONE_VM)) return neg(Errno.EINVAL);
    if ((flags & CLONE_VM) && !(flags & CLONE_THREAD)) return neg(Errno.EINVAL); // vfork-style sharing is not modelled
    return this.defer(t, () => {
      const m = p.machine;
      const tid = this.nextPid++;
      if (flags & CLONE_THREAD) {
        // A thread: same engine, a copy of the parent's registers (copy_thread), its own extended state copy.
        m.syncIn(true);
        const child = new Task(tid, p, cloneXsaveContext(t.fpu), t.kfpu.clone());
        fpuCloneChild(child);
        child.ctx = m.uc.contextSave();
        child.pendingRegs.set(X86Reg.RAX, 0n);
        if (newsp) child.pendingRegs.set(X86Reg.RSP, newsp);
        if (flags & CLONE_SETTLS) child.pendingRegs.set(X86Reg.FS_BASE, tls);
        child.sigmask = t.sigmask;
        // copy_process: the parent's CPU and affinity; rseq_fork: a CLONE_VM child registers its own area.
        child.cpu = t.cpu;
        child.cpusMask = t.cpusMask;
        const used = new Set(p.threads.filter((x) => x.state !== TaskState.Dead).map((x) => x.mmCid));
        while (used.has(child.mmCid)) child.mmCid++;
        if (flags & CLONE_CHILD_CLEARTID) child.clearChildTid = ctid;
        if (flags & CLONE_PARENT_SETTID) m.writeU32(ptid, tid);
        if (flags & CLONE_CHILD_SETTID) m.writeU32(ctid, tid);
        p.threads.push(child);
        this.tasks.push(child);
        return BigInt(tid);
      }
      // A process: a copy of the address space on a new engine (dup_mm), the CPU state and the extended state.
      m.syncIn(true);
      const fpu = cloneXsaveContext(t.fpu);
      const cp = new Process(tid, undefined as unknown as Machine, p);
      cp.machine = m.cloneAddressSpace(fpu, { onSyscall: () => this.onSyscall(cp), systemSources: this.systemSources });
      const child = new Task(tid, cp, fpu, t.kfpu.clone());
      fpuCloneChild(child);
      // fpu_inherit_perms: the child starts with the parent's guest permission, locked bit included.
      cp.kvm = this.newKvmHost();
      cp.kvm.guestPerm = p.kvm.guestPerm;
      cp.kvm.guestPermLocked = p.kvm.guestPermLocked;
      cp.auxv = p.auxv;
      cp.argv = p.argv;
      cp.exe = p.exe;
      cp.exePath = p.exePath;
      cp.fileMaps = p.fileMaps;
      cp.machine.writeCpuState(m.readCpuState());
      cp.machine.uc.regWrite(X86Reg.RAX, 0n);
      if (newsp) cp.machine.uc.regWrite(X86Reg.RSP, newsp);
      if (flags & CLONE_SETTLS) cp.machine.uc.regWrite(X86Reg.FS_BASE, tls);
      cp.sigactions = p.sigactions.map((a) => ({ ...a }));
      cp.files = new Map([...p.files].map(([fd, f]) => [fd, f.kind === 'file' ? { ...f } : f]));
      for (const f of cp.files.values()) if (f.kind === 'pipe') f.refs++; // dup_fd: the child shares each open file
      child.cpu = t.cpu;
      child.cpusMask = t.cpusMask;
      // rseq_fork: without CLONE_VM the child keeps the registration (its copy of the area is at the same address).
      if (t.rseq) { child.rseq = { ...t.rseq }; child.rseqEvent = t.rseqEvent; child.rseqNotify = true; }
      cp.cloexec = new Set(p.cloexec);
      cp.brkStart = p.brkStart;
      cp.brk = p.brk;
      cp.exitSignal = Number(flags & CSIGNAL);
      child.sigmask = t.sigmask;
      child.altstack = { ...t.altstack };
      if (flags & CLONE_CHILD_CLEARTID) child.clearChildTid = ctid;
      if (flags & CLONE_CHILD_SETTID) cp.machine.writeU32(ctid, tid);
      if (flags & CLONE_PARENT_SETTID) m.writeU32(ptid, tid);
      cp.threads.push(child);
      cp.loaded = child;
      p.children.push(cp);
      this.tasks.push(child);
      return BigInt(tid);
    });
  }

  private wait4(t: Task, pid: number, status: bigint, options: bigint): bigint | 'stop' {
    const p = t.proc;
    const matches = (c: Process): boolean => !c.reaped && (pid === -1 || pid === 0 || c.pid === pid);
    const traced = (x: Task): boolean => x.ptrace?.tracer === p && x.state !== TaskState.Dead && (pid === -1 || pid === 0 || x.tid === pid);
    if (!p.children.some(matches) && !this.tasks.some(traced)) return neg(Errno.ECHILD);
    const attempt = (): bigint | undefined => {
      // wait_task_stopped() for tracees: an unreported ptrace stop, W_STOPCODE (with the event for PTRACE_EVENT_STOP).
      const st = this.tasks.find((x) => traced(x) && x.state === TaskState.Traced && !x.ptraceStop!.reported);
      if (st) {
        st.ptraceStop!.reported = true;
        if (status) p.machine.writeU32(status, stopStatus(st.ptraceStop!.sig, st.ptraceStop!.event));
        return BigInt(st.tid);
      }
      const c = p.children.find((x) => matches(x) && !x.alive);
      if (!c) return undefined;
      c.reaped = true;
      // wait status: exit code in bits 15:8, or the signal in bits 6:0 (include/uapi/linux/wait.h W* macros).
      const e = c.exit!;
      if (status) p.machine.writeU32(status, 'code' in e ? (e.code & 0xff) << 8 : e.signal & 0x7f);
      c.machine.close();
      return BigInt(c.pid);
    };
    const now = attempt();
    if (now !== undefined) return now;
    if (options & WNOHANG) return 0n;
    return this.block(t, { what: 'wait4', retry: attempt });
  }

  /**
   * waitid (kernel/exit.c): P_ALL or P_PID, WEXITED only; the child's status goes to a siginfo
   * (si_signo SIGCHLD, si_code CLD_EXITED / CLD_KILLED, si_pid, si_status).
   */
  private waitid(t: Task, idtype: number, id: number, infop: bigint, options: number): bigint | 'stop' {
    if (idtype !== P_ALL && idtype !== P_PID) return neg(Errno.EINVAL);
    if (!(options & WEXITED)) return neg(Errno.EINVAL);
    const p = t.proc;
    const pid = idtype === P_ALL ? -1 : id;
    const matches = (c: Process): boolean => !c.reaped && (pid === -1 || c.pid === pid);
    const traced = (x: Task): boolean => x.ptrace?.tracer === p && x.state !== TaskState.Dead && (pid === -1 || x.tid === pid);
    if (!p.children.some(matches) && !this.tasks.some(traced)) return neg(Errno.ECHILD);
    const attempt = (): bigint | undefined => {
      // Ptrace stops are reported without WSTOPPED (wait_task_stopped's ptrace case): CLD_TRAPPED, si_status the signal.
      const st = this.tasks.find((x) => traced(x) && x.state === TaskState.Traced && !x.ptraceStop!.reported);
      if (st) {
        if (!(options & WNOWAIT)) st.ptraceStop!.reported = true;
        const ev = st.ptraceStop!;
        if (infop) p.machine.write(infop, encodeSigInfo({ signo: Sig.SIGCHLD, code: CLD_TRAPPED, pid: st.tid, uid: 0, status: ev.sig | (ev.event << 8) }));
        return 0n;
      }
      const c = p.children.find((x) => matches(x) && !x.alive);
      if (!c) return undefined;
      const e = c.exit!;
      if (infop) {
        const exited = 'code' in e;
        p.machine.write(infop, encodeSigInfo({ signo: Sig.SIGCHLD, code: exited ? CLD_EXITED : CLD_KILLED, pid: c.pid, uid: 0, status: exited ? e.code : e.signal }));
      }
      if (!(options & WNOWAIT)) { c.reaped = true; c.machine.close(); }
      return 0n;
    };
    const now = attempt();
    if (now !== undefined) return now;
    if (options & Number(WNOHANG)) {
      if (infop) p.machine.write(infop, new Uint8Array(SIGINFO_BYTES));
      return 0n;
    }
    return this.block(t, { what: 'waitid', retry: attempt });
  }

  /** Close every engine (after run). */
  dispose(): void {
    const seen = new Set<Machine>();
    for (const t of this.tasks) {
      const m = t.proc.machine;
      if (seen.has(m) || m.uc.closed) continue;
      seen.add(m);
      m.close();
    }
  }
}

