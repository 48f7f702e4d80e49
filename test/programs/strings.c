/* string.h and wchar.h functions on many lengths and alignments, checked against plain C
 * references, plus strings that end right before an unmapped page (libc's vector versions read
 * ahead in aligned blocks and must not fault). Output: per function, cases, wrong answers and a
 * hash of every result; nothing depends on the CPU. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <wchar.h>

#define BUF 4200
static unsigned char a[BUF + 256], b[BUF + 256];
static const size_t lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 33, 47, 48, 63, 64, 65, 95, 96, 97,
                               127, 128, 129, 191, 255, 256, 257, 300, 511, 512, 513, 1000, 1023, 4095, 4096, 4097 };
static const size_t aligns[] = { 0, 1, 3, 7, 15, 16, 31, 33, 63 };
#define NL (sizeof lens / sizeof lens[0])
#define NA (sizeof aligns / sizeof aligns[0])

static uint32_t seed = 12345;
static unsigned rnd(void) { seed = seed * 1103515245u + 12345u; return (seed >> 16) & 0x7fff; }
struct tally { const char *name; unsigned cases, wrong; uint64_t hash; };
static void note(struct tally *t, long long v, int ok) {
  t->cases++;
  if (!ok) t->wrong++;
  t->hash = (t->hash ^ (uint64_t)v) * 0x100000001b3ull;
}
static void show(struct tally *t) { printf("%-10s %6u cases, %u wrong, hash %016llx\n", t->name, t->cases, t->wrong, (unsigned long long)t->hash); }
/* FNV-1a over bytes: what a copy wrote, in the hash. */
static long long sum(const unsigned char *p, size_t n) { uint64_t h = 0xcbf29ce484222325ull; for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull; return (long long)h; }
static int sgn(int v) { return (v > 0) - (v < 0); }
static void fill(unsigned char *p, size_t n, int nonzero) { for (size_t i = 0; i < n; i++) { p[i] = (unsigned char)rnd(); if (nonzero && !p[i]) p[i] = 'x'; } }

static size_t ref_strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static int ref_memcmp(const unsigned char *x, const unsigned char *y, size_t n) { for (size_t i = 0; i < n; i++) if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1; return 0; }
static int ref_strcmp(const unsigned char *x, const unsigned char *y) { for (;; x++, y++) { if (*x != *y) return *x < *y ? -1 : 1; if (!*x) return 0; } }
static const void *ref_memchr(const unsigned char *p, int c, size_t n) { for (size_t i = 0; i < n; i++) if (p[i] == (unsigned char)c) return p + i; return 0; }
static const char *ref_strchr(const char *s, int c) { for (;; s++) { if (*s == (char)c) return s; if (!*s) return 0; } }
static const char *ref_strrchr(const char *s, int c) { const char *r = 0; for (;; s++) { if (*s == (char)c) r = s; if (!*s) return r; } }
static int ref_tolower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

