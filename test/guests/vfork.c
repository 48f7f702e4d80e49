/* vfork (kernel/fork.c CLONE_VM | CLONE_VFORK): the child runs in the parent's address space (its
 * writes are the parent's) while the parent sleeps until the child execs or exits
 * (complete_vfork_done); a signal sent to the sleeping parent waits; a tracer sees
 * PTRACE_EVENT_VFORK (message: the child's pid), the child's first stop, then
 * PTRACE_EVENT_VFORK_DONE once the child is gone (PTRACE_O_TRACEVFORKDONE). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int shared_word = 1;
static volatile int got_usr1;
static void on_usr1(int s) { (void)s; got_usr1++; }

static pid_t raw_vfork(void) {
  /* vfork through the raw system call: the child returns on the parent's stack, so nothing after it may return from here. */
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(SYS_vfork) : "rcx", "r11", "memory");
  return r;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "exec-child")) return 7;
  /* 1: the child's store is the parent's; the parent runs only after the child's _exit. */
  pid_t c = vfork();
  if (c == 0) { shared_word = 42; _exit(3); }
  int st;
  waitpid(c, &st, 0);
  printf("after vfork child exit: shared_word %d, child exited %d\n", shared_word, WEXITSTATUS(st));
  /* 2: vfork + exec: the parent resumes at the exec. */
  shared_word = 0;
  c = vfork();
  if (c == 0) { shared_word = 5; char *av[] = { argv[0], "exec-child", 0 }; execv(argv[0], av); _exit(127); }
  printf("after vfork+exec: shared_word %d\n", shared_word);
  waitpid(c, &st, 0);
  printf("exec'd child exited %d\n", WEXITSTATUS(st));
  /* 3: a signal for the sleeping parent waits until the child is done. */
  signal(SIGUSR1, on_usr1);
  pid_t parent = getpid();
  c = vfork();
  if (c == 0) {
    kill(parent, SIGUSR1);
    for (volatile int i = 0; i < 100000; i++) {}
    shared_word = got_usr1; /* the parent has not run its handler yet */
    _exit(0);
  }
  printf("signal during vfork: handler ran in the parent before the child finished: %s, after: %d\n", shared_word ? "yes" : "no", got_usr1);
  waitpid(c, &st, 0);
  /* 4: traced, PTRACE_O_TRACEVFORKDONE alone: the child is not traced; the parent stops once it is done. */
  for (int run = 0; run < 2; run++) {
    fflush(stdout);
    pid_t tr = fork();
    if (tr == 0) {
      ptrace(PTRACE_TRACEME, 0, 0, 0);
      raise(SIGSTOP);
      pid_t k = raw_vfork();
      if (k == 0) { syscall(SYS_exit, 9); }
      int s2;
      waitpid(k, &s2, 0);
      printf("tracee: vfork returned the child: %s, child exited %d\n", k > 0 ? "yes" : "no", WEXITSTATUS(s2));
      fflush(stdout);
      _exit(0);
    }
    waitpid(tr, &st, 0);
    long opts = run ? PTRACE_O_TRACEVFORK | PTRACE_O_TRACEVFORKDONE : PTRACE_O_TRACEVFORKDONE;
    printf("run %d: SETOPTIONS %#lx -> %ld\n", run, opts, ptrace(PTRACE_SETOPTIONS, tr, 0, (void *)opts));
    ptrace(PTRACE_CONT, tr, 0, 0);
    unsigned long msg = 0, grand = 0;
    if (run) {
      /* PTRACE_EVENT_VFORK, then the new child's first stop; the child is let go (PTRACE_DETACH). */
      waitpid(tr, &st, 0);
      ptrace(PTRACE_GETEVENTMSG, tr, 0, &grand);
      printf("  tracee stopped sig %d event %d\n", WSTOPSIG(st), st >> 16);
      pid_t w = waitpid(grand, &st, __WALL);
      printf("  vfork child (the event's pid: %s) stopped sig %d event %d\n", w == (pid_t)grand ? "yes" : "no", WSTOPSIG(st), st >> 16);
      printf("  detach it -> %ld\n", ptrace(PTRACE_DETACH, grand, 0, 0));
      fflush(stdout);
      ptrace(PTRACE_CONT, tr, 0, 0);
    }
    for (int n = 0; n < 4; n++) {
      waitpid(tr, &st, 0);
      if (WIFEXITED(st)) { printf("  tracee exited %d\n", WEXITSTATUS(st)); break; }
      ptrace(PTRACE_GETEVENTMSG, tr, 0, &msg);
      printf("  tracee stopped sig %d event %d msg %s\n", WSTOPSIG(st), st >> 16, !msg ? "0" : !grand || msg == grand ? "the child" : "other");
      fflush(stdout);
      ptrace(PTRACE_CONT, tr, 0, 0);
    }
  }
  return 0;
}
