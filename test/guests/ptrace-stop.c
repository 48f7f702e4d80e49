/* Group stops of a tracee: a SIGSTOP is first a signal-delivery stop; resumed with SIGSTOP it
 * becomes a group stop the tracer sees again (plain for PTRACE_TRACEME, PTRACE_EVENT_STOP for
 * PTRACE_SEIZE), with no siginfo for the former; a tracee interrupted in read(2) by a stop is
 * shown with -ERESTARTSYS in RAX and orig_rax the call, and reads on when resumed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

/* Wait until `pid` sleeps in the kernel: natively /proc/PID/stat says so (state S); where there is
 * no /proc (the sandbox) a nap lets it reach its sleep. Only the timing differs. */
static void until_sleeping(pid_t pid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  struct timespec ms = { 0, 1000000L }, nap = { 0, 50 * 1000000L };
  for (int i = 0; i < 5000; i++) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { nanosleep(&nap, 0); return; }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
      buf[n] = 0;
      char *p = strrchr(buf, ')');
      if (p && p[1] == ' ' && p[2] == 'S') return;
    }
    nanosleep(&ms, 0);
  }
}

static void show(const char *what, int st) {
  printf("%s: stopped %d sig %d event %d exited %d (%d) signaled %d (%d) raw 0x%x\n", what, WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0,
         WIFSTOPPED(st) ? st >> 16 : 0, WIFEXITED(st), WIFEXITED(st) ? WEXITSTATUS(st) : 0, WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0, st);
}

static void siginfo_of(const char *what, pid_t c) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  long r = ptrace(PTRACE_GETSIGINFO, c, 0, &si);
  if (r < 0) printf("%s: GETSIGINFO %ld %s\n", what, r, strerror(errno));
  else printf("%s: GETSIGINFO signo %d code 0x%x\n", what, si.si_signo, si.si_code);
}

static void traceme(void) {
  pid_t c = fork();
  if (c == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    _exit(3);
  }
  int st;
  waitpid(c, &st, 0);
  show("TRACEME signal-delivery stop", st);
  siginfo_of("TRACEME signal-delivery stop", c);
  ptrace(PTRACE_CONT, c, 0, (void *)(long)SIGSTOP);
  waitpid(c, &st, 0);
  show("TRACEME group stop", st);
  siginfo_of("TRACEME group stop", c);
  ptrace(PTRACE_CONT, c, 0, 0);
  waitpid(c, &st, 0);
  show("TRACEME exit", st);
}

static void seized(void) {
  int p[2];
  pipe(p);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    char b = 0;
    ssize_t n = read(p[0], &b, 1);
    printf("seized tracee: read %zd '%c'\n", n, b);
    fflush(stdout);
    _exit(4);
  }
  ptrace(PTRACE_SEIZE, c, 0, 0);
  until_sleeping(c);
  kill(c, SIGSTOP);
  int st;
  waitpid(c, &st, 0);
  show("SEIZE signal-delivery stop", st);
  struct user_regs_struct regs;
  ptrace(PTRACE_GETREGS, c, 0, &regs);
  printf("SEIZE at the stop: rax %lld orig_rax is read %d\n", (long long)regs.rax, regs.orig_rax == SYS_read);
  ptrace(PTRACE_CONT, c, 0, (void *)(long)SIGSTOP);
  waitpid(c, &st, 0);
  show("SEIZE group stop", st);
  siginfo_of("SEIZE group stop", c);
  ptrace(PTRACE_CONT, c, 0, 0);
  write(p[1], "y", 1);
  waitpid(c, &st, 0);
  show("SEIZE exit", st);
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  traceme();
  seized();
  puts("done");
  return 0;
}
