/* Loops a compiler vectorizes: built with -O3 for x86-64, x86-64-v3, x86-64-v4 and
 * sapphirerapids (and -ffp-contract=off, so no build fuses a multiply and an add that another
 * does not: every build prints the same). Integer and floating-point maps, reductions (integer
 * only: floating-point sums stay in order without -ffast-math), min/max, conditional selects,
 * conversions, byte transforms, shifts and _Float16 arithmetic. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 4099
static float fa[N], fb[N], fc[N];
static double da[N], db[N], dc[N];
static int32_t ia[N], ib[N], ic[N];
static int64_t la[N], lb[N];
static int16_t sa[N], sb[N];
static uint8_t ua[N], ub[N];
static _Float16 ha[N], hb[N], hc[N];
static char text[N + 1];

static uint64_t h = 0xcbf29ce484222325ull;
static void mix(const void *p, size_t n) { const unsigned char *b = p; for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull; }
/* Keep the hash itself out of the vectorizer's reach: the point is the loops above it. */
__attribute__((noinline, optimize("no-tree-vectorize"))) static void mixall(const char *what, const void *p, size_t n) {
  uint64_t before = h;
  mix(p, n);
  printf("%-22s %016llx\n", what, (unsigned long long)(h ^ before));
}

__attribute__((noinline)) static void saxpy(float a, const float *x, float *y, int n) { for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i]; }
__attribute__((noinline)) static void daxpy(double a, const double *x, double *y, int n) { for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i]; }
__attribute__((noinline)) static int64_t isum(const int32_t *x, int n) { int64_t s = 0; for (int i = 0; i < n; i++) s += x[i]; return s; }
__attribute__((noinline)) static int32_t imax(const int32_t *x, int n) { int32_t m = x[0]; for (int i = 1; i < n; i++) m = x[i] > m ? x[i] : m; return m; }
__attribute__((noinline)) static float fmaxv(const float *x, int n) { float m = x[0]; for (int i = 1; i < n; i++) m = x[i] > m ? x[i] : m; return m; }
__attribute__((noinline)) static void select_(int32_t *o, const int32_t *x, const int32_t *y, int n) { for (int i = 0; i < n; i++) o[i] = x[i] > y[i] ? x[i] - y[i] : y[i] * 3; }
__attribute__((noinline)) static void to_upper(char *s, int n) { for (int i = 0; i < n; i++) s[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i]; }
__attribute__((noinline)) static void conv(double *o, const int32_t *x, const float *f, int n) { for (int i = 0; i < n; i++) o[i] = (double)x[i] * 0.5 + (double)f[i]; }
__attribute__((noinline)) static void trunc_(int32_t *o, const double *x, int n) { for (int i = 0; i < n; i++) o[i] = (int32_t)(x[i] * 1000.0); }
__attribute__((noinline)) static void shifts(int64_t *o, const int64_t *x, const int32_t *c, int n) { for (int i = 0; i < n; i++) o[i] = (x[i] << (c[i] & 31)) ^ (x[i] >> (c[i] & 15)); }
__attribute__((noinline)) static void mul16(int16_t *o, const int16_t *x, const int16_t *y, int n) { for (int i = 0; i < n; i++) o[i] = (int16_t)((x[i] * y[i]) >> 3); }
__attribute__((noinline)) static void satadd(uint8_t *o, const uint8_t *x, const uint8_t *y, int n) { for (int i = 0; i < n; i++) { unsigned s = x[i] + y[i]; o[i] = s > 255 ? 255 : (uint8_t)s; } }
__attribute__((noinline)) static void avg(uint8_t *o, const uint8_t *x, const uint8_t *y, int n) { for (int i = 0; i < n; i++) o[i] = (uint8_t)((x[i] + y[i] + 1) >> 1); }
__attribute__((noinline)) static uint32_t sad(const uint8_t *x, const uint8_t *y, int n) { uint32_t s = 0; for (int i = 0; i < n; i++) s += x[i] > y[i] ? x[i] - y[i] : y[i] - x[i]; return s; }
__attribute__((noinline)) static void gather(float *o, const float *x, const int32_t *idx, int n) { for (int i = 0; i < n; i++) o[i] = x[idx[i]]; }
__attribute__((noinline)) static void fdiv(float *o, const float *x, const float *y, int n) { for (int i = 0; i < n; i++) o[i] = x[i] / (y[i] + 2.0f); }
__attribute__((noinline)) static void dsqrt(double *o, const double *x, int n) { for (int i = 0; i < n; i++) o[i] = __builtin_sqrt(x[i] * x[i] + 1.0); }
__attribute__((noinline)) static void hmul(_Float16 *o, const _Float16 *x, const _Float16 *y, int n) { for (int i = 0; i < n; i++) o[i] = x[i] * y[i]; }
__attribute__((noinline)) static void hadd(_Float16 *o, const _Float16 *x, int n) { for (int i = 0; i < n; i++) o[i] = o[i] + x[i]; }
__attribute__((noinline)) static int64_t dot16(const int16_t *x, const int16_t *y, int n) { int64_t s = 0; for (int i = 0; i < n; i++) s += x[i] * y[i]; return s; }
__attribute__((noinline)) static int count_eq(const uint8_t *x, uint8_t c, int n) { int k = 0; for (int i = 0; i < n; i++) k += x[i] == c; return k; }

