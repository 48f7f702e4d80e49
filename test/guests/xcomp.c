/* Dynamic xstate (Linux 5.16+, arch/x86/kernel/fpu/xstate.c fpu_xstate_prctl): AT_MINSIGSTKSZ,
 * ARCH_GET_XCOMP_SUPP / GET_XCOMP_PERM / REQ_XCOMP_PERM and their errnos, -ENOSPC for a small
 * sigaltstack, sigaltstack's -ENOMEM once AMX is permitted, the first use of AMX tile data
 * (XRSTOR of component 18) without permission (SIGILL, ILL_ILLOPC) and with it (a larger signal
 * frame), and a frame that overflows the alternate stack (SIGSEGV). */
#include "guest.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define ARCH_GET_XCOMP_SUPP 0x1021
#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XTILE_DATA 18
#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

static long prctl2(long op, unsigned long arg) { long r = syscall(SYS_arch_prctl, op, arg); return r < 0 ? -errno : r; }
static void show(const char *what, long r) { printf("%-40s %s\n", what, r == 0 ? "0" : r == -EINVAL ? "EINVAL" : r == -EOPNOTSUPP ? "EOPNOTSUPP" : r == -EFAULT ? "EFAULT" : r == -ENOSPC ? "ENOSPC" : r == -ENOMEM ? "ENOMEM" : r == -EPERM ? "EPERM" : "other"); }
static long altstack(void *sp, size_t size, int flags) { stack_t ss = { .ss_sp = sp, .ss_size = size, .ss_flags = flags }; return sigaltstack(&ss, 0) ? -errno : 0; }

static unsigned char area[16384] __attribute__((aligned(64)));
extern char xr_insn[];
static void xrstor_tiles(void) {
  memset(area, 0, sizeof area);
  unsigned r[4]; cpuid2(0xd, 18, r);
  memset(area + r[1], 0x5a, r[0]);
  area[512 + 2] = 0x04; /* XSTATE_BV bit 18 */
  area[24] = 0x80; area[25] = 0x1f; /* MXCSR 1F80H */
  __asm__ volatile("xr_insn: xrstor64 (%0)" : : "r"(area), "a"(0x40000), "d"(0) : "memory");
}

static void on_ill(int s, siginfo_t *si, void *ctx) {
  (void)ctx;
  printf("  %s: si_code %d, si_addr %s\n", s == SIGILL ? "SIGILL" : "signal", si->si_code, si->si_addr == (void *)xr_insn ? "at the XRSTOR" : "elsewhere");
  fflush(stdout);
  _exit(0);
}
static uint32_t xsize, xfeat; static uint64_t xbv;
static void on_usr1(int s, siginfo_t *si, void *ctx) {
  (void)s; (void)si;
  unsigned char *fp = (unsigned char *)((ucontext_t *)ctx)->uc_mcontext.fpregs;
  memcpy(&xsize, fp + 480, 4); memcpy(&xfeat, fp + 472, 4); memcpy(&xbv, fp + 512, 8);
}
static void handler(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn; sa.sa_flags = SA_SIGINFO | flags;
  sigaction(sig, &sa, 0);
}
static void wait_child(pid_t c) {
  int st = 0;
  waitpid(c, &st, 0);
  if (WIFSIGNALED(st)) printf("  child killed by signal %d\n", WTERMSIG(st));
  else if (WEXITSTATUS(st)) printf("  child exit %d\n", WEXITSTATUS(st));
}

