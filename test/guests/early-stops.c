/*
 * Runs that end early are charged what they executed: 3,000 sched_yield calls and 1,500 caught
 * faults, each ending a scheduling run of a task alone. Charged a whole quantum each, they used up
 * the default instruction budget (SIGXCPU) long before the end.
 */
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>

static sigjmp_buf back;
static void on_segv(int sig) { (void)sig; siglongjmp(back, 1); }

int main(void) {
  for (int i = 0; i < 3000; i++) sched_yield();
  puts("3000 sched_yield calls");
  signal(SIGSEGV, on_segv);
  volatile int caught = 0;
  for (int i = 0; i < 1500; i++) {
    if (!sigsetjmp(back, 1)) *(volatile int *)0 = 1;
    else caught++;
  }
  printf("%d faults caught\n", caught);
  return 0;
}
