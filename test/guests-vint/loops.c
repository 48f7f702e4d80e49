/*
 * Integer loops the compiler vectorizes (-O3 with -march=x86-64-v3 / x86-64-v4 / sapphirerapids):
 * saturating adds, high multiplies, widening sums, min, variable shifts, popcount, zero/sign
 * extension, truncation, abs, reductions, reversal, gathers, compress-like stores, rotates,
 * averages, sums of absolute differences; then qsort and snprintf. Prints one hash, the same on
 * every CPU.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#define N 1037
static uint8_t a8[N], b8[N]; static int16_t a16[N], b16[N]; static int32_t a32[N], b32[N]; static int64_t a64[N], b64[N]; static uint32_t u32[N];
static uint64_t h = 1469598103934665603ull;
static void mix(uint64_t v) { h = (h ^ v) * 1099511628211ull; }
__attribute__((noinline)) static void k1(void) { for (int i = 0; i < N; i++) a8[i] = (uint8_t)(a8[i] + b8[i] > 255 ? 255 : a8[i] + b8[i]); }
__attribute__((noinline)) static void k2(void) { for (int i = 0; i < N; i++) a16[i] = (int16_t)((a16[i] * b16[i]) >> 16); }
__attribute__((noinline)) static int64_t k3(void) { int64_t s = 0; for (int i = 0; i < N; i++) s += (int64_t)a32[i] * b32[i]; return s; }
__attribute__((noinline)) static void k4(void) { for (int i = 0; i < N; i++) a32[i] = a32[i] < b32[i] ? a32[i] : b32[i]; }
__attribute__((noinline)) static void k5(void) { for (int i = 0; i < N; i++) a64[i] = (a64[i] >> 3) ^ (b64[i] << 7) ^ (a64[i] >> (b64[i] & 63)); }
__attribute__((noinline)) static int k6(void) { int c = 0; for (int i = 0; i < N; i++) c += __builtin_popcount(u32[i]); return c; }
__attribute__((noinline)) static void k7(void) { for (int i = 0; i < N; i++) a32[i] = (int32_t)a8[i] + (int32_t)a16[i]; }
__attribute__((noinline)) static void k8(void) { for (int i = 0; i < N; i++) a8[i] = (uint8_t)a32[i]; }
__attribute__((noinline)) static void k9(void) { for (int i = 0; i < N; i++) { int16_t v = a16[i]; a16[i] = v < 0 ? -v : v; } }
__attribute__((noinline)) static int k10(void) { int m = 0; for (int i = 0; i < N; i++) if (a8[i] > m) m = a8[i]; return m; }
__attribute__((noinline)) static void k11(void) { for (int i = 0; i < N; i++) b32[i] = a32[N - 1 - i]; }
__attribute__((noinline)) static void k12(int *idx) { for (int i = 0; i < N; i++) b32[i] = a32[idx[i]]; }
__attribute__((noinline)) static void k13(void) { for (int i = 0; i < N; i++) a64[i] = a64[i] * b64[i] + (int64_t)u32[i]; }
__attribute__((noinline)) static int k14(void) { int c = 0; for (int i = 0; i < N; i++) c += a8[i] == 'x'; return c; }
__attribute__((noinline)) static void k15(void) { for (int i = 0; i < N; i++) u32[i] = (u32[i] << 5) | (u32[i] >> 27); }
__attribute__((noinline)) static void k16(void) { for (int i = 0; i < N; i++) a16[i] = (int16_t)((a8[i] + b8[i] + 1) >> 1); }
__attribute__((noinline)) static uint32_t k17(void) { uint32_t s = 0; for (int i = 0; i < N; i++) s += (uint32_t)abs((int)a8[i] - (int)b8[i]); return s; }
__attribute__((noinline)) static void k18(void) { int j = 0; for (int i = 0; i < N; i++) if (a32[i] > 0) b32[j++] = a32[i]; mix(j); }
int cmp(const void *x, const void *y) { int a = *(const int *)x, b = *(const int *)y; return (a > b) - (a < b); }
int main(void) {
  uint32_t s = 7; int *idx = malloc(N * sizeof(int));
  for (int i = 0; i < N; i++) { s = s * 1664525 + 1013904223; a8[i] = s >> 24; b8[i] = s >> 16; a16[i] = s >> 8; b16[i] = s; a32[i] = s; b32[i] = s * 3; a64[i] = (int64_t)s * s; b64[i] = s ^ 0x5555; u32[i] = s * 7; idx[i] = (s >> 5) % N; }
  for (int r = 0; r < 3; r++) { k1(); k2(); mix(k3()); k4(); k5(); mix(k6()); k7(); k8(); k9(); mix(k10()); k11(); k12(idx); k13(); mix(k14()); k15(); k16(); mix(k17()); k18(); }
  for (int i = 0; i < N; i++) { mix(a8[i]); mix(a16[i]); mix(a32[i]); mix(a64[i]); mix(u32[i]); mix(b32[i]); }
  qsort(a32, N, sizeof(int), cmp); for (int i = 0; i < N; i += 7) mix(a32[i]);
  char buf[64]; snprintf(buf, sizeof buf, "%d %s", 42, "x"); mix(strlen(buf));
  printf("hash %016llx\n", (unsigned long long)h);
  return 0;
}
