/*
 * Guest for the sigaltstack-too-small scenario. A 4 KiB alternate signal stack holds the frames
 * of a task without AMX; asking for AMX while it is installed fails with ENOSPC (the frames would
 * no longer fit); once AMX is permitted, installing that stack again fails with ENOMEM, and the
 * signal runs on the normal stack.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18
#define ALTSTACK_BYTES 4096
#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

static uint8_t altstack[ALTSTACK_BYTES] __attribute__((aligned(64)));
static uint8_t image[16384] __attribute__((aligned(64)));
static volatile int handled;
static void on_usr1(int sig) { (void)sig; handled++; }

static const char *err(long r) { return r == 0 ? "ok" : errno == ENOSPC ? "ENOSPC" : errno == ENOMEM ? "ENOMEM" : errno == EOPNOTSUPP ? "EOPNOTSUPP" : errno == EINVAL ? "EINVAL" : strerror(errno); }

int main(void) {
  printf("minsigstksz: %lu\n", getauxval(AT_MINSIGSTKSZ));
  stack_t ss = { .ss_sp = altstack, .ss_size = ALTSTACK_BYTES, .ss_flags = 0 };
  sigaltstack(&ss, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, 0);
  raise(SIGUSR1);
  printf("before-amx: %s\n", handled == 1 ? "handled" : "not handled");
  printf("req-with-altstack: %s\n", err(syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)));
  stack_t off = { .ss_flags = SS_DISABLE };
  sigaltstack(&off, 0);
  long r = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA);
  printf("req: %s\n", err(r));
  fflush(stdout);
  if (r != 0) return 0;
  /* First AMX use: restore tile data (XSTATE_BV bit 18) from a zero image. */
  *(uint32_t *)(image + 24) = 0x1f80;
  *(uint64_t *)(image + 512) = 1ull << XFEATURE_XTILEDATA;
  __asm__ volatile("xrstor64 (%0)" : : "r"(image), "a"(1u << XFEATURE_XTILEDATA), "d"(0) : "memory");
  printf("amx: used\n");
  fflush(stdout);
  printf("altstack-after-amx: %s\n", err(sigaltstack(&ss, 0)));
  raise(SIGUSR1);
  printf("after-amx: %s\n", handled == 2 ? "handled" : "not handled");
  return 0;
}
