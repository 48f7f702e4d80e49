/* POSIX timers (kernel/time/posix-timers.c, 6.18): timer_create (the default sigevent, SIGEV_SIGNAL,
 * SIGEV_THREAD_ID, SIGEV_NONE; good_sigevent's checks; clocks without timers), timer_settime
 * (relative, TIMER_ABSTIME, disarm, the old value, bad times), timer_gettime (common_timer_get:
 * an interval timer's next expiry, a pending one-shot's 1 ns, SIGEV_NONE's 0 once expired),
 * timer_getoverrun and si_overrun of a periodic timer whose signal waited, si_code SI_TIMER,
 * si_timerid, si_value, a re-armed timer's stale signal dropped, timer_delete. Times are printed
 * as relations only: the real clock runs while the program does. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000L
static long tc(clockid_t clk, struct sigevent *ev, int *id) { errno = 0; long r = syscall(SYS_timer_create, clk, ev, id); return r < 0 ? -errno : r; }
static long ts(int id, int flags, long vs, long vns, long is, long ins, struct itimerspec *old) {
  struct itimerspec n = { { is, ins }, { vs, vns } };
  errno = 0;
  long r = syscall(SYS_timer_settime, id, flags, &n, old);
  return r < 0 ? -errno : r;
}
static void nap(long ns) { struct timespec t = { ns / 1000000000L, ns % 1000000000L }; while (nanosleep(&t, &t) < 0) {} }
static void wait_for(int sig, const char *what, int id, int tid_target) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = sigwaitinfo(&s, &si);
  printf("%s: sig %d code %d timerid-is-id %s overrun>0 %s value 0x%x\n", what, r, si.si_code, si.si_timerid == id ? "yes" : "no",
         si.si_overrun > 0 ? "yes" : "no", si.si_value.sival_int);
  if (tid_target) printf("  getoverrun == si_overrun: %s\n", syscall(SYS_timer_getoverrun, id) == si.si_overrun ? "yes" : "no");
}
static void gettime(const char *what, int id, long limit_ns) {
  struct itimerspec cur;
  memset(&cur, 0xff, sizeof cur);
  long r = syscall(SYS_timer_gettime, id, &cur);
  long v = cur.it_value.tv_sec * 1000000000L + cur.it_value.tv_nsec;
  printf("%s: gettime %ld interval %ld.%09ld value %s\n", what, r, (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec,
         v == 0 ? "0" : v == 1 ? "1 ns" : v > 0 && v <= limit_ns ? "in (0, limit]" : "out of range");
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGALRM);
  sigaddset(&block, SIGRTMIN);
  sigaddset(&block, SIGUSR1);
  sigprocmask(SIG_BLOCK, &block, 0);

  int t0 = -1, t1 = -1, t2 = -1, t3 = -1, tx = -1;
  { long r_ = tc(CLOCK_MONOTONIC, 0, &t0); printf("create default -> %ld id %d\n", r_, t0); }
  struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN, .sigev_value.sival_int = 0x55 };
  { long r_ = tc(CLOCK_REALTIME, &ev, &t1); printf("create SIGEV_SIGNAL SIGRTMIN -> %ld id %d\n", r_, t1); }
  struct sigevent evt = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1, .sigev_value.sival_int = 0x66 };
  evt.sigev_notify_thread_id = gettid();
  { long r_ = tc(CLOCK_BOOTTIME, &evt, &t2); printf("create SIGEV_THREAD_ID -> %ld id %d\n", r_, t2); }
  struct sigevent evn = { .sigev_notify = SIGEV_NONE };
  { long r_ = tc(CLOCK_MONOTONIC, &evn, &t3); printf("create SIGEV_NONE -> %ld id %d\n", r_, t3); }
  struct sigevent bad = ev;
  bad.sigev_notify = 99;
  printf("create notify 99 -> %ld\n", tc(CLOCK_MONOTONIC, &bad, &tx));
  bad = ev; bad.sigev_signo = 0;
  printf("create signo 0 -> %ld\n", tc(CLOCK_MONOTONIC, &bad, &tx));
  bad = ev; bad.sigev_signo = 65;
  printf("create signo 65 -> %ld\n", tc(CLOCK_MONOTONIC, &bad, &tx));
  bad = evt; bad.sigev_notify_thread_id = 99999;
  printf("create THREAD_ID of no thread -> %ld\n", tc(CLOCK_MONOTONIC, &bad, &tx));
  printf("create clock 99 -> %ld\n", tc(99, &ev, &tx));
  printf("create CLOCK_MONOTONIC_RAW -> %ld\n", tc(CLOCK_MONOTONIC_RAW, &ev, &tx));
  printf("create CLOCK_REALTIME_COARSE -> %ld\n", tc(CLOCK_REALTIME_COARSE, &ev, &tx));
  int t4 = -1;
  { long r_ = tc(CLOCK_MONOTONIC, &ev, &t4); printf("create after the failures -> %ld id %d\n", r_, t4); }

  gettime("fresh", t1, 1);
  printf("settime bad id -> %ld\n", ts(1234, 0, 1, 0, 0, 0, 0));
  printf("settime nsec 1e9 -> %ld\n", ts(t1, 0, 0, 1000000000L, 0, 0, 0));
  printf("settime negative interval -> %ld\n", ts(t1, 0, 1, 0, -1, 0, 0));

  /* One-shot SIGEV_SIGNAL. */
  printf("settime t1 10 ms -> %ld\n", ts(t1, 0, 0, 10 * MS, 0, 0, 0));
  gettime("t1 armed", t1, 10 * MS);
  wait_for(SIGRTMIN, "t1", t1, 0);
  gettime("t1 after its signal", t1, 1);

  /* Periodic, signal blocked: overruns. */
  printf("settime t0 1 ms period -> %ld\n", ts(t0, 0, 0, MS, 0, MS, 0));
  nap(20 * MS);
  gettime("t0 with its signal pending", t0, MS);
  wait_for(SIGALRM, "t0", t0, 1);
  struct itimerspec old;
  long rd = ts(t0, 0, 0, 0, 0, 0, &old);
  printf("settime t0 disarm -> %ld, old interval %ld ns value %s\n", rd, old.it_interval.tv_nsec,
         old.it_value.tv_nsec > 0 && old.it_value.tv_nsec <= MS ? "in (0, 1 ms]" : "out of range");
  gettime("t0 disarmed", t0, 1);

  /* SIGEV_THREAD_ID, absolute. */
  struct timespec now;
  clock_gettime(CLOCK_BOOTTIME, &now);
  long ns = now.tv_nsec + 5 * MS;
  printf("settime t2 absolute +5 ms -> %ld\n", ts(t2, TIMER_ABSTIME, now.tv_sec + ns / 1000000000L, ns % 1000000000L, 0, 0, 0));
  wait_for(SIGUSR1, "t2", t2, 0);
  printf("settime t2 absolute in the past -> %ld\n", ts(t2, TIMER_ABSTIME, 1, 0, 0, 0, 0));
  wait_for(SIGUSR1, "t2 past", t2, 0);

  /* SIGEV_NONE: no signal; 0 once expired; an interval one moves on. */
  ts(t3, 0, 0, 2 * MS, 0, 0, 0);
  gettime("none armed", t3, 2 * MS);
  nap(5 * MS);
  gettime("none expired", t3, 1);
  ts(t3, 0, 0, MS, 0, 3 * MS, 0);
  nap(10 * MS);
  gettime("none periodic", t3, 3 * MS);

  /* A signal queued before the timer is re-armed is dropped when taken. */
  ts(t4, 0, 0, MS, 0, 0, 0);
  nap(5 * MS);
  sigset_t p;
  sigpending(&p);
  printf("t4 fired, SIGRTMIN pending: %d\n", sigismember(&p, SIGRTMIN));
  ts(t4, 0, 100, 0, 0, 0, 0);
  sigpending(&p);
  printf("t4 re-armed, SIGRTMIN pending: %d\n", sigismember(&p, SIGRTMIN));
  struct timespec zero = { 0, 0 };
  sigset_t rt;
  sigemptyset(&rt);
  sigaddset(&rt, SIGRTMIN);
  int r = sigtimedwait(&rt, 0, &zero);
  printf("sigtimedwait SIGRTMIN -> %d errno %d\n", r, r < 0 ? errno : 0);

  printf("delete t4 -> %ld\n", syscall(SYS_timer_delete, t4));
  long rr = syscall(SYS_timer_delete, t4);
  printf("delete t4 again -> %ld errno %d\n", rr, errno);
  rr = syscall(SYS_timer_getoverrun, t4);
  printf("getoverrun deleted -> %ld errno %d\n", rr, errno);
  int t5 = -1;
  { long r_ = tc(CLOCK_MONOTONIC, &ev, &t5); printf("create after a delete -> %ld id %d\n", r_, t5); }
  return 0;
}
