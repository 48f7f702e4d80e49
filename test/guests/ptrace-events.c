/* ptrace event options (kernel/fork.c kernel_clone, kernel/exit.c do_exit, include/linux/ptrace.h
 * ptrace_event): PTRACE_EVENT_FORK / VFORK / CLONE stops of the parent with the new id in
 * PTRACE_GETEVENTMSG, the new task auto-attached (a SIGSTOP signal-delivery stop, or
 * PTRACE_EVENT_STOP under PTRACE_SEIZE), PTRACE_EVENT_EXIT with the wait status as the message;
 * PTRACE_LISTEN (kernel/ptrace.c, ptrace_trap_notify): a listening tracee is not reported by wait
 * nor usable by ptrace (ESRCH) and traps again on SIGCONT; PTRACE_INTERRUPT's stop and siginfo. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef __WALL
#define __WALL 0x40000000
#endif

static void show(const char *what, pid_t who, int st) {
  printf("%s: %s stopped %d sig %d event %d exited %d (%d) signaled %d (%d)\n", what, who > 0 ? "ok" : "fail", WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0,
         WIFSTOPPED(st) ? st >> 16 : 0, WIFEXITED(st), WIFEXITED(st) ? WEXITSTATUS(st) : 0, WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
static void siginfo_of(const char *what, pid_t c) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  long r = ptrace(PTRACE_GETSIGINFO, c, 0, &si);
  if (r < 0) printf("  %s: GETSIGINFO errno %d\n", what, errno);
  else printf("  %s: GETSIGINFO signo %d code 0x%x pid-is-%s\n", what, si.si_signo, si.si_code, si.si_pid == c ? "self" : si.si_pid == 0 ? "0" : "other");
}
static unsigned long msg(pid_t c) { unsigned long m = 12345; ptrace(PTRACE_GETEVENTMSG, c, 0, &m); return m; }

/* Resume `c` and wait for its next stop, letting SIGCHLD stops (its own children's exits) pass. */
static pid_t next(pid_t c, int *st) {
  for (;;) {
    ptrace(PTRACE_CONT, c, 0, 0);
    pid_t w = waitpid(c, st, 0);
    if (w < 0 || !WIFSTOPPED(*st) || WSTOPSIG(*st) != SIGCHLD || (*st >> 16)) return w;
  }
}

static void *thread_fn(void *a) { (void)a; return 0; }

/* PTRACE_TRACEME with TRACEFORK | TRACEVFORK | TRACECLONE | TRACEEXIT. */
static void traceme_events(void) {
  pid_t c = fork();
  if (c == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    syscall(SYS_tkill, syscall(SYS_gettid), SIGSTOP);
    pid_t g = fork();
    if (g == 0) _exit(21);
    int st;
    waitpid(g, &st, 0);
    pid_t v = vfork();
    if (v == 0) _exit(22);
    waitpid(v, &st, 0);
    pthread_t th;
    pthread_create(&th, 0, thread_fn, 0);
    pthread_join(th, 0);
    _exit(9);
  }
  int st;
  pid_t w = waitpid(c, &st, 0);
  show("initial stop", w, st);
  printf("SETOPTIONS -> %ld\n", ptrace(PTRACE_SETOPTIONS, c, 0, (void *)(PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT)));
  w = next(c, &st);
  show("fork", w, st);
  pid_t g = (pid_t)msg(c);
  siginfo_of("fork", c);
  struct user_regs_struct r;
  ptrace(PTRACE_GETREGS, c, 0, &r);
  printf("  at the fork event: orig_rax %ld\n", (long)r.orig_rax);
  w = waitpid(g, &st, __WALL);
  show("new child", w, st);
  siginfo_of("new child", g);
  printf("  new child's eventmsg %lu\n", msg(g));
  ptrace(PTRACE_DETACH, g, 0, 0);
  w = next(c, &st);
  show("vfork", w, st);
  g = (pid_t)msg(c);
  w = waitpid(g, &st, __WALL);
  show("vfork child", w, st);
  ptrace(PTRACE_DETACH, g, 0, 0);
  w = next(c, &st);
  show("clone", w, st);
  pid_t t = (pid_t)msg(c);
  printf("  new thread is another task of the child: %s\n", t != c && t > 0 ? "yes" : "no");
  w = waitpid(t, &st, __WALL);
  show("new thread", w, st);
  ptrace(PTRACE_DETACH, t, 0, 0);
  w = next(c, &st);
  show("exit event", w, st);
  printf("  eventmsg 0x%lx\n", msg(c));
  siginfo_of("exit event", c);
  w = next(c, &st);
  show("exit", w, st);
}

