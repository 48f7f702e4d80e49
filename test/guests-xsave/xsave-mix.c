/*
 * A seeded random mix of what happens between XSAVE-family instructions in real programs, for
 * test/xsave-native.test.ts: SSE loads and zeroing, MXCSR writes, AVX loads and VZEROUPPER, x87
 * instructions, then XSAVE / XSAVEOPT / XSAVEC into one of two buffers per format with a random RFBM,
 * and XRSTOR (standard or compacted) of one of them with a random RFBM, in a loop. Prints a hash of
 * every saved image, of XGETBV(1) and of XMM0-3 and MXCSR after each restore, and the last image.
 *
 *   xsave-mix [iterations] [seed]
 */
#include "../guests/guest.h"
#include <stdlib.h>
#include <string.h>

static unsigned char std_area[2][16384] __attribute__((aligned(64)));
static unsigned char cmp_area[2][16384] __attribute__((aligned(64)));
static unsigned char data[4096] __attribute__((aligned(64)));
static unsigned char regs[4 * 16 + 4] __attribute__((aligned(16)));
static uint32_t seed;

static uint32_t rnd(void) { seed = seed * 1664525u + 1013904223u; return seed >> 8; }
static uint64_t hash(uint64_t h, const void *p, unsigned n) {
  const unsigned char *b = p;
  for (unsigned i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 3000;
  seed = argc > 2 ? (uint32_t)atol(argv[2]) : 12345;
  if (!has_bit(1, 0, 2, 27)) { printf("OSXSAVE: not available\n"); return 0; }
  unsigned xcr0 = (unsigned)xgetbv(0) & ~(1u << 17 | 1u << 18); /* no AMX: tiles need a configuration */
  unsigned size = 0, r[4];
  cpuid2(0xd, 0, r);
  size = r[1];
  int opt = has_bit(0xd, 1, 0, 0), cmp = has_bit(0xd, 1, 0, 1), xgetbv1 = has_bit(0xd, 1, 0, 2), avx = os_avx();
  for (unsigned i = 0; i < sizeof data; i++) data[i] = (unsigned char)(rnd() & 3 ? rnd() : 0);
  uint64_t h = 1469598103934665603ull;
  long saves = 0, restores = 0;
  for (unsigned b = 0; b < 2; b++) {
    __asm__ volatile("xsave64 %0" : "+m"(std_area[b]) : "a"(xcr0), "d"(0) : "memory");
    if (cmp) __asm__ volatile("xsavec64 %0" : "+m"(cmp_area[b]) : "a"(xcr0), "d"(0) : "memory");
  }
  for (long i = 0; i < n; i++) {
    unsigned x = rnd();
    const unsigned char *src = data + 16 * (rnd() % (sizeof data / 16 - 4));
    switch (x % 9) {
      case 0: __asm__ volatile("movdqu (%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1" : : "r"(src), "m"(*(const unsigned char(*)[32])src) : "xmm0", "xmm1"); break;
      case 1: __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm2, %%xmm2" : : : "xmm0", "xmm2"); break;
      case 2: { unsigned m = 0x1f80u ^ ((rnd() & 3) << 13) ^ (rnd() & 0x3f); __asm__ volatile("ldmxcsr %0" : : "m"(m)); break; }
      case 3: if (avx) __asm__ volatile("vmovdqu %0, %%ymm3" : : "m"(*(const unsigned char(*)[32])src) : "xmm3"); break;
      case 4: if (avx) __asm__ volatile("vzeroupper" : : : "xmm0", "xmm1", "xmm2", "xmm3"); break;
      case 5: __asm__ volatile("fld1\n\tfstp %%st(0)" : : : "st"); break;
      case 6: __asm__ volatile("fninit"); break;
      case 7: __asm__ volatile("movdqu %0, %%xmm3" : : "m"(*(const unsigned char(*)[16])src) : "xmm3"); break;
      default: break;
    }
    unsigned rfbm = xcr0 & (rnd() & 7 ? 0xffffffffu : rnd());
    unsigned b = rnd() & 1;
    unsigned kind = rnd() % 3;
    if (kind == 1 && !opt) kind = 0;
    if (kind == 2 && !cmp) kind = 0;
    if (kind == 0) __asm__ volatile("xsave64 %0" : "+m"(std_area[b]) : "a"(rfbm), "d"(0) : "memory");
    else if (kind == 1) __asm__ volatile("xsaveopt64 %0" : "+m"(std_area[b]) : "a"(rfbm), "d"(0) : "memory");
    else __asm__ volatile("xsavec64 %0" : "+m"(cmp_area[b]) : "a"(rfbm), "d"(0) : "memory");
    saves++;
    h = hash(h, kind == 2 ? cmp_area[b] : std_area[b], size);
    if (rnd() & 1) {
      unsigned rb = rnd() & 1, rr = xcr0 & (rnd() & 3 ? 0xffffffffu : rnd());
      if (cmp && (rnd() & 1)) __asm__ volatile("xrstor64 %0" : : "m"(cmp_area[rb]), "a"(rr), "d"(0) : "memory", "xmm0", "xmm1", "xmm2", "xmm3");
      else __asm__ volatile("xrstor64 %0" : : "m"(std_area[rb]), "a"(rr), "d"(0) : "memory", "xmm0", "xmm1", "xmm2", "xmm3");
      restores++;
      __asm__ volatile("movdqu %%xmm0, (%0)\n\tmovdqu %%xmm1, 16(%0)\n\tmovdqu %%xmm2, 32(%0)\n\tmovdqu %%xmm3, 48(%0)\n\tstmxcsr 64(%0)" : : "r"(regs) : "memory");
      h = hash(h, regs, sizeof regs);
      if (xgetbv1) { uint64_t u = xgetbv(1); h = hash(h, &u, 8); }
    }
  }
  printf("xcr0 0x%x size %u xsaveopt %d xsavec %d: %ld saves, %ld restores, hash %016llx\n", xcr0, size, opt, cmp, saves, restores, (unsigned long long)h);
  hexdump_nonzero("last standard image", std_area[0], size);
  return 0;
}
