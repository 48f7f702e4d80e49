/**
 * arm64 system call numbers the process model implements: include/uapi/asm-generic/unistd.h
 * (the table arm64 uses; checked against Debian's linux-libc-dev-arm64-cross 6.1 headers,
 * /usr/aarch64-linux-gnu/include/asm-generic/unistd.h). Every other number is answered -ENOSYS
 * and reported as "not modelled" (never silently).
 */
export enum Nr {
  ioctl = 29,
  openat = 56,
  close = 57,
  lseek = 62,
  read = 63,
  write = 64,
  writev = 66,
  readlinkat = 78,
  newfstatat = 79,
  fstat = 80,
  exit = 93,
  exit_group = 94,
  set_tid_address = 96,
  futex = 98,
  set_robust_list = 99,
  nanosleep = 101,
  clock_gettime = 113,
  ptrace = 117,
  sched_yield = 124,
  kill = 129,
  tkill = 130,
  tgkill = 131,
  sigaltstack = 132,
  rt_sigaction = 134,
  rt_sigprocmask = 135,
  uname = 160,
  getpid = 172,
  getppid = 173,
  getuid = 174,
  geteuid = 175,
  getgid = 176,
  getegid = 177,
  gettid = 178,
  brk = 214,
  munmap = 215,
  clone = 220,
  execve = 221,
  mmap = 222,
  mprotect = 226,
  madvise = 233,
  wait4 = 260,
  prlimit64 = 261,
  getrandom = 278,
  rseq = 293,
  clone3 = 435,
}

import { genericSyscallName } from './syscall-names.js';

export const syscallName = (n: number): string => Nr[n] ?? genericSyscallName(n) ?? `syscall ${n}`;
