/* Job control and interrupted system calls: SIGSTOP/SIGCONT group stop of a child (one thread and
 * two), waitpid with WUNTRACED and WCONTINUED, waitid with WSTOPPED/WCONTINUED/WNOWAIT, the
 * parent's SIGCHLD (CLD_STOPPED, CLD_CONTINUED, CLD_KILLED; none under SA_NOCLDSTOP), a SIGTERM
 * held while stopped, kill() of a thread id, a read and a nanosleep restarted across a stop,
 * SA_RESTART or -EINTR after a handler, nanosleep's remaining time, rt_sigsuspend's mask and
 * rt_sigtimedwait. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Wait until `pid` sleeps in the kernel. Natively /proc/PID/stat says so (state S); where there is
 * no /proc (the sandbox) a nap lets the other process reach its sleep. Only the timing differs. */
static void until_sleeping(pid_t pid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  for (int i = 0; i < 5000; i++) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { nap(50); return; }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
      buf[n] = 0;
      char *p = strrchr(buf, ')');
      if (p && p[1] == ' ' && (p[2] == 'S' || p[2] == 'T')) return;
    }
    nap(1);
  }
}

/* The next SIGCHLD (SIGCHLD is blocked in the parent), as the kernel filled its siginfo. */
static void expect_sigchld(const char *what, pid_t child) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGCHLD);
  siginfo_t si;
  int sig = sigwaitinfo(&s, &si);
  printf("%s: SIGCHLD %d code %d status %d from child %d\n", what, sig == SIGCHLD, si.si_code, si.si_status, si.si_pid == child);
}

static void show_status(const char *what, pid_t r, pid_t child, int st) {
  printf("%s: pid ok %d stopped %d (sig %d) continued %d exited %d signaled %d (sig %d) raw 0x%x\n", what, r == child,
         WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0, WIFCONTINUED(st), WIFEXITED(st), WIFSIGNALED(st),
         WIFSIGNALED(st) ? WTERMSIG(st) : 0, st);
}

static void stop_and_continue(void) {
  pid_t c = fork();
  if (c == 0) { for (;;) pause(); }
  int st = 0;
  kill(c, SIGSTOP);
  pid_t r = waitpid(c, &st, WUNTRACED);
  show_status("stop", r, c, st);
  expect_sigchld("stop", c);
  r = waitpid(c, &st, WUNTRACED | WNOHANG);
  printf("stop reported once: waitpid again = %d\n", r);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int w = waitid(P_PID, c, &si, WSTOPPED | WNOHANG);
  printf("waitid WSTOPPED after the report: %d pid %d\n", w, si.si_pid == c);
  kill(c, SIGCONT);
  memset(&si, 0, sizeof si);
  w = waitid(P_PID, c, &si, WCONTINUED | WNOWAIT);
  printf("waitid WCONTINUED|WNOWAIT: %d code %d status %d\n", w, si.si_code, si.si_status);
  r = waitpid(c, &st, WCONTINUED);
  show_status("continue", r, c, st);
  r = waitpid(c, &st, WCONTINUED | WNOHANG);
  printf("continue reported once: waitpid again = %d\n", r);
  expect_sigchld("continue", c);
  kill(c, SIGSTOP);
  memset(&si, 0, sizeof si);
  w = waitid(P_PID, c, &si, WSTOPPED);
  printf("waitid WSTOPPED: %d code %d status %d pid %d\n", w, si.si_code, si.si_status, si.si_pid == c);
  expect_sigchld("stop again", c);
  kill(c, SIGTERM); /* held: a stopped process does not act on it until continued */
  r = waitpid(c, &st, WNOHANG);
  printf("SIGTERM while stopped: waitpid = %d\n", r);
  kill(c, SIGCONT);
  r = waitpid(c, &st, 0);
  show_status("SIGTERM after SIGCONT", r, c, st);
  /* The continue and the death: one SIGCHLD or two, as they coalesce; drain them. */
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGCHLD);
  struct timespec zero = { 0, 0 };
  while (sigtimedwait(&s, &si, &zero) == SIGCHLD) {}
}

