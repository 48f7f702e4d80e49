/* poll, ppoll, select and pselect6 on pipes and a signalfd (fs/select.c, pipe_poll): readiness bits,
 * POLLNVAL, POLLHUP, POLLERR, timeouts (the time left written back), a writer that wakes a sleeping
 * poll, a signal ending the wait, ppoll's and pselect6's temporary signal mask, and the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long mono(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec * 1000000000LL + ts.tv_nsec; }
static const char *err(int r) {
  if (r >= 0) return "ok";
  switch (errno) { case EINVAL: return "EINVAL"; case EBADF: return "EBADF"; case EINTR: return "EINTR"; case EFAULT: return "EFAULT"; default: return "other"; }
}
static volatile int handled;
static void on_sig(int s) { (void)s; handled++; }

int main(void) {
  int p[2];
  pipe(p);
  struct pollfd f[4] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 }, { -1, POLLIN, 0 }, { 50, POLLIN, 0 } };
  int r = poll(f, 4, 0);
  printf("empty pipe: poll %d, read end %#x, write end %#x, fd -1 %#x, closed fd %#x\n", r, f[0].revents, f[1].revents, f[2].revents, f[3].revents);
  write(p[1], "x", 1);
  f[0].events = POLLIN | POLLRDNORM | POLLPRI;
  f[1].events = POLLOUT | POLLWRNORM | POLLIN;
  r = poll(f, 2, 0);
  printf("one byte: poll %d, read end %#x, write end %#x\n", r, f[0].revents, f[1].revents);
  char c;
  read(p[0], &c, 1);
  long long t0 = mono();
  r = poll(f, 1, 50);
  printf("empty, 50 ms timeout: poll %d after >= 50 ms %s\n", r, mono() - t0 >= 50000000 ? "yes" : "no");
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) { usleep(20000); write(p[1], "y", 1); _exit(0); }
  r = poll(f, 1, -1);
  printf("a child writes after 20 ms: poll %d, read end %#x\n", r, f[0].revents);
  waitpid(child, 0, 0);
  read(p[0], &c, 1);
  close(p[1]);
  f[0].events = POLLIN;
  r = poll(f, 1, -1);
  printf("writer closed: poll %d, read end %#x\n", r, f[0].revents);
  close(p[0]);

  pipe(p);
  close(p[0]);
  struct pollfd w = { p[1], POLLOUT, 0 };
  r = poll(&w, 1, 0);
  printf("reader closed: poll %d, write end %#x\n", r, w.revents);
  close(p[1]);
  pipe2(p, O_NONBLOCK);
  char buf[4096];
  memset(buf, 'z', sizeof buf);
  while (write(p[1], buf, sizeof buf) > 0) {}
  w.fd = p[1];
  r = poll(&w, 1, 0);
  printf("full pipe: poll %d, write end %#x\n", r, w.revents);

  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  r = syscall(SYS_poll, f, rl.rlim_cur + 1, 0);
  printf("nfds past RLIMIT_NOFILE: %s\n", err(r));
  printf("bad pollfd pointer: %s\n", err(syscall(SYS_poll, (void *)8, 1, 0)));

  /* A signal with a handler ends the wait: EINTR. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sig;
  sigaction(SIGALRM, &sa, 0);
  sigaction(SIGUSR1, &sa, 0);
  int q[2];
  pipe(q);
  struct itimerval it = { { 0, 0 }, { 0, 10000 } };
  setitimer(ITIMER_REAL, &it, 0);
  struct pollfd g = { q[0], POLLIN, 0 };
  r = poll(&g, 1, -1);
  printf("SIGALRM during poll: %s, handler ran %d\n", err(r), handled);

  /* ppoll: a blocked pending SIGUSR1 unblocked by its mask: EINTR at once; the old mask is back after. */
  sigset_t block, none, now;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, 0);
  raise(SIGUSR1);
  sigemptyset(&none);
  handled = 0;
  struct timespec ts = { 1, 0 };
  r = ppoll(&g, 1, &ts, &none);
  sigprocmask(SIG_BLOCK, 0, &now);
  printf("ppoll with SIGUSR1 pending and unblocked by its mask: %s, handler ran %d, SIGUSR1 blocked again %s\n", err(r), handled, sigismember(&now, SIGUSR1) ? "yes" : "no");
  ts.tv_sec = 0;
  ts.tv_nsec = 30000000;
  t0 = mono();
  r = syscall(SYS_ppoll, &g, 1, &ts, &block, 8);
  printf("ppoll 30 ms (raw: musl copies the timespec): %d after >= 30 ms %s, time left %ld.%09ld\n", r, mono() - t0 >= 30000000 ? "yes" : "no", (long)ts.tv_sec, ts.tv_nsec);
  ts.tv_nsec = 1000000000;
  printf("ppoll bad timespec: %s; sigset size 7: %s\n", err(ppoll(&g, 1, &ts, 0)), err(syscall(SYS_ppoll, &g, 1, 0, &none, 7)));

  /* select */
  write(q[1], "a", 1);
  fd_set rd, wr, ex;
  FD_ZERO(&rd); FD_ZERO(&wr); FD_ZERO(&ex);
  FD_SET(q[0], &rd); FD_SET(q[1], &rd); FD_SET(q[1], &wr); FD_SET(q[0], &ex);
  struct timeval tv = { 5, 0 };
  r = syscall(SYS_select, q[1] + 1, &rd, &wr, &ex, &tv);
  printf("select (raw): %d, read %d/%d, write %d, except %d, time left in (4 s, 5 s] %s\n", r, FD_ISSET(q[0], &rd), FD_ISSET(q[1], &rd), FD_ISSET(q[1], &wr), FD_ISSET(q[0], &ex),
         (tv.tv_sec == 4 && tv.tv_usec > 0) || (tv.tv_sec == 5 && tv.tv_usec == 0) ? "yes" : "no");
  read(q[0], &c, 1);
  FD_ZERO(&rd);
  FD_SET(q[0], &rd);
  tv.tv_sec = 0;
  tv.tv_usec = 20000;
  t0 = mono();
  r = syscall(SYS_select, q[0] + 1, &rd, 0, 0, &tv);
  printf("select 20 ms on an empty pipe: %d after >= 20 ms %s, set cleared %s, time left %ld.%06ld\n", r, mono() - t0 >= 20000000 ? "yes" : "no", FD_ISSET(q[0], &rd) ? "no" : "yes", (long)tv.tv_sec, (long)tv.tv_usec);
  FD_ZERO(&rd);
  FD_SET(60, &rd);
  tv.tv_usec = 0;
  printf("select of a closed descriptor: %s; n -1: %s; usec 1000000: ", err(select(61, &rd, 0, 0, &tv)), err(select(-1, 0, 0, 0, &tv)));
  tv.tv_usec = 1000000;
  FD_ZERO(&rd);
  printf("%s", err(syscall(SYS_select, 1, &rd, 0, 0, &tv)));
  tv.tv_usec = -1;
  printf("; usec -1: %s\n", err(syscall(SYS_select, 1, &rd, 0, 0, &tv)));
  FD_ZERO(&rd);
  FD_SET(q[0], &rd);
  write(q[1], "b", 1);
  printf("select with n beyond the table (1000): %d\n", select(1000, &rd, 0, 0, 0));
  struct { const sigset_t *p; size_t size; } arg = { &none, 7 };
  printf("pselect6 sigset size 7: %s\n", err(syscall(SYS_pselect6, q[0] + 1, &rd, 0, 0, 0, &arg)));
  read(q[0], &c, 1);
  raise(SIGUSR1);
  handled = 0;
  FD_ZERO(&rd);
  FD_SET(q[0], &rd);
  struct timespec pts = { 1, 0 };
  r = pselect(q[0] + 1, &rd, 0, 0, &pts, &none);
  sigprocmask(SIG_BLOCK, 0, &now);
  printf("pselect with SIGUSR1 unblocked by its mask: %s, handler ran %d, SIGUSR1 blocked again %s\n", err(r), handled, sigismember(&now, SIGUSR1) ? "yes" : "no");

  /* signalfd: readable while a signal of its set is pending. */
  sigset_t s2;
  sigemptyset(&s2);
  sigaddset(&s2, SIGUSR2);
  sigprocmask(SIG_BLOCK, &s2, 0);
  int sfd = signalfd(-1, &s2, 0);
  struct pollfd sp = { sfd, POLLIN, 0 };
  int before = poll(&sp, 1, 0);
  raise(SIGUSR2);
  r = poll(&sp, 1, 0);
  printf("signalfd: poll %d before the signal, %d after, revents %#x\n", before, r, sp.revents);
  return 0;
}
