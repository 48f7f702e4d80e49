/** Linux x86-64 user ABI numbers the process model uses; each cites its header. */

/** System call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
export enum Sys {
  read = 0, write = 1, open = 2, close = 3, stat = 4, fstat = 5, lstat = 6, poll = 7, lseek = 8, mmap = 9,
  mprotect = 10, munmap = 11, brk = 12, rt_sigaction = 13, rt_sigprocmask = 14, rt_sigreturn = 15, ioctl = 16,
  pread64 = 17, readv = 19, writev = 20, access = 21, pipe = 22, sched_yield = 24, mremap = 25, madvise = 28,
  dup = 32, dup2 = 33, pause = 34, nanosleep = 35, getitimer = 36, alarm = 37, setitimer = 38, getpid = 39, clone = 56, fork = 57, vfork = 58, execve = 59, exit = 60,
  wait4 = 61, kill = 62, uname = 63, ptrace = 101, fcntl = 72, getcwd = 79, readlink = 89, gettimeofday = 96, getrlimit = 97, getrusage = 98, sysinfo = 99, times = 100,
  rt_sigpending = 127, rt_sigtimedwait = 128, rt_sigsuspend = 130, restart_syscall = 219, getuid = 102, getgid = 104, geteuid = 107, getegid = 108, getppid = 110, getpgrp = 111, setsid = 112,
  sigaltstack = 131, arch_prctl = 158, gettid = 186, tkill = 200, time = 201, futex = 202, sched_getaffinity = 204,
  set_tid_address = 218, clock_gettime = 228, clock_getres = 229, clock_nanosleep = 230, exit_group = 231,
  sched_setaffinity = 203, tgkill = 234, waitid = 247, openat = 257, newfstatat = 262, set_robust_list = 273, dup3 = 292, pipe2 = 293, prlimit64 = 302, getcpu = 309,
  getrandom = 318, statx = 332, rseq = 334, clone3 = 435,
  getdents64 = 217, readlinkat = 267, faccessat = 269, faccessat2 = 439, modify_ldt = 154,
  setrlimit = 160, pkey_mprotect = 329, pkey_alloc = 330, pkey_free = 331,
  rt_sigqueueinfo = 129, timer_create = 222, timer_settime = 223, timer_gettime = 224, timer_getoverrun = 225, timer_delete = 226,
  signalfd = 282, signalfd4 = 289, rt_tgsigqueueinfo = 297, prctl = 157, seccomp = 317,
  select = 23, pselect6 = 270, ppoll = 271,
  epoll_create = 213, epoll_wait = 232, epoll_ctl = 233, epoll_pwait = 281, epoll_create1 = 291, epoll_pwait2 = 441,
  socket = 41, connect = 42, sendto = 44, recvfrom = 45, sendmsg = 46, recvmsg = 47, shutdown = 48, socketpair = 53,
  umask = 95, pwrite64 = 18, getresuid = 118, getresgid = 120, sched_getscheduler = 145,
  eventfd = 284, eventfd2 = 290, timerfd_create = 283, timerfd_settime = 286, timerfd_gettime = 287,
}

/** errno values (include/uapi/asm-generic/errno-base.h, errno.h). */
export enum Errno {
  EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13,
  EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, EMFILE = 24, ENOTTY = 25, ENOSPC = 28, ESPIPE = 29, EPIPE = 32, ERANGE = 34, ENOSYS = 38, ELOOP = 40, EOVERFLOW = 75, ENOTSOCK = 88, EMSGSIZE = 90, EPROTONOSUPPORT = 93, ESOCKTNOSUPPORT = 94, EISCONN = 106, ENOTCONN = 107, ECONNREFUSED = 111, ECONNRESET = 104, EOPNOTSUPP = 95, ETIMEDOUT = 110,
}

