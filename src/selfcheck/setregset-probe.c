/*
 * xstate-lab native probe for `selfcheck kernel`: what PTRACE_SETREGSET (NT_X86_XSTATE or
 * NT_PRFPREG) does to a stopped tracee, as the tracee itself then sees it.
 *
 * Greeting: u32 magic, u32 area (standard size for XCR0), u32 regset size.
 * Record in:  u32 note, u32 iov_len, u8 image[area] (what the tracee XRSTOR64s, RFBM all ones),
 *             u8 buf[regset size] (what the tracer passes to SETREGSET, iov_len bytes of it).
 * Record out: i32 errno of SETREGSET (0 = ok), u32 first stop signal, u32 second stop signal,
 *             u32 pad, u64 XINUSE (XGETBV(1)) after resuming, u8 after[area] (the tracee's
 *             XSAVE64 with RFBM all ones right after resuming), u8 regset[size] (GETREGSET at
 *             the second stop).
 * The tracee's XRSTOR64, its SIGSTOP, and after the tracer's SETREGSET and PTRACE_CONT its
 * XGETBV(1), XSAVE64 and second SIGSTOP are one asm block: no libc vector code runs between.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <sched.h>
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

#define MAX_AREA 16384
static uint8_t image[MAX_AREA] __attribute__((aligned(64)));
static uint8_t after[MAX_AREA] __attribute__((aligned(64)));
static uint8_t setbuf_[MAX_AREA + 64];
static uint8_t regset[MAX_AREA];
static uint64_t xinuse;

#include "probe-io.h"

struct result { int32_t err; uint32_t sig1, sig2, pad; uint64_t xinuse; };

static void run_case(uint32_t note, uint32_t iov_len, uint32_t area, uint32_t size, struct result *r) {
  memset(r, 0, sizeof *r);
  memset(after, 0, area);
  memset(regset, 0xcc, size);
  pid_t pid = fork();
  if (pid < 0) { r->err = -errno; return; }
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    uint32_t lo, hi;
    __asm__ volatile(
        "mov $-1, %%eax\n\tmov $-1, %%edx\n\txrstor64 (%2)\n\t"
        "mov $39, %%eax\n\tsyscall\n\t"            /* getpid */
        "mov %%rax, %%rdi\n\tmov $19, %%esi\n\t"   /* SIGSTOP */
        "mov $62, %%eax\n\tsyscall\n\t"            /* kill: the tracer runs SETREGSET now */
        "mov $1, %%ecx\n\txgetbv\n\t"
        "mov %%eax, %%r8d\n\tmov %%edx, %%r9d\n\t"
        "mov $-1, %%eax\n\tmov $-1, %%edx\n\txsave64 (%3)\n\t"
        "mov %%r8d, %%eax\n\tmov %%r9d, %%edx\n\t"
        : "=&a"(lo), "=&d"(hi)
        : "r"(image), "r"(after)
        : "rcx", "rdi", "rsi", "r8", "r9", "r11", "memory");
    xinuse = ((uint64_t)hi << 32) | lo;
    kill(getpid(), SIGSTOP);
    _exit(0);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) { r->err = -ECHILD; goto out; }
  r->sig1 = WSTOPSIG(st);
  struct iovec iov = { setbuf_, iov_len };
  if (ptrace(PTRACE_SETREGSET, pid, (void *)(uintptr_t)note, &iov) != 0) r->err = errno;
  if (ptrace(PTRACE_CONT, pid, 0, 0) != 0) { r->err = -errno; goto out; }
  if (waitpid(pid, &st, 0) != pid) { r->err = -ECHILD; goto out; }
  if (!WIFSTOPPED(st)) { r->sig2 = WIFSIGNALED(st) ? 0x100 | WTERMSIG(st) : 0x200; goto out; }
  r->sig2 = WSTOPSIG(st);
  struct iovec local = { after, area }, remote = { after, area };
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)area) { r->err = -EIO; goto out; }
  local.iov_base = &r->xinuse; local.iov_len = 8; remote.iov_base = &xinuse; remote.iov_len = 8;
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != 8) { r->err = -EIO; goto out; }
  struct iovec g = { regset, size };
  if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &g) != 0) r->err = -EIO;
out:
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
}

int main(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d)) return 2;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set); /* see getregset-probe.c */
  request_amx_permission();                /* inherited by every forked tracee */
  uint32_t area = b;
  if (area > MAX_AREA) { fprintf(stderr, "XSAVE area of %u bytes is larger than this probe's %u\n", area, MAX_AREA); return 2; }
  /* The regset size: a GETREGSET of a tracee with the initial state. */
  memset(image, 0, sizeof image);
  *(uint16_t *)image = 0x37f;
  *(uint32_t *)(image + 24) = 0x1f80;
  struct result r;
  uint32_t size = 0;
  {
    pid_t pid = fork();
    if (pid == 0) { ptrace(PTRACE_TRACEME, 0, 0, 0); raise(SIGSTOP); _exit(0); }
    int st;
    waitpid(pid, &st, 0);
    struct iovec iov = { regset, sizeof regset };
    if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov) != 0) { fprintf(stderr, "PTRACE_GETREGSET(NT_X86_XSTATE) failed: %s\n", strerror(errno)); return 2; }
    size = iov.iov_len;
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  struct { uint32_t magic, area, size; } hello = { 0x53524552u, area, size };
  write_full(&hello, sizeof hello);
  struct { uint32_t note, iov_len; } h;
  while (read_full(&h, sizeof h)) {
    if (!read_full(image, area) || !read_full(setbuf_, size)) return 4;
    if (h.iov_len > size + 64) h.iov_len = size + 64;
    run_case(h.note, h.iov_len, area, size, &r);
    write_full(&r, sizeof r);
    write_full(after, area);
    write_full(regset, size);
  }
  return 0;
}
