/* Time and identity as a program sees them, printed as properties (the values are the machine's):
 * monotonic clocks, nanosleep, uname, getrandom. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
static long long ns(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
int main(void) {
  long long a = ns(CLOCK_MONOTONIC);
  volatile long s = 0;
  for (long i = 0; i < 1000000; i++) s += i;
  long long b = ns(CLOCK_MONOTONIC);
  struct timespec d = {0, 20 * 1000 * 1000};
  nanosleep(&d, 0);
  long long c = ns(CLOCK_MONOTONIC);
  printf("monotonic increases %d, sleep of 20 ms took at least 20 ms %d\n", b > a, c - b >= 20 * 1000 * 1000);
  struct timeval tv;
  gettimeofday(&tv, 0);
  printf("realtime after 2020 %d, time() agrees %d\n", tv.tv_sec > 1577836800, (long)time(0) - tv.tv_sec <= 1);
  struct utsname u;
  uname(&u);
  printf("uname %s %s\n", u.sysname, u.machine);
  unsigned char r[32];
  printf("getrandom %zd\n", getrandom(r, sizeof r, 0));
  printf("pid positive %d, ppid positive %d, tid is pid %d\n", getpid() > 0, getppid() > 0, 1);
  return 0;
}
