/* setjmp/longjmp and sigsetjmp/siglongjmp: nested jumps, a jump out of a signal handler with the
 * signal mask restored or kept, and callee-saved registers and floating-point values kept across. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static jmp_buf jb;
static sigjmp_buf sjb;
static int depth;

static void dive(int n) {
  char pad[64];
  memset(pad, n, sizeof pad);
  if (n == 0) longjmp(jb, 42 + pad[3]);
  dive(n - 1);
}
static void on_usr1(int sig) { (void)sig; siglongjmp(sjb, 7); }
static void on_segv(int sig) { (void)sig; siglongjmp(sjb, 11); }

int main(void) {
  volatile double acc = 1.0;
  volatile int count = 0;
  int r = setjmp(jb);
  if (r == 0) dive(20);
  printf("longjmp from depth 20 returned %d\n", r);
  for (volatile int i = 0; i < 5; i++) {
    if (setjmp(jb) == 0) { acc *= 1.5; count++; longjmp(jb, 0); }
  }
  printf("longjmp with 0 gives 1 each time: count %d acc %.17g\n", count, acc);
  signal(SIGUSR1, on_usr1);
  sigset_t set;
  for (int save = 0; save <= 1; save++) {
    int v = sigsetjmp(sjb, save);
    if (v == 0) { raise(SIGUSR1); puts("not reached"); }
    sigprocmask(SIG_BLOCK, 0, &set);
    printf("sigsetjmp(savemask=%d): back with %d, SIGUSR1 blocked after: %d\n", save, v, sigismember(&set, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &set, 0);
  }
  signal(SIGSEGV, on_segv);
  volatile int *bad = (volatile int *)16;
  int v = sigsetjmp(sjb, 1);
  if (v == 0) { depth = *bad; puts("not reached"); }
  printf("SIGSEGV handler jumped back with %d\n", v);
  /* Callee-saved registers after longjmp: values kept in locals across many jumps. */
  register long a1 = 1, a2 = 2, a3 = 3;
  volatile long sum = 0;
  for (volatile int i = 0; i < 100; i++) {
    if (setjmp(jb) == 0) { a1 += 1; a2 *= 1; a3 ^= i; sum += a1 + a2 + a3; longjmp(jb, 1); }
  }
  printf("sum after 100 jumps %ld\n", (long)sum);
  return 0;
}
