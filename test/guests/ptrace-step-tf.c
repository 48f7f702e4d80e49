/* PTRACE_SINGLESTEP and TF (arch/x86/kernel/step.c enable_single_step, TIF_FORCED_TF;
 * arch/x86/kernel/ptrace.c get_flags): the tracer never sees the TF the kernel forced for the step
 * (every step stop's flags read TF 0), but the tracee does: a PUSHF run under the step pushes TF
 * set, and run without the step it pushes TF clear. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile uint64_t stepped, free_run;

int main(void) {
  pid_t c = fork();
  if (c == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    __asm__ volatile("nop\n pushfq\n popq %0\n nop" : "=r"(stepped));
    raise(SIGSTOP);
    __asm__ volatile("pushfq\n popq %0" : "=r"(free_run));
    printf("tracee: PUSHF under the step pushed TF %lu, without it TF %lu\n", (unsigned long)(stepped >> 8) & 1, (unsigned long)(free_run >> 8) & 1);
    fflush(stdout);
    _exit(0);
  }
  int st, steps = 0, tf_seen = 0;
  waitpid(c, &st, 0);
  for (; steps < 200; steps++) {
    ptrace(PTRACE_SINGLESTEP, c, 0, 0);
    waitpid(c, &st, 0);
    if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP) break;
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, c, 0, &r);
    tf_seen |= (r.eflags >> 8) & 1;
  }
  printf("stepped to the SIGSTOP: %s; TF in the flags at any step stop: %d\n", WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP ? "yes" : "no", tf_seen);
  ptrace(PTRACE_CONT, c, 0, 0);
  waitpid(c, &st, 0);
  printf("tracee exited %d\n", WEXITSTATUS(st));
  return 0;
}