/** Signal numbers (arch/x86/include/uapi/asm/signal.h). */
export enum Sig {
  SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8, SIGKILL = 9,
  SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14, SIGTERM = 15, SIGSTKFLT = 16, SIGCHLD = 17,
  SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22, SIGURG = 23, SIGXCPU = 24, SIGXFSZ = 25,
  SIGVTALRM = 26, SIGPROF = 27, SIGWINCH = 28, SIGIO = 29, SIGPWR = 30, SIGSYS = 31,
}
/** _NSIG (arch/x86/include/uapi/asm/signal.h: 64 signals, real-time ones included). */
export const NSIG = 64;

/** Signals whose default action is to ignore (kernel/signal.c sig_kernel_ignore). */
export const DEFAULT_IGNORED: ReadonlySet<number> = new Set([Sig.SIGCHLD, Sig.SIGURG, Sig.SIGWINCH, Sig.SIGCONT]);

/** Signals whose default action dumps core (include/linux/signal.h SIG_KERNEL_COREDUMP_MASK). */
export const CORE_DUMP_SIGNALS: ReadonlySet<number> = new Set([Sig.SIGQUIT, Sig.SIGILL, Sig.SIGTRAP, Sig.SIGABRT, Sig.SIGBUS, Sig.SIGFPE, Sig.SIGSEGV, Sig.SIGSYS, Sig.SIGXCPU, Sig.SIGXFSZ]);

/** sigaction flags (arch/x86/include/uapi/asm/signal.h, include/uapi/asm-generic/signal-defs.h). */
export const SA_NOCLDSTOP = 0x1n;
export const SA_SIGINFO = 0x4n;
export const SA_ONSTACK = 0x08000000n;
export const SA_RESTART = 0x10000000n;
export const SA_NODEFER = 0x40000000n;
export const SA_RESETHAND = 0x80000000n;
export const SA_RESTORER = 0x04000000n;
/** Handler values SIG_DFL and SIG_IGN (include/uapi/asm-generic/signal-defs.h). */
export const SIG_DFL = 0n;
export const SIG_IGN = 1n;
/** rt_sigprocmask `how` (include/uapi/asm-generic/signal-defs.h). */
export enum SigHow { SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2 }
/** sigaltstack ss_flags (include/uapi/linux/signal.h). */
export const SS_ONSTACK = 1;
export const SS_DISABLE = 2;
/** si_code for kill/tgkill (include/uapi/asm-generic/siginfo.h SI_USER, SI_TKILL) and SIGCHLD (CLD_EXITED, CLD_KILLED). */
export const SI_USER = 0;
export const SI_TKILL = -6;
export const CLD_EXITED = 1;
export const CLD_KILLED = 2;

/** clone flags (include/uapi/linux/sched.h). */
export const CLONE_VM = 0x100n;
export const CLONE_FS = 0x200n;
export const CLONE_FILES = 0x400n;
export const CLONE_SIGHAND = 0x800n;
export const CLONE_VFORK = 0x4000n;
export const CLONE_THREAD = 0x10000n;
export const CLONE_SETTLS = 0x80000n;
export const CLONE_PARENT_SETTID = 0x100000n;
export const CLONE_CHILD_CLEARTID = 0x200000n;
export const CLONE_CHILD_SETTID = 0x1000000n;
/** The low byte of clone flags: the signal sent to the parent when the child exits (CSIGNAL). */
export const CSIGNAL = 0xffn;

/** futex operations (include/uapi/linux/futex.h). */
export enum FutexOp { WAIT = 0, WAKE = 1, REQUEUE = 3, CMP_REQUEUE = 4, WAKE_OP = 5, WAIT_BITSET = 9, WAKE_BITSET = 10 }
export const FUTEX_PRIVATE_FLAG = 128;
export const FUTEX_CLOCK_REALTIME = 256;

/** mmap (include/uapi/asm-generic/mman-common.h, mman.h). */
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_FIXED_NOREPLACE = 0x100000;
export const MAP_NORESERVE = 0x4000;
/** The mapping type bits (MAP_TYPE) and MAP_SHARED_VALIDATE (include/uapi/linux/mman.h). */
export const MAP_TYPE = 0x0f;
export const MAP_SHARED_VALIDATE = 0x03;
/** PROT_SEM (accepted and ignored on x86), PROT_GROWSDOWN / PROT_GROWSUP (mprotect's extension flags). */
export const PROT_SEM = 0x8;
export const PROT_GROWSDOWN = 0x01000000;
export const PROT_GROWSUP = 0x02000000;
/** mremap flags (include/uapi/linux/mman.h). */
export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