static void nocldstop(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, 0);
  pid_t c = fork();
  if (c == 0) { for (;;) pause(); }
  int st;
  kill(c, SIGSTOP);
  waitpid(c, &st, WUNTRACED);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGCHLD);
  siginfo_t si;
  struct timespec zero = { 0, 0 };
  int r = sigtimedwait(&s, &si, &zero);
  printf("SA_NOCLDSTOP: no SIGCHLD for the stop: %d errno %s\n", r, r < 0 && errno == EAGAIN ? "EAGAIN" : "?");
  kill(c, SIGKILL);
  waitpid(c, &st, 0);
  show_status("SIGKILL of a stopped child", c, c, st);
  r = sigtimedwait(&s, &si, &zero);
  printf("its death still gives SIGCHLD: %d code %d status %d\n", r, si.si_code, si.si_status);
  sa.sa_flags = 0;
  sigaction(SIGCHLD, &sa, 0);
}

static int tpipe[2];
static volatile pid_t reader_tid;
static void *reader_thread(void *arg) {
  (void)arg;
  reader_tid = (pid_t)syscall(SYS_gettid);
  char b;
  ssize_t n = read(tpipe[0], &b, 1);
  printf("thread: read %zd '%c' (restarted after the group stop)\n", n, n == 1 ? b : '?');
  fflush(stdout);
  return 0;
}

static void two_threads(void) {
  int ready[2];
  pipe(tpipe);
  pipe(ready);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    pthread_t th;
    pthread_create(&th, 0, reader_thread, 0);
    while (reader_tid == 0) sched_yield();
    /* kill() of a thread id reaches its thread group (find_vpid takes any task's id). */
    printf("kill(thread id, 0) = %d, thread id is not the pid %d\n", kill(reader_tid, 0), reader_tid != getpid());
    fflush(stdout);
    write(ready[1], "r", 1);
    pthread_join(th, 0);
    _exit(7);
  }
  char b;
  read(ready[0], &b, 1);
  until_sleeping(c);
  int st;
  kill(c, SIGSTOP);
  pid_t r = waitpid(c, &st, WUNTRACED);
  show_status("two threads stop", r, c, st);
  expect_sigchld("two threads stop", c);
  kill(c, SIGCONT);
  r = waitpid(c, &st, WCONTINUED);
  show_status("two threads continue", r, c, st);
  expect_sigchld("two threads continue", c);
  write(tpipe[1], "x", 1);
  r = waitpid(c, &st, 0);
  show_status("two threads exit", r, c, st);
  expect_sigchld("two threads exit", c);
  close(tpipe[0]); close(tpipe[1]); close(ready[0]); close(ready[1]);
}

static volatile int got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1++; }

/* A child blocked in read(2) gets SIGUSR1: with SA_RESTART the read goes on and returns the byte
 * written later; without it, -1 EINTR. */
static void restart_read(int flags) {
  int p[2], ready[2];
  pipe(p);
  pipe(ready);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = flags;
    sigaction(SIGUSR1, &sa, 0);
    write(ready[1], "r", 1);
    char b = 0;
    ssize_t n = read(p[0], &b, 1);
    printf("read with%s SA_RESTART: %zd (%s) handler ran %d\n", flags ? "" : "out", n, n < 0 ? strerror(errno) : "data", got_usr1);
    fflush(stdout);
    _exit(0);
  }
  char b;
  read(ready[0], &b, 1);
  until_sleeping(c);
  kill(c, SIGUSR1);
  nap(20);
  write(p[1], "x", 1);
  int st;
  waitpid(c, &st, 0);
  expect_sigchld("restart_read", c);
  close(p[0]); close(p[1]); close(ready[0]); close(ready[1]);
}

/* nanosleep across a stop and a continue completes (restart_syscall); a handler interrupts it
 * with EINTR and the time left. */