/* PTRACE_SEIZE: a new child starts with PTRACE_EVENT_STOP; death by a signal gives the exit event. */
static void seized_events(void) {
  int p[2];
  pipe(p);
  pid_t c = fork();
  if (c == 0) {
    char b;
    read(p[0], &b, 1);
    pid_t g = fork();
    if (g == 0) _exit(3);
    int st;
    waitpid(g, &st, 0);
    kill(getpid(), SIGTERM);
    _exit(0);
  }
  printf("SEIZE -> %ld\n", ptrace(PTRACE_SEIZE, c, 0, (void *)(PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXIT)));
  write(p[1], "x", 1);
  int st;
  pid_t w = waitpid(c, &st, 0);
  show("seized fork", w, st);
  pid_t g = (pid_t)msg(c);
  w = waitpid(g, &st, __WALL);
  show("seized new child", w, st);
  siginfo_of("seized new child", g);
  ptrace(PTRACE_DETACH, g, 0, 0);
  w = next(c, &st);
  show("SIGTERM", w, st);
  ptrace(PTRACE_CONT, c, 0, (void *)SIGTERM);
  w = waitpid(c, &st, 0);
  show("exit event after SIGTERM", w, st);
  printf("  eventmsg 0x%lx\n", msg(c));
  ptrace(PTRACE_CONT, c, 0, 0);
  w = waitpid(c, &st, 0);
  show("end", w, st);
}

/* SIGKILL with PTRACE_O_TRACEEXIT. */
static void killed(void) {
  int p[2];
  pipe(p);
  pid_t c = fork();
  if (c == 0) {
    char b;
    read(p[0], &b, 1);
    _exit(0);
  }
  ptrace(PTRACE_SEIZE, c, 0, (void *)PTRACE_O_TRACEEXIT);
  kill(c, SIGKILL);
  int st;
  pid_t w = waitpid(c, &st, 0);
  show("SIGKILL with TRACEEXIT", w, st);
  if (WIFSTOPPED(st)) {
    printf("  eventmsg 0x%lx\n", msg(c));
    ptrace(PTRACE_CONT, c, 0, 0);
    w = waitpid(c, &st, 0);
    show("after the exit event", w, st);
  }
}

/* PTRACE_LISTEN and PTRACE_INTERRUPT on a seized tracee. */
static void listen(void) {
  int p[2];
  pipe(p);
  pid_t c = fork();
  if (c == 0) {
    char b;
    read(p[0], &b, 1);
    for (volatile long i = 0; i < 2000000; i++) {}
    _exit(4);
  }
  ptrace(PTRACE_SEIZE, c, 0, 0);
  long lr = ptrace(PTRACE_LISTEN, c, 0, 0);
  printf("LISTEN while running -> %ld errno %d\n", lr, errno);
  printf("INTERRUPT -> %ld\n", ptrace(PTRACE_INTERRUPT, c, 0, 0));
  int st;
  pid_t w = waitpid(c, &st, 0);
  show("interrupt stop", w, st);
  siginfo_of("interrupt stop", c);
  printf("  eventmsg %lu\n", msg(c));
  errno = 0;
  printf("LISTEN at the interrupt stop -> %ld\n", ptrace(PTRACE_LISTEN, c, 0, 0));
  struct user_regs_struct r;
  errno = 0;
  long g = ptrace(PTRACE_GETREGS, c, 0, &r);
  printf("GETREGS while listening -> %ld errno %d\n", g, errno);
  printf("wait while listening (WNOHANG) -> %d\n", waitpid(c, &st, WNOHANG));
  printf("INTERRUPT while listening -> %ld\n", ptrace(PTRACE_INTERRUPT, c, 0, 0));
  w = waitpid(c, &st, 0);
  show("re-trap after INTERRUPT", w, st);
  /* A stop no wait reported yet, then listening: wait does not report it. */
  ptrace(PTRACE_CONT, c, 0, 0);
  ptrace(PTRACE_INTERRUPT, c, 0, 0);
  while (ptrace(PTRACE_LISTEN, c, 0, 0) < 0) sched_yield();
  printf("LISTEN before any wait; wait (WNOHANG) -> %d\n", waitpid(c, &st, WNOHANG));
  ptrace(PTRACE_INTERRUPT, c, 0, 0);
  w = waitpid(c, &st, 0);
  show("re-trap after INTERRUPT", w, st);
  kill(c, SIGSTOP);
  ptrace(PTRACE_CONT, c, 0, 0);
  w = waitpid(c, &st, 0);
  show("SIGSTOP", w, st);
  ptrace(PTRACE_CONT, c, 0, (void *)SIGSTOP);
  w = waitpid(c, &st, 0);
  show("group stop", w, st);
  siginfo_of("group stop", c);
  printf("LISTEN at the group stop -> %ld\n", ptrace(PTRACE_LISTEN, c, 0, 0));
  printf("wait while listening (WNOHANG) -> %d\n", waitpid(c, &st, WNOHANG));
  kill(c, SIGCONT);
  w = waitpid(c, &st, 0);
  show("re-trap after SIGCONT", w, st);
  siginfo_of("re-trap after SIGCONT", c);
  ptrace(PTRACE_CONT, c, 0, 0);
  w = waitpid(c, &st, 0);
  show("SIGCONT delivery", w, st);
  write(p[1], "x", 1);
  ptrace(PTRACE_CONT, c, 0, 0);
  w = waitpid(c, &st, 0);
  show("end", w, st);
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  traceme_events();
  seized_events();
  killed();
  listen();
  return 0;
}
