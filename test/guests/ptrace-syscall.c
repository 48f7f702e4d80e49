/* PTRACE_SYSCALL with PTRACE_O_TRACESYSGOOD: the tracer sees each system call of its tracee at
 * entry (RAX -ENOSYS, orig_rax the number) and exit (RAX the result), rewrites getppid into
 * getpid at entry, replaces getuid's result at exit and skips a kill with orig_rax -1. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t c = fork();
  if (c == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    long ppid = syscall(SYS_getppid), pid = syscall(SYS_getpid), uid = syscall(SYS_getuid);
    long k = syscall(SYS_kill, 0, SIGKILL);
    int e = errno;
    printf("tracee: getppid %s getpid, getuid %ld, kill %ld (errno %d)\n", ppid == pid ? "==" : "!=", uid, k, e);
    fflush(stdout);
    _exit(7);
  }
  int st;
  waitpid(c, &st, 0);
  printf("stopped by %d\n", WSTOPSIG(st));
  printf("SETOPTIONS TRACESYSGOOD -> %ld\n", ptrace(PTRACE_SETOPTIONS, c, 0, (void *)PTRACE_O_TRACESYSGOOD));
  int entry = 1;
  for (int n = 0; n < 40; n++) {
    if (ptrace(PTRACE_SYSCALL, c, 0, 0) < 0) { printf("PTRACE_SYSCALL failed\n"); break; }
    waitpid(c, &st, 0);
    if (WIFEXITED(st)) { printf("exited %d\n", WEXITSTATUS(st)); break; }
    if (!WIFSTOPPED(st)) { printf("status %x\n", st); break; }
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, c, 0, &r);
    long nr = (long)r.orig_rax;
    if (entry) {
      printf("stop 0x%x entry %ld rax %lld\n", WSTOPSIG(st), nr, (long long)r.rax);
      if (nr == SYS_getppid) { r.orig_rax = SYS_getpid; ptrace(PTRACE_SETREGS, c, 0, &r); }
      if (nr == SYS_kill) { r.orig_rax = -1; ptrace(PTRACE_SETREGS, c, 0, &r); }
    } else {
      printf("stop 0x%x exit  %ld%s\n", WSTOPSIG(st), nr, nr == SYS_getpid || nr == SYS_getppid ? "" : "");
      if (nr == SYS_getuid) { r.rax = 12345; ptrace(PTRACE_SETREGS, c, 0, &r); }
      if (nr == SYS_kill || nr == -1) printf("  rax %lld\n", (long long)r.rax);
    }
    fflush(stdout);
    entry = !entry;
  }
  return 0;
}