static void sleeps(void) {
  int ready[2];
  pipe(ready);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, 0);
    write(ready[1], "r", 1);
    struct timespec req = { 0, 300 * 1000000L }, rem = { 0, 0 };
    int r = nanosleep(&req, &rem);
    printf("nanosleep across stop/continue: %d\n", r);
    write(ready[1], "s", 1);
    req.tv_sec = 5; req.tv_nsec = 0;
    r = nanosleep(&req, &rem);
    printf("nanosleep with a handler: %d %s, time left in (0, 5s): %d\n", r, r ? strerror(errno) : "", (rem.tv_sec > 0 || rem.tv_nsec > 0) && rem.tv_sec < 5);
    fflush(stdout);
    _exit(0);
  }
  char b;
  read(ready[0], &b, 1);
  until_sleeping(c);
  int st;
  kill(c, SIGSTOP);
  waitpid(c, &st, WUNTRACED);
  expect_sigchld("sleep stop", c);
  kill(c, SIGCONT);
  waitpid(c, &st, WCONTINUED);
  expect_sigchld("sleep continue", c);
  read(ready[0], &b, 1);
  until_sleeping(c);
  kill(c, SIGUSR1);
  waitpid(c, &st, 0);
  show_status("sleeper", c, c, st);
  expect_sigchld("sleeper exit", c);
  close(ready[0]); close(ready[1]);
}

static volatile int usr2_blocked_in_handler = -1, usr1_blocked_in_handler = -1;
static void on_usr1_mask(int sig) {
  (void)sig;
  sigset_t cur;
  sigprocmask(SIG_BLOCK, 0, &cur);
  usr1_blocked_in_handler = sigismember(&cur, SIGUSR1);
  usr2_blocked_in_handler = sigismember(&cur, SIGUSR2);
}

static void suspend_and_timedwait(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1_mask;
  sigaction(SIGUSR1, &sa, 0);
  sigset_t both, empty, cur;
  sigemptyset(&both);
  sigaddset(&both, SIGUSR1);
  sigaddset(&both, SIGUSR2);
  sigaddset(&both, SIGCHLD);
  sigprocmask(SIG_BLOCK, &both, 0);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) { nap(20); kill(getppid(), SIGUSR1); _exit(0); }
  sigemptyset(&empty);
  sigaddset(&empty, SIGCHLD);
  int r = sigsuspend(&empty);
  sigprocmask(SIG_BLOCK, 0, &cur);
  printf("sigsuspend: %d %s; in the handler SIGUSR1 blocked %d SIGUSR2 blocked %d; after: SIGUSR1 blocked %d SIGUSR2 blocked %d\n",
         r, strerror(errno), usr1_blocked_in_handler, usr2_blocked_in_handler, sigismember(&cur, SIGUSR1), sigismember(&cur, SIGUSR2));
  int st;
  waitpid(c, &st, 0);
  expect_sigchld("sigsuspend child", c);

  siginfo_t si;
  struct timespec zero = { 0, 0 }, short_wait = { 0, 10 * 1000000L };
  sigset_t u2;
  sigemptyset(&u2);
  sigaddset(&u2, SIGUSR2);
  r = sigtimedwait(&u2, &si, &zero);
  printf("sigtimedwait, nothing pending, zero timeout: %d %s\n", r, r < 0 && errno == EAGAIN ? "EAGAIN" : "?");
  r = sigtimedwait(&u2, &si, &short_wait);
  printf("sigtimedwait, 10 ms: %d %s\n", r, r < 0 && errno == EAGAIN ? "EAGAIN" : "?");
  kill(getpid(), SIGUSR2);
  r = sigtimedwait(&u2, &si, &zero);
  printf("sigtimedwait, SIGUSR2 pending: %d code %d from me %d\n", r, si.si_code, si.si_pid == getpid());
  struct timespec bad = { 0, 1000000000L };
  r = sigtimedwait(&u2, &si, &bad);
  printf("sigtimedwait, tv_nsec 1e9: %d %s\n", r, r < 0 && errno == EINVAL ? "EINVAL" : "?");
  sigprocmask(SIG_UNBLOCK, &both, 0);
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGCHLD);
  sigprocmask(SIG_BLOCK, &s, 0);
  stop_and_continue();
  nocldstop();
  two_threads();
  restart_read(SA_RESTART);
  restart_read(0);
  sleeps();
  sigprocmask(SIG_UNBLOCK, &s, 0);
  suspend_and_timedwait();
  puts("done");
  return 0;
}
