/* CPU-time clocks (kernel/time/posix-cpu-timers.c): clock_gettime/clock_getres of
 * CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID and the clock ids of other processes and threads
 * (make_process_cpuclock), timers on them (timer_create, SIGEV_SIGNAL and SIGEV_THREAD_ID),
 * getrusage and times. CPU time differs between machines: only relations are printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CPUCLOCK_PROF 0
#define CPUCLOCK_VIRT 1
#define CPUCLOCK_SCHED 2
static clockid_t process_clock(pid_t pid, int which) { return (clockid_t)((~(unsigned)pid) << 3 | which); }
static clockid_t thread_clock(pid_t tid, int which) { return (clockid_t)((~(unsigned)tid) << 3 | 4 | which); }
static long long ns(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts)) return -errno;
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static long long res(clockid_t c) {
  struct timespec ts;
  if (clock_getres(c, &ts)) return -errno;
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static volatile unsigned long sink;
/* Run until the clock has advanced by `d` ns. */
static void spin(clockid_t c, long long d) {
  long long end = ns(c) + d;
  while (ns(c) < end) for (int i = 0; i < 1000; i++) sink += i;
}
static volatile int got, got_code, got_tid;
static void on_sig(int s, siginfo_t *si, void *u) { (void)s; (void)u; got++; got_code = si->si_code; got_tid = syscall(SYS_gettid); }
static const char *e(long long v) { return v == -EINVAL ? "EINVAL" : v < 0 ? "other error" : "ok"; }

static volatile int stop_thread, spinning;
static pid_t worker_tid;
static void *worker(void *a) {
  (void)a;
  worker_tid = syscall(SYS_gettid);
  spin(CLOCK_THREAD_CPUTIME_ID, 3000000);
  while (!stop_thread) { if (spinning) sink++; else sched_yield(); }
  return 0;
}

