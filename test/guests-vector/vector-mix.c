/*
 * A seeded mix of register-form AVX, AVX2 and AVX-512 instructions (the ones the trap gate does
 * natively: emulator/native/vector-fast.c) between loads from memory and XSAVEs (the model's), for
 * test/vector-native.test.ts: run natively and under `xstate-lab exec` with the native vector path
 * and without it, the output must be the same.
 *
 *   vector-mix N SEED
 *
 * Each step loads random data into a few registers, runs one block of register-form instructions
 * (EVEX with merge and zero masking at 128, 256 and 512 bits, ZMM16-31, VEX forms that zero the
 * upper bits, zeroing idioms, opmask arithmetic and shifts), and every 16 steps hashes every ZMM
 * and opmask register, XGETBV(1) (XINUSE, which the instructions' tracking changes) and an XSAVE
 * image's header. Prints the hash and the last registers' hash.
 */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t data[8][64] __attribute__((aligned(64)));
static uint8_t dump[32][64] __attribute__((aligned(64)));
static uint64_t kdump[8];
static uint8_t area[16384] __attribute__((aligned(64)));
static uint64_t state;

static uint64_t next(void) { /* splitmix64 */
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t h = 1469598103934665603ull;
static void mix(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
}

static int os_avx512(void) {
  unsigned a, b, c, d, lo, hi;
  __cpuid(1, a, b, c, d);
  if (!((c >> 27) & 1)) return 0; /* OSXSAVE */
  __cpuid_count(7, 0, a, b, c, d);
  if (!(((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1))) return 0; /* AVX512F, DQ, BW, VL */
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0xe6) == 0xe6;
}

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"), noinline))
#define CLOB "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm16", "xmm17", "xmm18", "xmm19", "memory"

AVX512 static void load(void) {
  __asm__ volatile("vmovdqu64 %0, %%zmm0\n\tvmovdqu64 %1, %%zmm1\n\tvmovdqu64 %2, %%zmm2\n\tvmovdqu64 %3, %%zmm17\n\t"
                   "kmovq %4, %%k1\n\tkmovq %5, %%k2\n\tkmovd %6, %%k3"
                   : : "m"(data[0]), "m"(data[1]), "m"(data[2]), "m"(data[3]), "m"(data[4]), "m"(data[5]), "m"(data[6]) : CLOB);
}

AVX512 static void block(unsigned k) {
  switch (k) {
    case 0: __asm__ volatile("vpaddd %%zmm2, %%zmm1, %%zmm1\n\tkaddq %%k2, %%k1, %%k1\n\tvpaddb %%zmm0, %%zmm1, %%zmm3%{%%k1%}" : : : CLOB); break;
    case 1: __asm__ volatile("vpsubq %%zmm1, %%zmm0, %%zmm4%{%%k2%}%{z%}\n\tvpsubw %%ymm2, %%ymm1, %%ymm5\n\tvpaddq %%xmm0, %%xmm2, %%xmm6" : : : CLOB); break;
    case 2: __asm__ volatile("vpxord %%zmm17, %%zmm0, %%zmm18%{%%k3%}\n\tvpandq %%zmm1, %%zmm17, %%zmm19\n\tvpandnd %%ymm0, %%ymm1, %%ymm7%{%%k2%}%{z%}" : : : CLOB); break;
    case 3: __asm__ volatile("vpternlogd $0x96, %%zmm2, %%zmm1, %%zmm0%{%%k1%}\n\tvpternlogq $0xe8, %%ymm17, %%ymm2, %%ymm3" : : : CLOB); break;
    case 4: __asm__ volatile("vmovdqa64 %%zmm17, %%zmm5%{%%k1%}\n\tvmovdqu8 %%zmm0, %%zmm6%{%%k2%}%{z%}\n\tvmovaps %%ymm1, %%ymm16\n\tvmovdqa %%xmm2, %%xmm7" : : : CLOB); break;
    case 5: __asm__ volatile("vpxor %%xmm3, %%xmm3, %%xmm3\n\tvpxord %%zmm18, %%zmm18, %%zmm18\n\tvpsubd %%ymm4, %%ymm4, %%ymm4\n\tkxorw %%k4, %%k4, %%k4" : : : CLOB); break;
    case 6: __asm__ volatile("kandnq %%k1, %%k2, %%k5\n\tkorw %%k3, %%k1, %%k6\n\tkxnord %%k2, %%k3, %%k7\n\tknotb %%k1, %%k4\n\tkshiftlq $13, %%k2, %%k5\n\tkshiftrw $3, %%k1, %%k6" : : : CLOB); break;
    case 7: __asm__ volatile("kmovw %%k3, %%k7\n\tkandd %%k1, %%k7, %%k2\n\tvpord %%zmm17, %%zmm2, %%zmm19%{%%k7%}%{z%}\n\tvpaddw %%zmm19, %%zmm1, %%zmm16%{%%k2%}" : : : CLOB); break;
    case 8: __asm__ volatile("vmovdqu16 %%xmm17, %%xmm1%{%%k1%}\n\tvmovupd %%zmm1, %%zmm0%{%%k3%}%{z%}\n\tvmovdqa32 %%ymm0, %%ymm17%{%%k2%}" : : : CLOB); break;
    case 9: __asm__ volatile("vpor %%ymm1, %%ymm2, %%ymm3\n\tvpand %%xmm3, %%xmm1, %%xmm4\n\tvpandn %%ymm4, %%ymm0, %%ymm5\n\tvmovdqu %%ymm5, %%ymm6" : : : CLOB); break;
    default: __asm__ volatile("vpaddb %%zmm18, %%zmm19, %%zmm17\n\tkaddw %%k6, %%k5, %%k3\n\tvpsubb %%zmm17, %%zmm0, %%zmm2%{%%k3%}" : : : CLOB); break;
  }
}

AVX512 static void snapshot(void) {
#define ST(n) __asm__ volatile("vmovdqu64 %%zmm" #n ", %0" : "=m"(dump[n]));
  ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7) ST(8) ST(9) ST(10) ST(11) ST(12) ST(13) ST(14) ST(15)
  ST(16) ST(17) ST(18) ST(19) ST(20) ST(21) ST(22) ST(23) ST(24) ST(25) ST(26) ST(27) ST(28) ST(29) ST(30) ST(31)
#define SK(n) __asm__ volatile("kmovq %%k" #n ", %0" : "=m"(kdump[n]));
  SK(0) SK(1) SK(2) SK(3) SK(4) SK(5) SK(6) SK(7)
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000;
  state = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
  if (!os_avx512()) { printf("avx512: not available\n"); return 0; }
  unsigned a, b, c, d;
  __cpuid_count(0xd, 0, a, b, c, d);
  if (c > sizeof area) return 2;
  for (long i = 0; i < n; i++) {
    for (int r = 0; r < 7; r++) for (int k = 0; k < 64; k += 8) { uint64_t v = next(); if ((v & 7) == 0) v = 0; memcpy(&data[r][k], &v, 8); }
    if (i % 4 == 0) load();
    block((unsigned)(next() % 11));
    if (i % 16 == 15) {
      unsigned lo, hi;
      snapshot();
      mix(dump, sizeof dump);
      mix(kdump, sizeof kdump);
      __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
      mix(&lo, 4);
      memset(area + 512, 0, 64);
      __asm__ volatile("xsave64 %0" : "+m"(area) : "a"(0xe6u), "d"(0u) : "memory");
      mix(area + 512, 8);
    }
  }
  snapshot();
  uint64_t last = h;
  h = 1469598103934665603ull;
  mix(dump, sizeof dump);
  mix(kdump, sizeof kdump);
  printf("steps %ld hash %016llx registers %016llx\n", n, (unsigned long long)last, (unsigned long long)h);
  return 0;
}
