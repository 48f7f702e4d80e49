/* rt_sigreturn's restore_altstack (arch/x86/kernel/signal_64.c, kernel/signal.c): the frame's
 * uc_stack goes through do_sigaltstack at the restored stack pointer, so a handler can move,
 * disable or keep the alternate stack by editing it; refusals (too small, bad flags) are silent;
 * SS_AUTODISARM disarms the stack while the handler runs and sigreturn rearms it; sigaltstack(2)
 * from a handler on the stack is EPERM, and it reports SS_ONSTACK there. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif
static char stack_a[65536], stack_b[65536];
static enum { KEEP, MOVE, DISABLE, SMALL, BADFLAGS, REPORT } mode;
static stack_t seen_uc, seen_now;
static int seen_err;

static void handler(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)si;
  ucontext_t *uc = ctx;
  seen_uc = uc->uc_stack;
  sigaltstack(0, &seen_now);
  stack_t ss = { .ss_sp = stack_b, .ss_size = sizeof stack_b, .ss_flags = 0 };
  seen_err = sigaltstack(&ss, 0) ? errno : 0;
  switch (mode) {
    case KEEP: case REPORT: break;
    case MOVE: uc->uc_stack.ss_sp = stack_b; uc->uc_stack.ss_size = sizeof stack_b; break;
    case DISABLE: uc->uc_stack.ss_flags = SS_DISABLE; break;
    case SMALL: uc->uc_stack.ss_sp = stack_b; uc->uc_stack.ss_size = 100; break;
    case BADFLAGS: uc->uc_stack.ss_sp = stack_b; uc->uc_stack.ss_flags = 5; break;
  }
}

static const char *which(void *p) { return p == stack_a ? "A" : p == stack_b ? "B" : p == 0 ? "null" : "other"; }

static void show(const char *what) {
  stack_t now;
  sigaltstack(0, &now);
  printf("%-10s handler saw uc_stack %s flags %#x size %zu; sigaltstack in handler: %s flags %#x, set -> %s; after return: %s flags %#x size %zu\n",
         what, which(seen_uc.ss_sp), seen_uc.ss_flags, seen_uc.ss_size, which(seen_now.ss_sp), seen_now.ss_flags,
         seen_err == EPERM ? "EPERM" : seen_err ? "error" : "0", which(now.ss_sp), now.ss_flags, now.ss_size);
}

int main(void) {
  struct sigaction sa = { 0 };
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGUSR1, &sa, 0);
  const char *names[] = { "keep", "move", "disable", "small", "badflags" };
  for (int m = KEEP; m <= BADFLAGS; m++) {
    stack_t ss = { .ss_sp = stack_a, .ss_size = sizeof stack_a, .ss_flags = 0 };
    sigaltstack(&ss, 0);
    mode = m;
    raise(SIGUSR1);
    show(names[m]);
  }
  stack_t ss = { .ss_sp = stack_a, .ss_size = sizeof stack_a, .ss_flags = SS_AUTODISARM };
  printf("SS_AUTODISARM -> %d\n", sigaltstack(&ss, 0));
  mode = REPORT;
  raise(SIGUSR1);
  show("autodisarm");
  /* Not on the stack: the handler runs on the normal stack; the frame still carries the stack. */
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, 0);
  ss.ss_flags = 0;
  sigaltstack(&ss, 0);
  mode = MOVE;
  raise(SIGUSR1);
  show("offstack");
  ss.ss_flags = 7;
  errno = 0;
  int r = sigaltstack(&ss, 0);
  printf("sigaltstack flags 7 -> %d errno %d\n", r, errno);
  ss.ss_flags = 0; ss.ss_size = 100;
  errno = 0;
  r = sigaltstack(&ss, 0);
  printf("sigaltstack size 100 -> %d errno %d\n", r, errno);
  /* A handler on the normal stack disables the alternate stack through uc_stack. */
  ss.ss_size = sizeof stack_a;
  sigaltstack(&ss, 0);
  mode = DISABLE;
  raise(SIGUSR1);
  show("offstack-disable");
  /* Too small or bad flags from the normal stack: silently kept. */
  sigaltstack(&ss, 0);
  mode = SMALL;
  raise(SIGUSR1);
  show("offstack-small");
  mode = BADFLAGS;
  raise(SIGUSR1);
  show("offstack-badflags");
  return 0;
}