int main(void) {
  printf("AT_MINSIGSTKSZ %lu\n", getauxval(AT_MINSIGSTKSZ));
  uint64_t v = 0;
  long r = prctl2(ARCH_GET_XCOMP_SUPP, (unsigned long)&v);
  show("ARCH_GET_XCOMP_SUPP", r);
  if (r) return 0;
  printf("  supported 0x%llx\n", (unsigned long long)v);
  int amx = (v >> XTILE_DATA) & 1;
  r = prctl2(ARCH_GET_XCOMP_PERM, (unsigned long)&v);
  show("ARCH_GET_XCOMP_PERM", r);
  printf("  permitted 0x%llx\n", (unsigned long long)v);
  show("ARCH_GET_XCOMP_PERM to address 8", prctl2(ARCH_GET_XCOMP_PERM, 8));
  show("arch_prctl(0x1029)", prctl2(0x1029, 0));
  char what[64];
  for (int f = 0; f <= 20; f++) {
    if (f == XTILE_DATA) continue;
    sprintf(what, "ARCH_REQ_XCOMP_PERM %d", f);
    show(what, prctl2(ARCH_REQ_XCOMP_PERM, f));
  }
  if (!amx) { printf("AMX: not available, tile cases not run\n"); return 0; }
  printf("first use of tile data without permission:\n");
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) { handler(SIGILL, on_ill, 0); xrstor_tiles(); printf("  no fault\n"); fflush(stdout); _exit(0); }
  wait_child(c);
  printf("permission with a small sigaltstack:\n");
  fflush(stdout);
  c = fork();
  if (c == 0) {
    static char st1[8192], st2[16384];
    show("  sigaltstack 8192", altstack(st1, sizeof st1, 0));
    show("  ARCH_REQ_XCOMP_PERM 18", prctl2(ARCH_REQ_XCOMP_PERM, XTILE_DATA));
    show("  sigaltstack disabled", altstack(0, 0, SS_DISABLE));
    show("  ARCH_REQ_XCOMP_PERM 18", prctl2(ARCH_REQ_XCOMP_PERM, XTILE_DATA));
    show("  ARCH_REQ_XCOMP_PERM 18 again", prctl2(ARCH_REQ_XCOMP_PERM, XTILE_DATA));
    prctl2(ARCH_GET_XCOMP_PERM, (unsigned long)&v);
    printf("  permitted 0x%llx\n", (unsigned long long)v);
    show("  sigaltstack 8192", altstack(st1, sizeof st1, 0));
    show("  sigaltstack 16384", altstack(st2, sizeof st2, 0));
    handler(SIGUSR1, on_usr1, 0);
    raise(SIGUSR1);
    printf("  frame before first use: xstate_size %u xfeatures 0x%x\n", xsize, xfeat);
    handler(SIGILL, on_ill, 0);
    xrstor_tiles();
    printf("  XRSTOR of tile data ran\n");
    int tid = (int)syscall(SYS_gettid);
    __asm__ volatile("syscall" : : "a"(SYS_tgkill), "D"(getpid()), "S"(tid), "d"(SIGUSR1) : "rcx", "r11", "memory");
    printf("  frame after first use: xstate_size %u xfeatures 0x%x XSTATE_BV 0x%llx\n", xsize, xfeat, (unsigned long long)xbv);
    fflush(stdout);
    /* fpu_clone(): a fork child starts without the dynamic state, permission inherited. */
    pid_t g = fork();
    if (g == 0) {
      uint64_t inuse = xgetbv(1);
      raise(SIGUSR1);
      prctl2(ARCH_GET_XCOMP_PERM, (unsigned long)&v);
      printf("  fork child: XINUSE[18] %d, frame xstate_size %u xfeatures 0x%x, permitted 0x%llx\n", (int)((inuse >> 18) & 1), xsize, xfeat, (unsigned long long)v);
      fflush(stdout);
      _exit(0);
    }
    wait_child(g);
    printf("  parent after fork: XINUSE[18] %d\n", (int)((xgetbv(1) >> 18) & 1));
    fflush(stdout);
    _exit(0);
  }
  wait_child(c);
  printf("a frame larger than the alternate stack:\n");
  fflush(stdout);
  c = fork();
  if (c == 0) {
    static char small[2048];
    show("  sigaltstack 2048", altstack(small, sizeof small, 0));
    handler(SIGUSR1, on_usr1, SA_ONSTACK);
    raise(SIGUSR1);
    printf("  handler ran\n");
    fflush(stdout);
    _exit(0);
  }
  wait_child(c);
  return 0;
}