int main(void) {
  struct tally t_cpy = { "memcpy" }, t_move = { "memmove" }, t_set = { "memset" }, t_cmp = { "memcmp" }, t_len = { "strlen" },
               t_nlen = { "strnlen" }, t_chr = { "strchr" }, t_rchr = { "strrchr" }, t_mchr = { "memchr" }, t_mrchr = { "memrchr" },
               t_scmp = { "strcmp" }, t_sncmp = { "strncmp" }, t_cpy2 = { "strcpy" }, t_cat = { "strcat" }, t_str = { "strstr" },
               t_case = { "strcasecmp" }, t_spn = { "strspn" }, t_wlen = { "wcslen" }, t_wcmp = { "wmemcmp" }, t_wset = { "wmemset" },
               t_stpcpy = { "stpcpy" }, t_rawchr = { "strchrnul" };
  for (size_t li = 0; li < NL; li++) for (size_t ai = 0; ai < NA; ai++) {
    size_t n = lens[li], al = aligns[ai], al2 = aligns[(ai + li) % NA];
    unsigned char *s = a + al, *d = b + al2;
    /* memcpy, memmove (both directions), memset */
    fill(a, n + 128, 0);
    memset(b, 0xee, n + 256);
    memcpy(d, s, n);
    note(&t_cpy, sum(d, n), ref_memcmp(d, s, n) == 0 && d[n] == 0xee);
    size_t shift = 1 + (n % 37);
    memcpy(b, a, n + shift + 64);
    memmove(b + shift, b, n);
    note(&t_move, sum(b + shift, n), ref_memcmp(b + shift, a, n) == 0);
    memcpy(b, a, n + shift + 64);
    memmove(b, b + shift, n);
    note(&t_move, sum(b, n), ref_memcmp(b, a + shift, n) == 0);
    int c = (int)(rnd() & 0xff);
    memset(b, 0x11, n + 128);
    memset(d, c, n);
    int okset = d[n] == 0x11 && (al2 == 0 || d[-1] == 0x11);
    for (size_t i = 0; i < n; i++) okset &= d[i] == (unsigned char)c;
    note(&t_set, c, okset);
    /* memcmp: equal, then one differing byte at a random place */
    memcpy(d, s, n);
    note(&t_cmp, sgn(memcmp(d, s, n)), memcmp(d, s, n) == 0);
    if (n) {
      size_t at = rnd() % n;
      d[at] ^= (unsigned char)(1 + rnd() % 255);
      note(&t_cmp, sgn(memcmp(d, s, n)), sgn(memcmp(d, s, n)) == ref_memcmp(d, s, n));
      note(&t_mrchr, memrchr(s, s[at], n) ? (char *)memrchr(s, s[at], n) - (char *)s : -1, 1);
    }
    /* NUL-terminated strings of length n */
    fill(a, n + 64, 1);
    s[n] = 0;
    char *cs = (char *)s;
    note(&t_len, (long long)strlen(cs), strlen(cs) == ref_strlen(cs));
    size_t lim = n / 2 + rnd() % (n + 3);
    note(&t_nlen, (long long)strnlen(cs, lim), strnlen(cs, lim) == (lim < n ? lim : n));
    int ch = n ? s[rnd() % n] : 'q';
    const char *r1 = strchr(cs, ch);
    note(&t_chr, r1 ? r1 - cs : -1, r1 == ref_strchr(cs, ch));
    note(&t_chr, strchr(cs, 0) - cs, strchr(cs, 0) == cs + n);
    const char *r2 = strrchr(cs, ch);
    note(&t_rchr, r2 ? r2 - cs : -1, r2 == ref_strrchr(cs, ch));
    const void *r3 = memchr(s, ch, n);
    note(&t_mchr, r3 ? (const unsigned char *)r3 - s : -1, r3 == ref_memchr(s, ch, n));
    note(&t_rawchr, strchrnul(cs, 0) - cs, strchrnul(cs, 0) == cs + n);
    note(&t_rawchr, strchrnul(cs, ch) - cs, strchrnul(cs, ch) == (ref_strchr(cs, ch) ? ref_strchr(cs, ch) : cs + n));
    /* strcpy, stpcpy, strcat, strcmp, strncmp */
    char *cd = (char *)d;
    memset(b, 0x55, n + 256);
    strcpy(cd, cs);
    note(&t_cpy2, sum(d, n + 2), ref_strcmp(d, s) == 0 && d[n + 1] == 0x55);
    note(&t_stpcpy, stpcpy(cd, cs) - cd, stpcpy(cd, cs) == cd + n);
    note(&t_scmp, strcmp(cd, cs), strcmp(cd, cs) == 0);
    if (n) {
      size_t at = rnd() % n;
      d[at] = (unsigned char)(1 + rnd() % 255);
      note(&t_scmp, sgn(strcmp(cd, cs)), sgn(strcmp(cd, cs)) == ref_strcmp(d, s));
      size_t k = rnd() % (n + 2);
      int want = 0;
      for (size_t i = 0; i < k; i++) { if (d[i] != s[i]) { want = d[i] < s[i] ? -1 : 1; break; } if (!d[i]) break; }
      note(&t_sncmp, sgn(strncmp(cd, cs, k)), sgn(strncmp(cd, cs, k)) == want);
    }
    size_t half = n / 2;
    memcpy(d, s, half);
    d[half] = 0;
    strcat(cd, cs + half);
    note(&t_cat, sum(d, n + 1), ref_strcmp(d, s) == 0);
    /* strcasecmp: the same string with case flipped */
    for (size_t i = 0; i <= n; i++) d[i] = (unsigned char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    int wantc = 0;
    for (size_t i = 0; i <= n; i++) { int x = ref_tolower(s[i]), y = ref_tolower(d[i]); if (x != y) { wantc = x < y ? -1 : 1; break; } }
    note(&t_case, sgn(strcasecmp(cs, cd)), sgn(strcasecmp(cs, cd)) == wantc);
    /* strstr: a needle taken from the haystack */
    if (n >= 4) {
      size_t at = rnd() % (n - 3), nl = 1 + rnd() % ((n - at) < 40 ? (n - at) : 40);
      char needle[48];
      memcpy(needle, cs + at, nl);
      needle[nl] = 0;
      const char *f = strstr(cs, needle), *want = 0;
      for (size_t i = 0; i + nl <= n && !want; i++) if (!memcmp(cs + i, needle, nl)) want = cs + i;
      note(&t_str, f ? f - cs : -1, f == want);
    }
    /* strspn over a small alphabet */
    for (size_t i = 0; i < n; i++) s[i] = (unsigned char)("abc"[rnd() % 3]);
    if (n) s[rnd() % n] = 'z';
    size_t sp = strspn(cs, "abc"), wsp = 0;
    while (cs[wsp] && strchr("abc", cs[wsp])) wsp++;
    note(&t_spn, (long long)sp, sp == wsp);
    /* wide strings */
    if (n <= 4096) {
      wchar_t *ws = (wchar_t *)(a + (al & ~3u)), *wd = (wchar_t *)(b + (al2 & ~3u));
      size_t wn = n / 4;
      for (size_t i = 0; i < wn; i++) ws[i] = (wchar_t)(1 + rnd() % 60000);
      ws[wn] = 0;
      note(&t_wlen, (long long)wcslen(ws), wcslen(ws) == wn);
      wmemset(wd, (wchar_t)0x12345, wn);
      int okw = 1;
      for (size_t i = 0; i < wn; i++) okw &= wd[i] == 0x12345;
      note(&t_wset, (long long)wn, okw);
      memcpy(wd, ws, wn * sizeof(wchar_t));
      if (wn) wd[rnd() % wn] += 7;
      int w = 0;
      for (size_t i = 0; i < wn; i++) if (wd[i] != ws[i]) { w = wd[i] < ws[i] ? -1 : 1; break; }
      note(&t_wcmp, sgn(wmemcmp(wd, ws, wn)), sgn(wmemcmp(wd, ws, wn)) == w);
    }
  }
  /* Strings that end at the last byte before a PROT_NONE page. */
  struct tally t_edge = { "page-edge" };
  unsigned char *pg = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pg == MAP_FAILED || mprotect(pg + 4096, 4096, PROT_NONE)) { puts("mmap failed"); return 1; }
  for (size_t n = 0; n < 200; n++) {
    char *e = (char *)pg + 4096 - n - 1;
    memset(e, 'k', n);
    e[n] = 0;
    note(&t_edge, (long long)strlen(e), strlen(e) == n);
    note(&t_edge, strchr(e, 'z') ? 1 : 0, strchr(e, 'z') == 0);
    note(&t_edge, (long long)(strrchr(e, 'k') ? strrchr(e, 'k') - e : -1), n ? strrchr(e, 'k') == e + n - 1 : strrchr(e, 'k') == 0);
    note(&t_edge, memchr(e, 'z', n + 1) ? 1 : 0, memchr(e, 'z', n + 1) == 0);
    note(&t_edge, sgn(strcmp(e, e)), strcmp(e, e) == 0);
    note(&t_edge, (long long)strnlen(e, 4096), strnlen(e, 4096) == n);
  }
  struct tally *all[] = { &t_cpy, &t_move, &t_set, &t_cmp, &t_len, &t_nlen, &t_chr, &t_rchr, &t_mchr, &t_mrchr, &t_rawchr, &t_scmp,
                          &t_sncmp, &t_cpy2, &t_stpcpy, &t_cat, &t_str, &t_case, &t_spn, &t_wlen, &t_wcmp, &t_wset, &t_edge };
  unsigned wrong = 0;
  for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) { show(all[i]); wrong += all[i]->wrong; }
  printf("wrong answers: %u\n", wrong);
  return wrong ? 1 : 0;
}
