/*
 * xstate-lab native probe for the kernel model: what PTRACE_GETREGSET(NT_X86_XSTATE) returns for
 * a tracee stopped right after it restored a given XSAVE image.
 * Greeting: u32 magic, u32 area (standard size for XCR0), u32 regset size (from a first GETREGSET).
 * Record in: u8 image[area]. Record out: i32 errno (0 = ok), u32 stop signal, u8 regset[size].
 * The tracee's XRSTOR64 and its kill(getpid(), SIGSTOP) are one asm block, so no libc vector
 * code runs between them.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <elf.h>
#include <sched.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

static uint8_t image[16384] __attribute__((aligned(64)));
static uint8_t regset[16384];

#include "probe-io.h"

/* Fork a tracee that restores `image` and stops; returns the GETREGSET result. */
static int run_case(size_t *len, int *stopsig) {
  pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    __asm__ volatile(
        "mov $-1, %%eax\n\tmov $-1, %%edx\n\txrstor64 (%0)\n\t"
        "mov $39, %%eax\n\tsyscall\n\t"            /* getpid */
        "mov %%rax, %%rdi\n\tmov $19, %%esi\n\t"   /* SIGSTOP */
        "mov $62, %%eax\n\tsyscall\n\t"            /* kill */
        : : "r"(image) : "rax", "rcx", "rdx", "rdi", "rsi", "r11", "memory");
    _exit(0);
  }
  int st, err = 0;
  if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) { err = ECHILD; goto out; }
  *stopsig = WSTOPSIG(st);
  struct iovec iov = { regset, sizeof regset };
  memset(regset, 0xcc, sizeof regset);
  if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov) != 0) err = errno;
  *len = iov.iov_len;
out:
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  return err;
}

int main(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d)) return 2;
  /* Tracer and tracee on one CPU: with them on different CPUs this host's kernel reported extra
     XINUSE bits 1/2 in ~15% of cases (an open question, see README); pinned, the stop and the
     kernel's save happen on the CPU that ran the XRSTOR. */
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);
  request_amx_permission(); /* inherited by every forked tracee (fpu_clone copies the permission) */
  uint32_t area = b; /* standard size for the XCR0 in force */
  memset(image, 0, sizeof image);
  *(uint16_t *)image = 0x37f;
  *(uint32_t *)(image + 24) = 0x1f80;
  size_t size = 0;
  int sig0 = 0;
  int e = run_case(&size, &sig0);
  if (e) { fprintf(stderr, "PTRACE_GETREGSET(NT_X86_XSTATE) failed: %s\n", strerror(e)); return 2; }
  struct { uint32_t magic, area, size; } hello = { 0x52474552u, area, (uint32_t)size };
  write_full(&hello, sizeof hello);
  while (read_full(image, area)) {
    size_t len = 0;
    int sig = 0;
    int err = run_case(&len, &sig);
    struct { int32_t err; uint32_t sig; } r = { err, (uint32_t)sig };
    write_full(&r, sizeof r);
    write_full(regset, size);
  }
  return 0;
}
