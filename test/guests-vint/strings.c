/*
 * string.h and wchar.h functions on many lengths, alignments and page positions: glibc picks its
 * AVX2 / EVEX versions from CPUID, so under the model they run on the emulated vector
 * instructions. Buffers end at a PROT_NONE page so that the page-crossing paths run too. Prints a
 * hash of every result and a few sample lines; the output does not depend on the CPU.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wchar.h>

static uint64_t hash = 1469598103934665603ull;
static void mix(uint64_t v) { hash = (hash ^ v) * 1099511628211ull; }
static void mixp(const void *p, const void *base) { mix(p ? (uint64_t)((const char *)p - (const char *)base) : 0xffffffffull); }
static int sgn(int v) { return v < 0 ? -1 : v > 0; }

static uint32_t seed = 12345;
static uint32_t rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 8; }

int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  char *area = mmap(0, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) return 1;
  mprotect(area + 2 * page, page, PROT_NONE);
  char *end = area + 2 * page; /* the guard page starts here */
  char *other = area + 3 * page;
  mprotect(other, page, PROT_READ | PROT_WRITE);
  static const int lens[] = {0, 1, 3, 7, 16, 31, 32, 33, 63, 64, 65, 127, 255, 1000};
  int calls = 0;
  for (unsigned li = 0; li < sizeof lens / sizeof lens[0]; li++) {
    int n = lens[li];
    for (int pos = 0; pos < 3; pos++) {
      for (int al = 0; al < 64; al += (n < 70 ? 11 : 29)) {
        /* pos 0: aligned start; pos 1: string ends right before the guard page; pos 2: mid-page. */
        char *s = pos == 0 ? area + 64 + al : pos == 1 ? end - n - 1 : area + page - 40 + al;
        for (int i = 0; i < n; i++) s[i] = 'a' + (char)(rnd() % 26);
        s[n] = 0;
        char c = n ? s[rnd() % n] : 'q';
        mix(strlen(s)); mix(strnlen(s, n / 2 + 1));
        mixp(strchr(s, c), s); mixp(strrchr(s, c), s); mixp(strchrnul(s, 'Z'), s); mixp(strchr(s, 0), s);
        mixp(memchr(s, c, n), s); mixp(memrchr(s, c, n), s); mixp(memchr(s, 0, n + 1), s);
        char *d = other + (al * 7) % 61;
        strcpy(d, s); mix(strcmp(d, s) == 0); mix(memcmp(d, s, n + 1) == 0);
        if (n) { d[rnd() % n] ^= 1; mix(sgn(strcmp(d, s))); mix(sgn(memcmp(d, s, n))); mix(sgn(strncmp(d, s, n / 2 + 1))); }
        mix(sgn(strcasecmp(d, s)));
        mixp(stpcpy(d, s), d);
        memmove(d + 3, d, n); mix(memcmp(d + 3, s, n) == 0);
        memset(d, 'x', n); mix(strspn(d, "x")); mix(strcspn(s, "xyz")); mixp(strpbrk(s, "mno"), s);
        memcpy(d, s, n + 1); strcat(d, "tail"); mix(strlen(d));
        mixp(strstr(s, n > 4 ? s + n - 4 : "zz"), s);
        mix(strncpy(d, s, n + 5) == d); for (int i = 0; i < n + 5; i++) mix((unsigned char)d[i]);
        calls += 24;
      }
    }
  }
  /* Wide strings: wcslen, wmemchr, wcschr, wcscmp, wmemset. */
  wchar_t *w = (wchar_t *)(end - 600 * sizeof(wchar_t));
  for (int n = 0; n < 500; n += 37) {
    wchar_t *ws = w + (599 - n);
    for (int i = 0; i < n; i++) ws[i] = L'a' + (wchar_t)(rnd() % 26);
    ws[n] = 0;
    mix(wcslen(ws)); mixp(wcschr(ws, L'e'), ws); mixp(wmemchr(ws, L'k', n), ws); mix(wcscmp(ws, ws) == 0);
    wmemset(ws, L'q', n); mix(wcslen(ws)); mix(wcsnlen(ws, 10));
    calls += 7;
  }
  printf("calls %d\n", calls);
  printf("hash %016llx\n", (unsigned long long)hash);
  return 0;
}
