/* rt_sigqueueinfo / rt_tgsigqueueinfo (kernel/signal.c do_rt_sigqueueinfo, do_rt_tgsigqueueinfo):
 * the siginfo as given (si_signo from the call), EPERM for si_code >= 0 or SI_TKILL sent to
 * another task, ESRCH / EINVAL; real-time signals queue every instance and are taken lowest
 * number first (next_signal), standard ones once. signalfd / signalfd4 (fs/signalfd.c): flags and
 * size checks, struct signalfd_siginfo (128 bytes, signalfd_copyinfo by siginfo layout), several
 * per read, EAGAIN when non-blocking, EINVAL for a short buffer, a blocking read woken by a signal
 * another process sends, the mask updated through the same descriptor. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long sq(pid_t pid, int sig, int code, int val) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = 999;
  si.si_code = code;
  si.si_pid = 4321;
  si.si_uid = 77;
  si.si_value.sival_int = val;
  errno = 0;
  return syscall(SYS_rt_sigqueueinfo, pid, sig, &si);
}
static long tsq(pid_t tgid, pid_t tid, int sig, int code, int val) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_code = code;
  si.si_value.sival_int = val;
  errno = 0;
  return syscall(SYS_rt_tgsigqueueinfo, tgid, tid, sig, &si);
}
static void show(const char *what, long r) { printf("%-44s -> %ld errno %d\n", what, r, r < 0 ? errno : 0); }

static void show_ssi(const struct signalfd_siginfo *s) {
  printf("  ssi signo %u errno %d code %d pid %s uid %u fd %d tid %u band %u overrun %u trapno %u status %d int %d ptr %llx utime %llu stime %llu addr %llx\n",
         s->ssi_signo, s->ssi_errno, s->ssi_code, s->ssi_pid == (unsigned)getpid() ? "self" : s->ssi_pid == 4321 ? "4321" : s->ssi_pid == 0 ? "0" : "child",
         s->ssi_uid, s->ssi_fd, s->ssi_tid, s->ssi_band, s->ssi_overrun, s->ssi_trapno, s->ssi_status, s->ssi_int, (unsigned long long)s->ssi_ptr,
         (unsigned long long)s->ssi_utime, (unsigned long long)s->ssi_stime, (unsigned long long)s->ssi_addr);
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  printf("sizeof(struct signalfd_siginfo) %zu\n", sizeof(struct signalfd_siginfo));
  sigset_t all;
  sigemptyset(&all);
  for (int s = 1; s <= 64; s++) if (s != SIGKILL && s != SIGSTOP && s != 32 && s != 33 && s != 34) sigaddset(&all, s);
  sigprocmask(SIG_BLOCK, &all, 0);
  pid_t me = getpid();

  show("sigqueueinfo self SI_QUEUE SIGRTMIN+1", sq(me, SIGRTMIN + 1, SI_QUEUE, 11));
  show("sigqueueinfo self SI_QUEUE SIGRTMIN+1 again", sq(me, SIGRTMIN + 1, SI_QUEUE, 12));
  show("sigqueueinfo self SI_USER SIGRTMIN", sq(me, SIGRTMIN, SI_USER, 13));
  show("sigqueueinfo self SIGUSR2 twice (1)", sq(me, SIGUSR2, SI_QUEUE, 14));
  show("sigqueueinfo self SIGUSR2 twice (2)", sq(me, SIGUSR2, SI_QUEUE, 15));
  show("sigqueueinfo self SIGUSR1", sq(me, SIGUSR1, -10, 16));
  show("sigqueueinfo bad signal 65", sq(me, 65, SI_QUEUE, 0));
  show("sigqueueinfo signal 0", sq(me, 0, SI_QUEUE, 0));
  show("sigqueueinfo no such pid, SI_QUEUE", sq(99999, SIGUSR1, SI_QUEUE, 0));
  show("sigqueueinfo no such pid, SI_USER", sq(99999, SIGUSR1, SI_USER, 0));
  show("tgsigqueueinfo self SI_QUEUE SIGRTMIN+2", tsq(me, me, SIGRTMIN + 2, SI_QUEUE, 17));
  show("tgsigqueueinfo tid 0", tsq(me, 0, SIGUSR1, SI_QUEUE, 0));
  show("tgsigqueueinfo tgid -1", tsq(-1, me, SIGUSR1, SI_QUEUE, 0));
  show("tgsigqueueinfo wrong tgid", tsq(me + 5000, me, SIGUSR1, SI_QUEUE, 0));
  sigset_t pend;
  sigpending(&pend);
  printf("pending:");
  for (int s = 1; s <= 64; s++) if (sigismember(&pend, s)) printf(" %d", s);
  printf("\n");

  /* signalfd */
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  sigaddset(&m, SIGUSR2);
  sigaddset(&m, SIGRTMIN + 1);
  sigaddset(&m, SIGRTMIN);
  sigaddset(&m, SIGRTMIN + 2);
  sigaddset(&m, SIGCHLD);
  sigaddset(&m, SIGKILL);
  show("signalfd4 bad size 4", syscall(SYS_signalfd4, -1, &m, 4, 0));
  show("signalfd4 bad flags", syscall(SYS_signalfd4, -1, &m, 8, 1));
  show("signalfd4 on stdout", syscall(SYS_signalfd4, 1, &m, 8, 0));
  show("signalfd4 on fd 99", syscall(SYS_signalfd4, 99, &m, 8, 0));
  int fd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
  printf("signalfd -> fd %s, FD_CLOEXEC %d, O_NONBLOCK %d\n", fd > 2 ? "ok" : "fail", fcntl(fd, F_GETFD) & FD_CLOEXEC, (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  struct signalfd_siginfo b[8];
  show("read 100 bytes", read(fd, b, 100));
  long n = read(fd, b, 3 * sizeof b[0]);
  printf("read 3 -> %ld bytes\n", n);
  for (int i = 0; i < n / (long)sizeof b[0]; i++) show_ssi(&b[i]);
  n = read(fd, b, sizeof b);
  printf("read 8 -> %ld bytes\n", n);
  for (int i = 0; i < n / (long)sizeof b[0]; i++) show_ssi(&b[i]);
  show("read, nothing pending", read(fd, b, sizeof b));

  /* A blocking read woken by a child's kill; SIGCHLD follows. */
  int fd2 = signalfd(-1, &m, 0);
  pid_t c = fork();
  if (c == 0) {
    struct timespec ts = { 0, 20 * 1000000L };
    nanosleep(&ts, 0);
    kill(getppid(), SIGUSR1);
    _exit(6);
  }
  n = read(fd2, b, sizeof b[0]);
  printf("blocking read -> %ld bytes\n", n);
  show_ssi(&b[0]);
  int st;
  waitpid(c, &st, 0);
  n = read(fd2, b, sizeof b[0]);
  printf("SIGCHLD read -> %ld bytes\n", n);
  b[0].ssi_utime = b[0].ssi_stime = 0; /* the child's CPU time: not compared */
  if (n > 0) show_ssi(&b[0]);

  /* The mask changes through the same descriptor. */
  sigemptyset(&m);
  sigaddset(&m, SIGTERM);
  show("signalfd(fd, {SIGTERM}) == fd", signalfd(fd, &m, 0) == fd);
  raise(SIGUSR1);
  raise(SIGTERM);
  n = read(fd, b, sizeof b);
  printf("read after the mask change -> %ld bytes, signo %u code %d\n", n, b[0].ssi_signo, b[0].ssi_code);
  sigpending(&pend);
  printf("SIGUSR1 still pending: %d\n", sigismember(&pend, SIGUSR1));
  struct sigaction sa = { .sa_handler = SIG_IGN };
  sigaction(SIGUSR1, &sa, 0);
  sigprocmask(SIG_UNBLOCK, &all, 0);
  printf("done\n");
  return 0;
}
