/* An instruction breakpoint set through PTRACE_POKEUSER (u_debugreg: DR2 the address, DR7 L2 with
 * R/W 00 and LEN 00) fires when the tracee is about to run the instruction: the #DB goes through
 * hw_breakpoint_handler (arch/x86/kernel/hw_breakpoint.c), ptrace_triggered sets DR_TRAP2 in the
 * thread's virtual DR6, exc_debug_user sends SIGTRAP with TRAP_HWBKPT and si_addr the instruction,
 * and RF (shown in the flags PTRACE_GETREGS reads) lets PTRACE_CONT run the instruction once. Disabled again, it no longer fires. */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define DR(n) (offsetof(struct user, u_debugreg) + 8 * (n))
/* DR7 (SDM Vol. 3 18.2.4): L2 is bit 4; R/W2 and LEN2 (bits 24-27) 0 = execute, one byte. */
#define DR7_L2 (1ul << 4)
#define MAX_STOPS 6

static volatile int calls;
__attribute__((noinline)) static void target(void) { calls++; __asm__ volatile("" ::: "memory"); }

int main(void) {
  pid_t c = fork();
  if (c == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    target();
    target();
    raise(SIGSTOP);
    target();
    _exit(calls);
  }
  int st;
  waitpid(c, &st, 0);
  long r1 = ptrace(PTRACE_POKEUSER, c, (void *)DR(2), (void *)target);
  long r2 = ptrace(PTRACE_POKEUSER, c, (void *)DR(7), (void *)DR7_L2);
  printf("POKEUSER DR2 = target -> %ld, DR7 = 0x%lx -> %ld\n", r1, DR7_L2, r2);
  printf("DR6 before: 0x%lx\n", ptrace(PTRACE_PEEKUSER, c, (void *)DR(6), 0));
  int hits = 0;
  for (int stops = 0; stops < MAX_STOPS; stops++) {
    ptrace(PTRACE_CONT, c, 0, 0);
    waitpid(c, &st, 0);
    if (!WIFSTOPPED(st)) break;
    int sig = WSTOPSIG(st);
    if (sig == SIGSTOP) {
      printf("stop %d: SIGSTOP after %d hits; DR7 = 0 -> %ld\n", stops, hits, ptrace(PTRACE_POKEUSER, c, (void *)DR(7), 0));
      continue;
    }
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, c, 0, &si);
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, c, 0, &r);
    unsigned long dr6 = ptrace(PTRACE_PEEKUSER, c, (void *)DR(6), 0);
    printf("stop %d: sig %d si_code %d (TRAP_HWBKPT %d) si_addr==target %s rip==target %s DR6 0x%lx RF %lu\n", stops, sig, si.si_code, TRAP_HWBKPT,
           si.si_addr == (void *)target ? "yes" : "no", r.rip == (unsigned long)target ? "yes" : "no", dr6, (r.eflags >> 16) & 1);
    hits++;
  }
  if (WIFSTOPPED(st)) { kill(c, SIGKILL); waitpid(c, &st, 0); printf("still stopping after %d stops: killed\n", MAX_STOPS); }
  if (WIFEXITED(st)) printf("child exited %d after %d breakpoint hits\n", WEXITSTATUS(st), hits);
  return 0;
}
