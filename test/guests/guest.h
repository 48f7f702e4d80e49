/* Helpers shared by the exec corpus: CPUID feature checks and hex dumps. */
#include <stdint.h>
#include <stdio.h>
#include <cpuid.h>

static inline void cpuid2(unsigned leaf, unsigned sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }
/* CPUID.01H:ECX bit 27 OSXSAVE, 28 AVX; CPUID.(07H,0):EBX bit 5 AVX2, 16 AVX512F, 30 AVX512BW, 31 AVX512VL; ECX bit 3 PKU, 4 OSPKE. */
static inline int has_bit(unsigned leaf, unsigned sub, int reg, int bit) { unsigned r[4]; cpuid2(leaf, sub, r); return (r[reg] >> bit) & 1; }
static inline uint64_t xgetbv(unsigned ecx) { unsigned lo, hi; __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(ecx)); return ((uint64_t)hi << 32) | lo; }
static inline int os_avx(void) { return has_bit(1, 0, 2, 27) && has_bit(1, 0, 2, 28) && (xgetbv(0) & 6) == 6; }
static inline int os_avx2(void) { return os_avx() && has_bit(7, 0, 1, 5); }
static inline int os_avx512(void) { return os_avx2() && has_bit(7, 0, 1, 16) && has_bit(7, 0, 1, 30) && has_bit(7, 0, 1, 31) && (xgetbv(0) & 0xe6) == 0xe6; }

static void hexdump(const char *name, const void *p, unsigned n) {
  const unsigned char *b = p;
  printf("%s:", name);
  for (unsigned i = 0; i < n; i++) printf("%s%02x", i % 32 == 0 ? "\n  " : "", b[i]);
  printf("\n");
}
/* Lines of 64 bytes that are not all zero, with their offsets (for big XSAVE areas). */
static void hexdump_nonzero(const char *name, const void *p, unsigned n) {
  const unsigned char *b = p;
  printf("%s (%u bytes, non-zero 64-byte lines):\n", name, n);
  for (unsigned o = 0; o < n; o += 64) {
    int nz = 0;
    for (unsigned i = o; i < o + 64 && i < n; i++) nz |= b[i];
    if (!nz) continue;
    printf("  %5u:", o);
    for (unsigned i = o; i < o + 64 && i < n; i++) printf("%s%02x", (i - o) % 8 == 0 ? " " : "", b[i]);
    printf("\n");
  }
}
