/* Signal handlers: raise/kill, blocked and pending signals, faults turned into SIGSEGV/SIGFPE/SIGILL
 * with siginfo, a handler that edits uc_mcontext (RIP, RAX) before sigreturn, the fpstate pointer
 * and MXCSR in the frame, sigaltstack with SA_ONSTACK, and death by SIGTERM at the end. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static volatile int usr1, usr2;
static volatile int usr1_code, usr1_from_self;
static sigjmp_buf jb;
static volatile int fault_code;
static volatile uintptr_t fault_addr;
static volatile unsigned frame_mxcsr, handler_mxcsr;
static volatile int fpstate_present, on_altstack;
static char altstack[1 << 16];

static void on_usr1(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  usr1 += sig;
  usr1_code = si->si_code;
  usr1_from_self = si->si_pid == getpid();
}
static void on_usr2(int sig) { usr2 += sig; }
static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  fault_code = sig * 100 + si->si_code;
  fault_addr = (uintptr_t)si->si_addr;
  siglongjmp(jb, 1);
}
static void on_segv_fixup(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  ucontext_t *uc = ucv;
  fault_addr = (uintptr_t)si->si_addr;
  fpstate_present = uc->uc_mcontext.fpregs != 0;
  frame_mxcsr = fpstate_present ? uc->uc_mcontext.fpregs->mxcsr : 0;
  unsigned m;
  __asm__ volatile("stmxcsr %0" : "=m"(m));
  handler_mxcsr = m;
  uc->uc_mcontext.gregs[REG_RIP] += 6; /* skip movl $1, (%rax) */
  uc->uc_mcontext.gregs[REG_RAX] = 42;
}
static void on_alt(int sig) {
  (void)sig;
  char here;
  on_altstack = &here >= altstack && &here < altstack + sizeof altstack;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, 0);
  raise(SIGUSR1);
  kill(getpid(), SIGUSR1);
  printf("SIGUSR1 handled: sum %d, last si_code %d, from self %d\n", usr1, usr1_code, usr1_from_self);

  signal(SIGUSR2, on_usr2);
  sigset_t set, pend;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, 0);
  raise(SIGUSR2);
  sigpending(&pend);
  printf("SIGUSR2 blocked: pending %d, handled %d\n", sigismember(&pend, SIGUSR2), usr2);
  sigprocmask(SIG_UNBLOCK, &set, 0);
  printf("SIGUSR2 unblocked: handled %d\n", usr2);

  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGFPE, &sa, 0);
  sigaction(SIGILL, &sa, 0);
  if (!sigsetjmp(jb, 1)) *(volatile int *)16 = 1;
  printf("SIGSEGV: code %d addr %#lx\n", fault_code, (unsigned long)fault_addr);
  volatile int zero = 0, seven = 7;
  if (!sigsetjmp(jb, 1)) printf("%d\n", seven / zero);
  printf("SIGFPE: code %d\n", fault_code);
  if (!sigsetjmp(jb, 1)) __asm__ volatile("ud2");
  printf("SIGILL: code %d\n", fault_code);

  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv_fixup;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, 0);
  unsigned saved, after, rz = 0x7f80; /* round toward zero, all exceptions masked */
  __asm__ volatile("stmxcsr %0" : "=m"(saved));
  __asm__ volatile("ldmxcsr %0" : : "m"(rz));
  long rax = 24;
  __asm__ volatile(".byte 0xc7, 0x00, 0x01, 0x00, 0x00, 0x00" : "+a"(rax) : : "memory"); /* movl $1, (%rax) */
  __asm__ volatile("stmxcsr %0" : "=m"(after));
  __asm__ volatile("ldmxcsr %0" : : "m"(saved));
  printf("fixup: rax %ld addr %#lx fpstate %d frame mxcsr %04x handler mxcsr %04x after %04x\n", rax, (unsigned long)fault_addr,
         fpstate_present, frame_mxcsr, handler_mxcsr, after);

  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, 0);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alt;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, 0);
  raise(SIGUSR1);
  printf("SA_ONSTACK handler ran on the alternate stack: %d\n", on_altstack);

  signal(SIGCHLD, SIG_DFL);
  raise(SIGCHLD); /* ignored by default */
  printf("SIGCHLD ignored; now SIGTERM\n");
  fflush(stdout);
  raise(SIGTERM);
  printf("not reached\n");
  return 0;
}