int main(void) {
  uint32_t s = 2463534242u;
  for (int i = 0; i < N; i++) {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    fa[i] = (float)(int32_t)s / 65536.0f; fb[i] = (float)(s % 1000) / 7.0f;
    da[i] = (double)(int32_t)s / 3e4; db[i] = (double)(s % 777) - 300.5;
    ia[i] = (int32_t)s >> 4; ib[i] = (int32_t)(s * 2654435761u) >> 6;
    la[i] = ((int64_t)s << 20) ^ i; sa[i] = (int16_t)s; sb[i] = (int16_t)(s >> 16);
    ua[i] = (uint8_t)s; ub[i] = (uint8_t)(s >> 8);
    ha[i] = (_Float16)((float)(s % 2000) / 64.0f - 10.0f); hb[i] = (_Float16)((float)(s % 301) / 100.0f);
    text[i] = (char)(32 + s % 95);
  }
  text[N] = 0;
  for (int n = N; n >= N - 7; n -= 7) {
    printf("n = %d\n", n);
    memcpy(fc, fb, sizeof fc); saxpy(1.7f, fa, fc, n); mixall("saxpy", fc, sizeof fc);
    memcpy(dc, db, sizeof dc); daxpy(-0.3, da, dc, n); mixall("daxpy", dc, sizeof dc);
    printf("%-22s %lld\n", "isum", (long long)isum(ia, n));
    printf("%-22s %d\n", "imax", imax(ia, n));
    printf("%-22s %a\n", "fmax", fmaxv(fa, n));
    select_(ic, ia, ib, n); mixall("select", ic, sizeof ic);
    char t[N + 1]; memcpy(t, text, sizeof t); to_upper(t, n); mixall("to_upper", t, sizeof t);
    conv(dc, ia, fa, n); mixall("int/float->double", dc, sizeof dc);
    trunc_(ic, da, n); mixall("double->int", ic, sizeof ic);
    shifts(lb, la, ia, n); mixall("variable shifts", lb, sizeof lb);
    int16_t so[N]; mul16(so, sa, sb, n); mixall("int16 multiply", so, sizeof so);
    uint8_t uo[N]; satadd(uo, ua, ub, n); mixall("saturating add", uo, sizeof uo);
    avg(uo, ua, ub, n); mixall("average", uo, sizeof uo);
    printf("%-22s %u\n", "sad", sad(ua, ub, n));
    for (int i = 0; i < N; i++) ic[i] = (ia[i] & 0x7fffffff) % N;
    gather(fc, fa, ic, n); mixall("gather", fc, sizeof fc);
    fdiv(fc, fa, fb, n); mixall("float divide", fc, sizeof fc);
    dsqrt(dc, da, n); mixall("double sqrt", dc, sizeof dc);
    hmul(hc, ha, hb, n); mixall("_Float16 multiply", hc, sizeof hc);
    hadd(hc, ha, n); mixall("_Float16 add", hc, sizeof hc);
    printf("%-22s %lld\n", "int16 dot", (long long)dot16(sa, sb, n));
    printf("%-22s %d\n", "count bytes", count_eq(ua, 0x5a, n));
  }
  printf("total %016llx\n", (unsigned long long)h);
  return 0;
}