int main(void) {
  printf("getres SCHED clocks: process %lld thread %lld, own pid %lld\n", res(CLOCK_PROCESS_CPUTIME_ID), res(CLOCK_THREAD_CPUTIME_ID), res(process_clock(getpid(), CPUCLOCK_SCHED)));
  long long rp = res(process_clock(0, CPUCLOCK_PROF)), rv = res(thread_clock(0, CPUCLOCK_VIRT));
  printf("getres PROF/VIRT clocks a tick (1-10 ms): %s %s, equal %s\n", rp >= 1000000 && rp <= 10000000 ? "yes" : "no", rv >= 1000000 && rv <= 10000000 ? "yes" : "no", rp == rv ? "yes" : "no");
  printf("dynamic clock id (fd 0): getres %s, gettime %s; thread clock which 3: getres %s, gettime %s\n", e(res(process_clock(0, 3))), e(ns(process_clock(0, 3))), e(res(thread_clock(0, 3))), e(ns(thread_clock(0, 3))));
  long long p0 = ns(CLOCK_PROCESS_CPUTIME_ID), t0 = ns(CLOCK_THREAD_CPUTIME_ID);
  spin(CLOCK_PROCESS_CPUTIME_ID, 5000000);
  long long p1 = ns(CLOCK_PROCESS_CPUTIME_ID), t1 = ns(CLOCK_THREAD_CPUTIME_ID);
  printf("after 5 ms of work: process clock +>=5ms %s, thread clock too %s\n", p1 - p0 >= 5000000 ? "yes" : "no", t1 - t0 >= 5000000 ? "yes" : "no");
  long long prof = ns(process_clock(0, CPUCLOCK_PROF)), virt = ns(process_clock(0, CPUCLOCK_VIRT)), own = ns(process_clock(getpid(), CPUCLOCK_SCHED));
  printf("PROF >= VIRT %s, own pid's clock >= the earlier reading %s\n", prof >= virt ? "yes" : "no", own >= p1 ? "yes" : "no");
  printf("thread clock of my tid: %s; of pid 1: %s; process clock of pid 999999: %s\n", e(ns(thread_clock(syscall(SYS_gettid), CPUCLOCK_SCHED))), e(ns(thread_clock(1, CPUCLOCK_SCHED))), e(ns(process_clock(999999, CPUCLOCK_SCHED))));

  pthread_t th;
  pthread_create(&th, 0, worker, 0);
  while (!worker_tid) sched_yield();
  long long wt;
  while ((wt = ns(thread_clock(worker_tid, CPUCLOCK_SCHED))) < 3000000 && wt >= 0) sched_yield();
  printf("worker thread's clock readable from here %s, >= 3 ms %s; its tid as a process clock: %s\n", wt >= 0 ? "yes" : "no", wt >= 3000000 ? "yes" : "no", e(ns(process_clock(worker_tid, CPUCLOCK_SCHED))));
  /* clock_nanosleep on CPU clocks: the process clock advances while a worker spins; the caller's own thread clock cannot. */
  struct timespec five = { 0, 5000000 };
  printf("clock_nanosleep on my thread clock: %s; on my tid's clock: %s\n", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &five, 0) == EINVAL ? "EINVAL" : "other",
         clock_nanosleep(thread_clock(syscall(SYS_gettid), CPUCLOCK_SCHED), 0, &five, 0) == EINVAL ? "EINVAL" : "other");
  spinning = 1;
  long long p_before = ns(CLOCK_PROCESS_CPUTIME_ID), mine = ns(CLOCK_THREAD_CPUTIME_ID);
  int rs = clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &five, 0);
  long long p_after = ns(CLOCK_PROCESS_CPUTIME_ID);
  printf("5 ms on the process clock while the worker spins: %d, process clock +>= 5 ms %s, my own clock +< 5 ms %s\n", rs, p_after - p_before >= 5000000 ? "yes" : "no", ns(CLOCK_THREAD_CPUTIME_ID) - mine < 5000000 ? "yes" : "no");
  struct timespec absend = { 0, 0 };
  long long target = ns(CLOCK_PROCESS_CPUTIME_ID) + 3000000;
  absend.tv_sec = target / 1000000000; absend.tv_nsec = target % 1000000000;
  rs = clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, TIMER_ABSTIME, &absend, 0);
  printf("absolute sleep to +3 ms of process time: %d, reached %s\n", rs, ns(CLOCK_PROCESS_CPUTIME_ID) >= target ? "yes" : "no");
  spinning = 0;
  stop_thread = 1;
  pthread_join(th, 0);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, 0);
  timer_t tm;
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGUSR1;
  printf("timer_create on the process clock: %s\n", e(timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &tm) ? -errno : 0));
  struct itimerspec its = { { 0, 0 }, { 0, 4000000 } }, cur;
  timer_settime(tm, 0, &its, 0);
  timer_gettime(tm, &cur);
  printf("armed for 4 ms: left in (0, 4 ms] %s\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 4000000 ? "yes" : "no");
  long long start = ns(CLOCK_PROCESS_CPUTIME_ID), at = 0;
  while (!got) { sink++; if (ns(CLOCK_PROCESS_CPUTIME_ID) - start > 200000000) break; }
  at = ns(CLOCK_PROCESS_CPUTIME_ID) - start;
  timer_gettime(tm, &cur);
  printf("fired %d time(s), si_code %d, after >= 4 ms of CPU %s; then left %ld.%09ld\n", got, got_code, at >= 4000000 - 1000000 ? "yes" : "no", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);
  timer_delete(tm);
  /* An interval timer on the thread clock, to this thread (SIGEV_THREAD_ID). */
  got = 0;
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_notify_thread_id = syscall(SYS_gettid);
  printf("timer_create on the thread clock, SIGEV_THREAD_ID: %s\n", e(timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &tm) ? -errno : 0));
  struct itimerspec per = { { 0, 2000000 }, { 0, 2000000 } };
  timer_settime(tm, 0, &per, 0);
  start = ns(CLOCK_THREAD_CPUTIME_ID);
  while (got < 3) { sink++; if (ns(CLOCK_THREAD_CPUTIME_ID) - start > 500000000) break; }
  printf("periodic: %d signals, to me %s\n", got, got_tid == syscall(SYS_gettid) ? "yes" : "no");
  timer_delete(tm);
  printf("timer_create on a dynamic clock id (fd 0): %s; thread clock which 3: %s; on pid 999999's clock: %s\n", timer_create(process_clock(0, 3), &sev, &tm) && errno == EOPNOTSUPP ? "EOPNOTSUPP" : "other", e(timer_create(thread_clock(0, 3), &sev, &tm) ? -errno : 0), e(timer_create(process_clock(999999, CPUCLOCK_SCHED), &sev, &tm) ? -errno : 0));

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long long self = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
  printf("getrusage(SELF) user+system >= 10 ms %s; who 7: %s\n", self >= 10000 ? "yes" : "no", getrusage(7, &ru) ? (errno == EINVAL ? "EINVAL" : "other") : "ok");
  getrusage(RUSAGE_CHILDREN, &ru);
  printf("children before any: %ld.%06ld\n", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) { spin(CLOCK_PROCESS_CPUTIME_ID, 40000000); _exit(0); }
  long long cc;
  while ((cc = ns(process_clock(c, CPUCLOCK_SCHED))) >= 0 && cc < 30000000) sched_yield();
  printf("child's process clock readable while it runs %s\n", cc >= 0 ? "yes" : "no");
  struct tms before, after;
  times(&before);
  int st;
  waitpid(c, &st, 0);
  times(&after);
  printf("child's clock after it was reaped: %s\n", e(ns(process_clock(c, CPUCLOCK_SCHED))));
  getrusage(RUSAGE_CHILDREN, &ru);
  long long ch = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
  printf("children after the wait >= 40 ms %s; times: cutime+cstime 0 before %s, >= 3 ticks after %s\n", ch >= 40000 ? "yes" : "no",
         before.tms_cutime + before.tms_cstime == 0 ? "yes" : "no", after.tms_cutime + after.tms_cstime >= 3 ? "yes" : "no");
  return 0;
}
