/*
 * Guest loop for `npm run bench`: N XSAVE64+XRSTOR64 pairs (RFBM = XCR0, standard format) on one
 * 64-byte aligned buffer, run natively, under qemu-x86_64 and under `xstate-lab exec`. The bench
 * times the whole process from outside (the sandbox's clock is virtual) and subtracts a run with
 * N = 0, so startup and the set-up below cancel out.
 *
 *   guest-xsave-loop N [avx512]
 *
 * With "avx512" (and AVX-512 enabled by the OS), every ZMM and opmask register is loaded before
 * the loop, and each iteration writes ZMM1 and K1 (one EVEX and one VEX instruction) before the
 * pair, so every save sees modified AVX-512 state.
 */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[16384] __attribute__((aligned(64)));
static uint32_t src[16] __attribute__((aligned(64)));

static int os_avx512(uint32_t xcr0_lo) {
  unsigned a, b, c, d;
  __cpuid_count(7, 0, a, b, c, d);
  return ((b >> 16) & 1) && ((b >> 30) & 1) && (xcr0_lo & 0xe6) == 0xe6; /* AVX512F, AVX512BW, OS support */
}

/* Only these two functions may use AVX-512 (the compiler must not use it anywhere else). */
__attribute__((target("avx512f,avx512bw"), noinline)) static void load_avx512(void) {
    __asm__ volatile(
      "vmovdqa64 %0, %%zmm0\n\tvmovdqa64 %%zmm0, %%zmm1\n\tvmovdqa64 %%zmm0, %%zmm2\n\tvmovdqa64 %%zmm0, %%zmm3\n\t"
      "vmovdqa64 %%zmm0, %%zmm4\n\tvmovdqa64 %%zmm0, %%zmm5\n\tvmovdqa64 %%zmm0, %%zmm6\n\tvmovdqa64 %%zmm0, %%zmm7\n\t"
      "vmovdqa64 %%zmm0, %%zmm8\n\tvmovdqa64 %%zmm0, %%zmm9\n\tvmovdqa64 %%zmm0, %%zmm10\n\tvmovdqa64 %%zmm0, %%zmm11\n\t"
      "vmovdqa64 %%zmm0, %%zmm12\n\tvmovdqa64 %%zmm0, %%zmm13\n\tvmovdqa64 %%zmm0, %%zmm14\n\tvmovdqa64 %%zmm0, %%zmm15\n\t"
      "vmovdqa64 %%zmm0, %%zmm16\n\tvmovdqa64 %%zmm0, %%zmm17\n\tvmovdqa64 %%zmm0, %%zmm18\n\tvmovdqa64 %%zmm0, %%zmm19\n\t"
      "vmovdqa64 %%zmm0, %%zmm20\n\tvmovdqa64 %%zmm0, %%zmm21\n\tvmovdqa64 %%zmm0, %%zmm22\n\tvmovdqa64 %%zmm0, %%zmm23\n\t"
      "vmovdqa64 %%zmm0, %%zmm24\n\tvmovdqa64 %%zmm0, %%zmm25\n\tvmovdqa64 %%zmm0, %%zmm26\n\tvmovdqa64 %%zmm0, %%zmm27\n\t"
      "vmovdqa64 %%zmm0, %%zmm28\n\tvmovdqa64 %%zmm0, %%zmm29\n\tvmovdqa64 %%zmm0, %%zmm30\n\tvmovdqa64 %%zmm0, %%zmm31\n\t"
      "kxnorq %%k0, %%k0, %%k1\n\tkmovq %%k1, %%k2\n\tkmovq %%k1, %%k3\n\tkmovq %%k1, %%k4\n\t"
      "kmovq %%k1, %%k5\n\tkmovq %%k1, %%k6\n\tkmovq %%k1, %%k7\n\t"
      : : "m"(src) : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
        "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}

__attribute__((target("avx512f,avx512bw"), noinline)) static void avx512_loop(long n, unsigned lo, unsigned hi) {
  for (long i = 0; i < n; i++) {
    __asm__ volatile("vpaddd %%zmm2, %%zmm1, %%zmm1\n\tkaddq %%k2, %%k1, %%k1" : : : "xmm1", "memory");
    __asm__ volatile("xsave64 %0" : "+m"(buf) : "a"(lo), "d"(hi) : "memory");
    __asm__ volatile("xrstor64 %0" : : "m"(buf), "a"(lo), "d"(hi) : "memory");
  }
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000;
  int avx512 = argc > 2 && strcmp(argv[2], "avx512") == 0;
  unsigned a, b, c, d, lo, hi;
  __cpuid_count(0xd, 0, a, b, c, d);
  if (c > sizeof buf) return 2;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if (avx512 && !os_avx512(lo)) { printf("avx512: not available\n"); return 3; }
  for (int i = 0; i < 16; i++) src[i] = 0x01010101u * (i + 1);
  if (avx512) load_avx512();
  __asm__ volatile("xsave64 %0" : "+m"(buf) : "a"(lo), "d"(hi) : "memory");
  if (avx512) {
    avx512_loop(n, lo, hi);
  } else {
    for (long i = 0; i < n; i++) {
      __asm__ volatile("xsave64 %0" : "+m"(buf) : "a"(lo), "d"(hi) : "memory");
      __asm__ volatile("xrstor64 %0" : : "m"(buf), "a"(lo), "d"(hi) : "memory");
    }
  }
  /* A checksum of the last image, so that all three runners can be compared. */
  uint64_t h = 1469598103934665603ull;
  for (unsigned i = 0; i < c; i++) h = (h ^ buf[i]) * 1099511628211ull;
  printf("pairs %ld xcr0 0x%x size %u checksum %016llx\n", n, lo, c, (unsigned long long)h);
  return 0;
}
