/* qsort and bsearch on integers, doubles (with -0.0 and equal keys), strings and structs of
 * awkward sizes; each result checked for order and printed as a hash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s = 88172645463325252ull;
static uint64_t xs(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s; }
static uint64_t h = 0xcbf29ce484222325ull;
static void mix(const void *p, size_t n) { const unsigned char *b = p; for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull; }

static int cmp_int(const void *a, const void *b) { int x = *(const int *)a, y = *(const int *)b; return (x > y) - (x < y); }
static int cmp_dbl(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
struct rec { char name[13]; short k; double w; };
static int cmp_rec(const void *a, const void *b) {
  const struct rec *x = a, *y = b;
  if (x->k != y->k) return x->k < y->k ? -1 : 1;
  return strcmp(x->name, y->name);
}

int main(void) {
  unsigned bad = 0;
  static int iv[5000];
  for (int n = 0; n <= 5000; n = n ? n * 3 + 1 : 1) {
    for (int i = 0; i < n; i++) iv[i] = (int)(xs() % 1000) - 500;
    qsort(iv, (size_t)n, sizeof iv[0], cmp_int);
    for (int i = 1; i < n; i++) bad += iv[i - 1] > iv[i];
    mix(iv, (size_t)n * sizeof iv[0]);
    int found = 0;
    for (int key = -510; key <= 510; key += 7) {
      int *p = bsearch(&key, iv, (size_t)n, sizeof iv[0], cmp_int);
      if (p) { found++; bad += *p != key; }
      else for (int i = 0; i < n; i++) bad += iv[i] == key;
    }
    printf("ints n=%d: %d keys found\n", n, found);
  }
  static double dv[3000];
  for (int i = 0; i < 1000; i++) dv[i] = (double)(int64_t)(xs() % 2001 - 1000) / 8.0;
  dv[5] = -0.0; dv[6] = 0.0;
  qsort(dv, 3000, sizeof dv[0], cmp_dbl);
  for (int i = 1; i < 1000; i++) bad += dv[i - 1] > dv[i];
  printf("doubles: min %g max %g median %g\n", dv[0], dv[2999], dv[1500]);
  static char words[1000][12];
  static char *wp[1000];
  for (int i = 0; i < 1000; i++) {
    int len = 1 + (int)(xs() % 10);
    for (int k = 0; k < len; k++) words[i][k] = (char)('a' + xs() % 26);
    words[i][len] = 0;
    wp[i] = words[i];
  }
  qsort(wp, 1000, sizeof wp[0], cmp_str);
  for (int i = 1; i < 1000; i++) { bad += strcmp(wp[i - 1], wp[i]) > 0; mix(wp[i], strlen(wp[i])); }
  printf("strings: first %s last %s\n", wp[0], wp[999]);
  static struct rec rv[1000];
  for (int i = 0; i < 1000; i++) {
    snprintf(rv[i].name, sizeof rv[i].name, "r%08llx", (unsigned long long)(xs() & 0xffffffff));
    rv[i].k = (short)(xs() % 50);
    rv[i].w = i * 0.5;
  }
  qsort(rv, 1000, sizeof rv[0], cmp_rec);
  for (int i = 1; i < 1000; i++) bad += cmp_rec(&rv[i - 1], &rv[i]) > 0;
  for (int i = 0; i < 1000; i++) mix(rv[i].name, strlen(rv[i].name));
  struct rec key = rv[345];
  struct rec *p = bsearch(&key, rv, 1000, sizeof rv[0], cmp_rec);
  printf("records: key %s found at %ld\n", key.name, p ? (long)(p - rv) : -1L);
  printf("hash %016llx, order errors %u\n", (unsigned long long)h, bad);
  return bad ? 1 : 0;
}
