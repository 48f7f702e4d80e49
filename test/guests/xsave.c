/* XRSTOR of a known image, then XSAVE, XSAVEOPT and XSAVEC of it, printed as hex; the init
 * optimization after XRSTOR with a small XSTATE_BV; XGETBV(1) after each restore. The dynamic AMX
 * components (17, 18) are left out of the masks: Linux arms XFD for tile data. */
#include "guest.h"
#include <stdlib.h>
#include <string.h>

#define AMX_BITS ((1ull << 17) | (1ull << 18))
static unsigned char img[16384] __attribute__((aligned(64)));
static unsigned char out[16384] __attribute__((aligned(64)));

static void fill(unsigned char *p, unsigned n, unsigned seed) {
  for (unsigned i = 0; i < n; i++) p[i] = (unsigned char)(seed * 31 + i * 7 + 1);
}

int main(void) {
  if (!has_bit(1, 0, 2, 27)) { printf("XSAVE: OSXSAVE is clear, nothing run\n"); return 0; }
  unsigned r[4];
  cpuid2(0xd, 0, r);
  uint64_t xcr0 = xgetbv(0);
  uint64_t rfbm = xcr0 & ~AMX_BITS;
  unsigned size = r[1];
  printf("xcr0 %llx rfbm %llx standard size %u\n", (unsigned long long)xcr0, (unsigned long long)rfbm, size);
  if (size > sizeof img) { printf("area too big\n"); return 1; }
  memset(img, 0, sizeof img);
  /* legacy region: FCW 037F, all x87 registers valid, MXCSR 1F80 with its mask; patterns elsewhere. */
  img[0] = 0x7f; img[1] = 0x03; img[4] = 0xff;
  img[24] = 0x80; img[25] = 0x1f;
  for (int i = 0; i < 8; i++) { fill(img + 32 + 16 * i, 8, 100 + i); img[32 + 16 * i + 7] |= 0x80; img[32 + 16 * i + 8] = 0xff; img[32 + 16 * i + 9] = 0x3f; }
  fill(img + 160, 256, 7);
  uint64_t bv = rfbm & ~(1ull << 9); /* keep PKRU out: it is the kernel's business */
  for (int i = 2; i < 32; i++) {
    if (!((bv >> i) & 1)) continue;
    unsigned c[4];
    cpuid2(0xd, i, c);
    fill(img + c[1], c[0], i);
  }
  memcpy(img + 512, &bv, 8);
  uint64_t inuse1, inuse2;
  unsigned lo = (unsigned)rfbm, hi = (unsigned)(rfbm >> 32);
  memset(out, 0, sizeof out);
  __asm__ volatile("xrstor64 %[img]\n\txsave64 %[out]\n\tmov $1, %%ecx\n\txgetbv\n\tmov %%eax, %%eax\n\tshl $32, %%rdx\n\tor %%rdx, %%rax\n\tmov %%rax, %[in]"
                   : [out] "+m"(out), [in] "=m"(inuse1) : [img] "m"(img), "a"(lo), "d"(hi) : "rcx", "memory");
  printf("XGETBV(1) after XRSTOR: %llx\n", (unsigned long long)(inuse1 & rfbm));
  hexdump_nonzero("XSAVE", out, size);
  if (has_bit(0xd, 1, 0, 0)) {
    memset(out, 0xcc, sizeof out);
    __asm__ volatile("xrstor64 %[img]\n\txsaveopt64 %[out]" : [out] "+m"(out) : [img] "m"(img), "a"(lo), "d"(hi) : "memory");
    hexdump_nonzero("XSAVEOPT over 0xcc", out, size);
  } else printf("XSAVEOPT: not available\n");
  if (has_bit(0xd, 1, 0, 1)) {
    memset(out, 0, sizeof out);
    __asm__ volatile("xrstor64 %[img]\n\txsavec64 %[out]" : [out] "+m"(out) : [img] "m"(img), "a"(lo), "d"(hi) : "memory");
    unsigned c[4];
    cpuid2(0xd, 1, c);
    hexdump_nonzero("XSAVEC", out, c[1] < sizeof out ? c[1] : sizeof out);
    /* XRSTOR of the compacted image gives back the same state */
    static unsigned char again[16384] __attribute__((aligned(64)));
    memcpy(again, out, sizeof out);
    memset(out, 0, sizeof out);
    __asm__ volatile("xrstor64 %[again]\n\txsave64 %[out]" : [out] "+m"(out) : [again] "m"(again), "a"(lo), "d"(hi) : "memory");
    printf("XRSTOR(compacted)+XSAVE equals the first XSAVE: %s\n", memcmp(out + 576, img + 576, 64) == 0 ? "upper bytes match image" : "differs");
  } else printf("XSAVEC: not available\n");
  /* init optimization: restore with only x87 in XSTATE_BV */
  uint64_t small = 1;
  memcpy(img + 512, &small, 8);
  memset(out, 0, sizeof out);
  __asm__ volatile("xrstor64 %[img]\n\txsave64 %[out]\n\tmov $1, %%ecx\n\txgetbv\n\tmov %%eax, %%eax\n\tshl $32, %%rdx\n\tor %%rdx, %%rax\n\tmov %%rax, %[in]"
                   : [out] "+m"(out), [in] "=m"(inuse2) : [img] "m"(img), "a"(lo), "d"(hi) : "rcx", "memory");
  static unsigned char fx[512] __attribute__((aligned(64)));
  __asm__ volatile("xrstor64 %[img]\n\tfxsave64 %[fx]" : [fx] "+m"(fx) : [img] "m"(img), "a"(lo), "d"(hi) : "memory");
  uint64_t xstate_bv;
  memcpy(&xstate_bv, out + 512, 8);
  printf("after XRSTOR with XSTATE_BV=1: XSTATE_BV %llx XGETBV(1) %llx\n", (unsigned long long)(xstate_bv & ~(1ull << 9)), (unsigned long long)(inuse2 & rfbm & ~(1ull << 9)));
  hexdump("legacy region after init restore", out, 416);
  hexdump("FXSAVE64 right after the same XRSTOR", fx, 416);
  return 0;
}
