/* Interval timers: alarm's return (the seconds left, rounded), SIGALRM from ITIMER_REAL ending a
 * pause, a periodic ITIMER_REAL, getitimer's time left, SIGPROF and SIGVTALRM from CPU time spent
 * in a loop, -EINVAL for a bad timer, and a forked child that does not inherit the timer. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int alrm, prof, vtalrm;
static void on_sig(int sig) {
  if (sig == SIGALRM) alrm++;
  if (sig == SIGPROF) prof++;
  if (sig == SIGVTALRM) vtalrm++;
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sig;
  sigaction(SIGALRM, &sa, 0);
  sigaction(SIGPROF, &sa, 0);
  sigaction(SIGVTALRM, &sa, 0);

  /* The alarm system call itself (musl's alarm() is setitimer). Time passes between the calls (a
   * clock read at least), so the kernel rounds the seconds left (alarm_setitimer). */
  struct timespec ts;
  long a1 = syscall(SYS_alarm, 2);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long a2 = syscall(SYS_alarm, 5);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long a3 = syscall(SYS_alarm, 0);
  printf("alarm: %ld %ld %ld\n", a1, a2, a3);

  struct itimerval it = { { 0, 0 }, { 0, 50000 } }, old;
  setitimer(ITIMER_REAL, &it, 0);
  int r = pause();
  printf("pause ended by SIGALRM: %d %s, handler ran %d\n", r, r < 0 && errno == EINTR ? "EINTR" : "?", alrm);

  alrm = 0;
  it.it_interval.tv_usec = 10000;
  it.it_value.tv_usec = 10000;
  setitimer(ITIMER_REAL, &it, 0);
  while (alrm < 3) pause();
  memset(&it, 0, sizeof it);
  setitimer(ITIMER_REAL, &it, &old);
  printf("periodic ITIMER_REAL: %d ticks, interval was %ld us\n", alrm, (long)old.it_interval.tv_usec);

  it.it_value.tv_sec = 10;
  setitimer(ITIMER_REAL, &it, 0);
  getitimer(ITIMER_REAL, &old);
  printf("getitimer: left in (9 s, 10 s]: %d, no interval %d\n", old.it_value.tv_sec == 9 || (old.it_value.tv_sec == 10 && old.it_value.tv_usec == 0), old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 0);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    struct itimerval mine;
    getitimer(ITIMER_REAL, &mine);
    printf("child: timer not inherited %d\n", mine.it_value.tv_sec == 0 && mine.it_value.tv_usec == 0);
    _exit(0);
  }
  waitpid(c, 0, 0);
  memset(&it, 0, sizeof it);
  setitimer(ITIMER_REAL, &it, 0);

  it.it_value.tv_usec = 2000;
  setitimer(ITIMER_PROF, &it, 0);
  setitimer(ITIMER_VIRTUAL, &it, 0);
  volatile unsigned long spin = 0;
  while (!prof || !vtalrm) spin++;
  printf("CPU-time timers: SIGPROF %d SIGVTALRM %d\n", prof, vtalrm);

  r = setitimer(7, &it, 0);
  printf("setitimer(7): %d %s\n", r, r < 0 && errno == EINVAL ? "EINVAL" : "?");
  it.it_value.tv_usec = 1000000;
  r = setitimer(ITIMER_REAL, &it, 0);
  printf("setitimer tv_usec 1e6: %d %s\n", r, r < 0 && errno == EINVAL ? "EINVAL" : "?");
  return 0;
}
