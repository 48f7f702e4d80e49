/*
 * Native reference for `npm run bench`: XSAVE64 + XRSTOR64 pairs with RFBM = XCR0 on one
 * 64-byte aligned buffer. Prints "<pairs> <nanoseconds>".
 */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint8_t buf[16384] __attribute__((aligned(64)));

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  unsigned a, b, c, d, lo, hi;
  __cpuid_count(0xd, 0, a, b, c, d);
  if (c > sizeof buf) return 2;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  __asm__ volatile("xsave64 %0" : "+m"(buf) : "a"(lo), "d"(hi));
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) {
    __asm__ volatile("xsave64 %0" : "+m"(buf) : "a"(lo), "d"(hi) : "memory");
    __asm__ volatile("xrstor64 %0" : : "m"(buf), "a"(lo), "d"(hi) : "memory");
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%ld %lld\n", n, (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
  return 0;
}