/** arch_prctl codes (arch/x86/include/uapi/asm/prctl.h). */
export enum ArchPrctl {
  SET_GS = 0x1001, SET_FS = 0x1002, GET_FS = 0x1003, GET_GS = 0x1004,
  GET_CPUID = 0x1011, SET_CPUID = 0x1012,
  GET_XCOMP_SUPP = 0x1021, GET_XCOMP_PERM = 0x1022, REQ_XCOMP_PERM = 0x1023, GET_XCOMP_GUEST_PERM = 0x1024, REQ_XCOMP_GUEST_PERM = 0x1025,
}

/** ioctl TIOCGWINSZ (include/uapi/asm-generic/ioctls.h). */
export const TIOCGWINSZ = 0x5413n;
/** wait4 options (include/uapi/linux/wait.h). */
export const WNOHANG = 1n;
/** waitid options and id types (include/uapi/linux/wait.h). */
export const WEXITED = 4;
export const WNOWAIT = 0x01000000;
export const P_ALL = 0;
export const P_PID = 1;
/** clock ids (include/uapi/linux/time.h). */
export enum ClockId { REALTIME = 0, MONOTONIC = 1, PROCESS_CPUTIME_ID = 2, THREAD_CPUTIME_ID = 3, MONOTONIC_RAW = 4, REALTIME_COARSE = 5, MONOTONIC_COARSE = 6, BOOTTIME = 7 }
/** lseek whence (include/uapi/linux/fs.h). */
export enum Whence { SET = 0, CUR = 1, END = 2 }
/** open flags (include/uapi/asm-generic/fcntl.h): the access mode bits. */
export const O_ACCMODE = 3;
/** O_CLOEXEC (include/uapi/asm-generic/fcntl.h). */
export const O_CLOEXEC = 0o2000000;
/** fcntl commands and FD_CLOEXEC (include/uapi/asm-generic/fcntl.h). */
export enum Fcntl {
  F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4,
  /** F_LINUX_SPECIFIC_BASE (1024) + 6, + 7, + 8 (include/uapi/linux/fcntl.h). */
  F_DUPFD_CLOEXEC = 1030, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032,
}
/** O_NONBLOCK, O_DIRECT (pipe2: packet mode) and O_EXCL, which pipe2 reads as O_NOTIFICATION_PIPE (include/uapi/asm-generic/fcntl.h, include/uapi/linux/watch_queue.h). */
export const O_NONBLOCK = 0o4000;
export const O_DIRECT = 0o40000;
export const O_NOTIFICATION_PIPE = 0o200;
/** ioctl FIONREAD (include/uapi/asm-generic/ioctls.h): bytes ready to read. */
export const FIONREAD = 0x541b;
export const FD_CLOEXEC = 1;
/** AT_FDCWD (include/uapi/linux/fcntl.h) and AT_EMPTY_PATH. */
export const AT_FDCWD = -100;
export const AT_EMPTY_PATH = 0x1000;
/** st_mode file types (include/uapi/linux/stat.h). */
export const S_IFCHR = 0o020000;
export const S_IFREG = 0o100000;
export const S_IFIFO = 0o010000;
export const S_IFSOCK = 0o140000;
export const S_IFDIR = 0o040000;

/** Poll bits (include/uapi/asm-generic/poll.h; EPOLL* of include/uapi/linux/eventpoll.h have the same values). */
export enum Poll { IN = 0x1, PRI = 0x2, OUT = 0x4, ERR = 0x8, HUP = 0x10, NVAL = 0x20, RDNORM = 0x40, RDBAND = 0x80, WRNORM = 0x100, WRBAND = 0x200, MSG = 0x400, RDHUP = 0x2000 }
