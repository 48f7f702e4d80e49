/*
 * Guest for the pkru-ptrace-guest scenario: a debugger in miniature. The child sets PKRU to
 * 0x55555550 (keys 1-15 access-disabled, key 0 open) and stops; the parent reads its
 * NT_X86_XSTATE regset, writes PKRU = 0x2c with XSTATE_BV[9] set (gdb's `set $pkru = 0x2c`; key 0 stays writable, or the tracee could not even print),
 * and lets it go; the child prints the PKRU it then has. The XSAVE layout comes from CPUID.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <elf.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif
#define XFEATURE_PKRU 9

static uint8_t buf[16384] __attribute__((aligned(64)));

static unsigned rdpkru(void) { unsigned eax, edx; __asm__ volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0)); return eax; }
static void wrpkru(unsigned v) { __asm__ volatile("wrpkru" : : "a"(v), "c"(0), "d"(0)); }

int main(void) {
  unsigned a, b, c, d;
  __cpuid_count(7, 0, a, b, c, d);
  if (!((c >> 4) & 1)) { printf("pku: none\n"); return 0; } /* OSPKE */
  __cpuid_count(0xd, XFEATURE_PKRU, a, b, c, d);
  unsigned pkru_offset = b;
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    wrpkru(0x55555550);
    raise(SIGSTOP);
    printf("tracee.pkru: 0x%x\n", rdpkru());
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  struct iovec iov = { buf, sizeof buf };
  if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &iov) != 0) { perror("GETREGSET"); return 1; }
  printf("regset.len: %zu\n", iov.iov_len);
  printf("regset.pkru: 0x%x\n", *(uint32_t *)(buf + pkru_offset));
  *(uint32_t *)(buf + pkru_offset) = 0x2c;
  *(uint64_t *)(buf + 512) |= 1ull << XFEATURE_PKRU;
  printf("setregset: %s\n", ptrace(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &iov) == 0 ? "ok" : "failed");
  fflush(stdout);
  ptrace(PTRACE_CONT, pid, 0, 0);
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
