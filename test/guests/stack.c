/* RLIMIT_STACK and the stack growing on demand (mm/mmap.c expand_downwards, acct_stack_growth,
 * the stack guard gap; Linux 6.x). The top of the stack VMA is found from AT_EXECFN (fs/exec.c puts
 * the file name right below one pointer at the top), so every size printed is relative to it and
 * the same on every run and machine whatever the environment's size and the stack randomisation.
 * The sizes printed are what Linux's rules give for the limits the program sets itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB 1024UL
#define MIB (1024UL * 1024UL)
#define PAGE 4096UL
/* One frame of the recursion: under a page, so the recursion touches every page on its way down. */
#define FRAME 1000
static sigjmp_buf jb;
static volatile uintptr_t fault_addr;
static volatile int fault_code, depth, deepest;
static uintptr_t top;

static void on_segv(int s, siginfo_t *si, void *u) {
  (void)s; (void)u;
  fault_addr = (uintptr_t)si->si_addr;
  fault_code = si->si_code;
  siglongjmp(jb, 1);
}
static volatile uintptr_t first_buf, second_buf;
__attribute__((noinline)) static int recurse(int d) {
  volatile char buf[FRAME];
  buf[0] = (char)d;
  if (d == 1) first_buf = (uintptr_t)buf;
  if (d == 2) second_buf = (uintptr_t)buf;
  depth = d;
  return recurse(d + 1) + buf[0];
}
/* Recurse until SIGSEGV (taken on the alternate stack); the stack's size when it came. */
static unsigned long recurse_to_fault(void) {
  fault_addr = 0;
  if (!sigsetjmp(jb, 1)) recurse(1);
  deepest = depth;
  return top - (fault_addr & ~(PAGE - 1));
}
static void set_stack_limit(rlim_t cur) {
  struct rlimit r;
  getrlimit(RLIMIT_STACK, &r);
  r.rlim_cur = cur;
  if (setrlimit(RLIMIT_STACK, &r)) printf("setrlimit(%lu KiB) failed: errno %d\n", (unsigned long)(cur / KIB), errno);
}
static volatile int handler_ran;
static volatile uintptr_t handler_local;
static void on_usr1(int s) { volatile int here = s; handler_local = (uintptr_t)&here; handler_ran = 1; }
/* A signal while RSP is far below the stack's lowest page: the kernel grows the stack for the frame. */
__attribute__((noinline)) static void signal_below(void) {
  char *low = alloca(512 * KIB);
  __asm__ volatile("" : : "r"(low) : "memory");
  raise(SIGUSR1);
}

int main(void) {
  const char *fn = (const char *)getauxval(AT_EXECFN);
  top = (uintptr_t)fn + strlen(fn) + 1 + sizeof(void *);
  printf("top of the stack from AT_EXECFN page-aligned: %s\n", top % PAGE == 0 ? "yes" : "no");

  /* The calls: get/set/prlimit64 and their errors (kernel/sys.c do_prlimit). */
  struct rlimit r, old;
  printf("getrlimit(RLIMIT_STACK) %d\n", getrlimit(RLIMIT_STACK, &r));
  struct rlimit bad = { 2 * MIB, 1 * MIB };
  int ret = setrlimit(RLIMIT_STACK, &bad);
  printf("setrlimit cur > max: %d errno %d\n", ret, errno);
  long lret = syscall(SYS_getrlimit, 16, &r);
  printf("getrlimit(RLIM_NLIMITS): %ld errno %d\n", lret, errno);
  lret = syscall(SYS_prlimit64, 0, 16, 0, &r);
  printf("prlimit64(RLIM_NLIMITS): %ld errno %d\n", lret, errno);
  struct rlimit want = { 8 * MIB, r.rlim_max };
  getrlimit(RLIMIT_STACK, &r);
  want.rlim_max = r.rlim_max;
  printf("prlimit64(0, STACK, 8 MiB) %ld\n", syscall(SYS_prlimit64, 0, RLIMIT_STACK, &want, &old));
  getrlimit(RLIMIT_STACK, &r);
  printf("now %lu KiB, max kept %s\n", (unsigned long)(r.rlim_cur / KIB), r.rlim_max == old.rlim_max ? "yes" : "no");
  lret = syscall(SYS_prlimit64, 999999, RLIMIT_STACK, 0, &old);
  printf("prlimit64 of pid 999999: %ld errno %d\n", lret, errno);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) { getrlimit(RLIMIT_STACK, &r); printf("child inherits %lu KiB\n", (unsigned long)(r.rlim_cur / KIB)); fflush(stdout); _exit(0); }
  waitpid(c, 0, 0);

  /* A signal frame below the mapped stack. */
  signal(SIGUSR1, on_usr1);
  signal_below();
  printf("handler ran with its frame below the stack's first pages: %s, %s KiB below the top\n", handler_ran ? "yes" : "no",
         top - handler_local > 512 * KIB ? "more than 512" : "less than 512");

  stack_t ss = { .ss_sp = malloc(64 * KIB), .ss_size = 64 * KIB, .ss_flags = 0 };
  sigaltstack(&ss, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);

  /* A mapping 3 MiB below the top: the stack stops one guard gap (1 MiB) above it. */
  char *near = mmap((void *)(top - 3 * MIB - PAGE), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  printf("mapping below the stack: %s\n", near == (void *)(top - 3 * MIB - PAGE) ? "placed" : "not placed");
  unsigned long size = recurse_to_fault();
  printf("readable neighbour: SIGSEGV code %d with the stack at %lu KiB\n", fault_code, size / KIB);
  unsigned long frame = first_buf - second_buf;
  /* The deepest frame whose buffer lies above the stack's bottom (top - (size - PAGE)), within one frame. */
  long predicted = 1 + (long)((first_buf - (top - (size - PAGE))) / frame);
  printf("depth as the stack size and the frame size predict: %s\n", labs((long)deepest - predicted) <= 1 ? "yes" : "no");
  munmap(near, PAGE);

  /* A PROT_NONE neighbour is no obstacle to the gap (vma_is_accessible): the stack reaches it. */
  near = mmap((void *)(top - 3 * MIB - PAGE), PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  size = recurse_to_fault();
  printf("PROT_NONE neighbour: SIGSEGV code %d at %lu KiB below the top\n", fault_code, size / KIB);
  munmap(near, PAGE);

  /* The limit: the stack grows to exactly RLIMIT_STACK bytes. */
  set_stack_limit(4 * MIB);
  size = recurse_to_fault();
  printf("limit 4096 KiB: SIGSEGV code %d with the stack at %lu KiB\n", fault_code, size / KIB);
  /* Lowering the limit keeps what is mapped; growth beyond the old size still fails. */
  set_stack_limit(1 * MIB);
  size = recurse_to_fault();
  printf("limit lowered to 1024 KiB: SIGSEGV code %d with the stack at %lu KiB\n", fault_code, size / KIB);
  set_stack_limit(6 * MIB);
  size = recurse_to_fault();
  printf("limit raised to 6144 KiB: SIGSEGV code %d with the stack at %lu KiB\n", fault_code, size / KIB);

  /* Without an alternate stack the SIGSEGV cannot be delivered: the child dies of it. */
  fflush(stdout);
  c = fork();
  if (c == 0) {
    stack_t off = { .ss_flags = SS_DISABLE };
    sigaltstack(&off, 0);
    set_stack_limit(7 * MIB);
    recurse(1);
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
  printf("child without an alternate stack: %s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
  return 0;
}
