/* timerfd (fs/timerfd.c) on the virtual clock: the create and settime errors, one-shot and
 * periodic timers read blocking and non-blocking, absolute times in the past, the old value
 * settime returns, the missed periods a read counts, and a periodic timer under edge-triggered
 * epoll (one wakeup until it is read: the timer is moved forward only then). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static const char *err(long r) {
  if (r >= 0) return "ok";
  switch (errno) {
    case EINVAL: return "EINVAL"; case EBADF: return "EBADF"; case EFAULT: return "EFAULT"; case EAGAIN: return "EAGAIN"; default: return "other";
  }
}
static long long mono(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec * 1000000000LL + ts.tv_nsec; }
static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static struct itimerspec spec(long long value_ns, long long interval_ns) {
  struct itimerspec s = { { interval_ns / 1000000000, interval_ns % 1000000000 }, { value_ns / 1000000000, value_ns % 1000000000 } };
  return s;
}

int main(void) {
  setvbuf(stdout, 0, _IONBF, 0);
  printf("create: clock 99 %s", err(timerfd_create(99, 0)));
  printf(", flags 0x10 %s", err(timerfd_create(CLOCK_MONOTONIC, 0x10)));
  printf(", CLOCK_PROCESS_CPUTIME_ID %s\n", err(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0)));
  int nb = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec cur;
  timerfd_gettime(nb, &cur);
  printf("fresh: F_GETFL %#x FD_CLOEXEC %d, gettime %lld %lld", fcntl(nb, F_GETFL), fcntl(nb, F_GETFD) & FD_CLOEXEC, ns(cur.it_value), ns(cur.it_interval));
  uint64_t ticks = 0;
  printf(", read %s", err(read(nb, &ticks, 8)));
  printf(", read 4 bytes %s\n", err(read(nb, &ticks, 4)));
  struct itimerspec s = spec(200000000, 0), bad = { { 0, 0 }, { 0, 1000000000 } };
  printf("settime: flags 4 %s", err(timerfd_settime(nb, 4, &s, 0)));
  printf(", nsec 1e9 %s", err(timerfd_settime(nb, 0, &bad, 0)));
  printf(", NULL %s", err(syscall(SYS_timerfd_settime, nb, 0, 0, 0)));
  printf(", NULL with flags 4 %s", err(syscall(SYS_timerfd_settime, nb, 4, 0, 0)));
  int p[2];
  pipe(p);
  printf(", on a pipe %s", err(timerfd_settime(p[0], 0, &s, 0)));
  printf(", fd 99 %s", err(timerfd_settime(99, 0, &s, 0)));
  printf(", gettime on a pipe %s\n", err(timerfd_gettime(p[0], &cur)));

  /* One-shot, relative, read blocking. */
  int t = timerfd_create(CLOCK_MONOTONIC, 0);
  long long t0 = mono();
  timerfd_settime(t, 0, &s, 0);
  timerfd_gettime(t, &cur);
  /* 200 ms: long enough that a loaded host reaches gettime and poll before it fires. */
  printf("one-shot 200 ms: left in (0, 200 ms] %s", ns(cur.it_value) > 0 && ns(cur.it_value) <= 200000000 ? "yes" : "no");
  struct pollfd pf = { t, POLLIN, 0 };
  printf(", poll now %d", poll(&pf, 1, 0));
  long r = read(t, &ticks, 8);
  printf(", read %ld ticks %llu after >= 200 ms %s", r, (unsigned long long)ticks, mono() - t0 >= 200000000 ? "yes" : "no");
  timerfd_gettime(t, &cur);
  printf(", then gettime %lld %lld\n", ns(cur.it_value), ns(cur.it_interval));

  /* Absolute, in the past (1 ms before now): due at once. */
  s = spec(mono() - 1000000, 0);
  timerfd_settime(t, TFD_TIMER_ABSTIME, &s, 0);
  printf("absolute, 1 ms ago: poll %d", poll(&pf, 1, 0));
  r = read(t, &ticks, 8);
  printf(", read %ld ticks %llu\n", r, (unsigned long long)ticks);
  struct itimerspec rt = spec(0, 0);
  clock_gettime(CLOCK_REALTIME, &rt.it_value);
  rt.it_value.tv_sec += 3600;
  printf("CLOCK_REALTIME absolute with CANCEL_ON_SET: %s\n", err(timerfd_settime(timerfd_create(CLOCK_REALTIME, 0), TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &rt, 0)));

  /* Periodic: missed periods are counted by a read. */
  s = spec(5000000, 5000000);
  timerfd_settime(t, 0, &s, 0);
  usleep(23000);
  read(t, &ticks, 8);
  /* Only a lower bound: a loaded host may sleep longer than asked (more ticks), never shorter. */
  printf("period 5 ms, read after 23 ms: at least 4 ticks %s", ticks >= 4 ? "yes" : "no");
  timerfd_gettime(t, &cur);
  printf("; gettime interval %lld, left in (0, 5 ms] %s\n", ns(cur.it_interval), ns(cur.it_value) > 0 && ns(cur.it_value) <= 5000000 ? "yes" : "no");
  struct itimerspec old, off = spec(0, 0);
  timerfd_settime(t, 0, &off, &old);
  printf("disarm: old interval %lld, old left in (0, 5 ms] %s", ns(old.it_interval), ns(old.it_value) > 0 && ns(old.it_value) <= 5000000 ? "yes" : "no");
  pf.revents = 0;
  printf(", poll %d\n", poll(&pf, 1, 0));

  /* Edge-triggered epoll on a periodic timer: one event until it is read. */
  int ep = epoll_create1(0);
  struct epoll_event e = { .events = EPOLLIN | EPOLLET, .data.u64 = 7 }, ev[2];
  epoll_ctl(ep, EPOLL_CTL_ADD, t, &e);
  s = spec(2000000, 2000000);
  timerfd_settime(t, 0, &s, 0);
  int n = epoll_wait(ep, ev, 2, -1);
  printf("epoll, edge, period 2 ms: first wait %d data %llu", n, n > 0 ? (unsigned long long)ev[0].data.u64 : 0ULL);
  n = epoll_wait(ep, ev, 2, 20);
  printf("; 20 ms more, not read: %d", n);
  read(t, &ticks, 8);
  printf("; read at least 10 ticks %s", ticks >= 10 ? "yes" : "no");
  n = epoll_wait(ep, ev, 2, -1);
  printf("; next wait %d\n", n);
  close(t);
  printf("closed: wait %d\n", epoll_wait(ep, ev, 2, 10));

  char link[64] = {0}, path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", nb);
  readlink(path, link, sizeof link - 1);
  printf("%s\n", link);
  return 0;
}
