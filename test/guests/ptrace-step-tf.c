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
static volatile int traps, first_code;
static volatile uintptr_t first_addr;
static void on_trap(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)ctx;
  if (!traps++) { first_code = si->si_code; first_addr = (uintptr_t)si->si_addr; }
}

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
  /* The program's own TF (exc_debug_user: DR_STEP, send_sigtrap with TRAP_TRACE and si_addr the
   * next instruction): the first trap comes after the instruction that follows the POPF. How many
   * traps follow (unicorn's count differs by one) is not printed. */
  struct sigaction sa = { 0 };
  sa.sa_sigaction = on_trap;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGTRAP, &sa, 0);
  uintptr_t after_nop;
  __asm__ volatile("pushfq\n orq $0x100, (%%rsp)\n popfq\n nop\n 1: pushfq\n andq $~0x100, (%%rsp)\n popfq\n lea 1b(%%rip), %0" : "=r"(after_nop) :: "memory", "cc");
  /* A stepped POPF that sets TF (enable_single_step's is_setting_trap_flag: not TIF_FORCED_TF): the
   * tracer sees TF after it, PTRACE_CONT keeps it, and the tracee traps on (SIGTRAP stops, TRAP_TRACE). */
  fflush(stdout);
  pid_t d = fork();
  if (d == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    __asm__ volatile("pushfq\n orq $0x100, (%%rsp)\n popfq\n nop\n nop\n pushfq\n andq $~0x100, (%%rsp)\n popfq\n" ::: "memory", "cc");
    _exit(0);
  }
  waitpid(d, &st, 0);
  int tf_after = 0, n = 0;
  for (; n < 300; n++) {
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, d, 0, &r);
    if ((r.eflags >> 8) & 1) { tf_after = 1; break; }
    ptrace(PTRACE_SINGLESTEP, d, 0, 0);
    waitpid(d, &st, 0);
    if (!WIFSTOPPED(st)) break;
  }
  int sigtraps = 0, code = 0;
  for (int k = 0; k < 20; k++) {
    ptrace(PTRACE_CONT, d, 0, 0);
    waitpid(d, &st, 0);
    if (WIFEXITED(st)) break;
    if (WSTOPSIG(st) == SIGTRAP && !sigtraps++) { siginfo_t si; ptrace(PTRACE_GETSIGINFO, d, 0, &si); code = si.si_code; }
  }
  printf("stepped POPF setting TF: TF seen by the tracer %d, SIGTRAP stops after PTRACE_CONT: %s, first si_code %d\n", tf_after, sigtraps >= 3 ? "3 or more" : sigtraps ? "1 or 2" : "0", code);
  printf("own TF: first trap si_code %d (TRAP_TRACE %d) at the instruction after the NOP: %s; at least 3 traps: %s\n", first_code, TRAP_TRACE,
         first_addr == after_nop ? "yes" : "no", traps >= 3 ? "yes" : "no");
  return 0;
}
