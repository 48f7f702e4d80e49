/* fork, wait4 and exit statuses: a child's exit code, a child killed by a signal, copy-on-fork
 * memory, and the extended state a child inherits. */
#include "guest.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

static int shared_value = 10;

int main(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) { shared_value = 99; printf("child: value %d\n", shared_value); exit(5); }
  int st;
  pid_t w = waitpid(p, &st, 0);
  printf("parent: waited for the child: %d, exited %d status %d, value %d\n", w == p, WIFEXITED(st), WEXITSTATUS(st), shared_value);

  fflush(stdout);
  p = fork();
  if (p == 0) { abort(); }
  waitpid(p, &st, 0);
  printf("parent: child signaled %d signal %d\n", WIFSIGNALED(st), WTERMSIG(st));

  uint32_t v = 0x5a5a1234, got[4] = {0};
  __asm__ volatile("movd %0, %%xmm6\n\tpshufd $0, %%xmm6, %%xmm6" : : "r"(v) : "xmm6");
  fflush(stdout);
  p = fork();
  if (p == 0) {
    __asm__ volatile("movdqu %%xmm6, %0" : "=m"(got));
    _exit(got[0] == v && got[3] == v ? 7 : 8);
  }
  waitpid(p, &st, 0);
  printf("parent: child saw the inherited xmm6: %s\n", WEXITSTATUS(st) == 7 ? "yes" : "no");

  p = fork();
  if (p == 0) _exit(0);
  pid_t none = waitpid(-1, &st, 0);
  printf("reaped %d, then ECHILD: %d\n", none == p, waitpid(-1, &st, WNOHANG) == -1);

  p = fork();
  if (p == 0) _exit(9);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int rc = waitid(P_PID, p, &si, WEXITED);
  printf("waitid %d: signo %d code %d status %d pid matches %d\n", rc, si.si_signo, si.si_code, si.si_status, si.si_pid == p);
  return 0;
}
