/* XINUSE (XGETBV(1)) after single instructions, each run right after an XRSTOR that puts every
 * component in its initial configuration: zeroing idioms, moves of zero, loads of zero and of data,
 * legacy SSE and VEX writes. This is where CPUs differ (see the quirks in emulator/quirks.ts). */
#include "guest.h"
#include <string.h>
static unsigned char init_img[16384] __attribute__((aligned(64)));
static unsigned char zeros[64] __attribute__((aligned(64))), ones[64] __attribute__((aligned(64)));

#define CASE(name, insn)                                                                                     \
  do {                                                                                                       \
    unsigned lo, hi;                                                                                         \
    __asm__ volatile("xrstor64 %[img]\n\t" insn "\n\tmov $1, %%ecx\n\txgetbv"                                \
                     : "=a"(lo), "=d"(hi) : [img] "m"(init_img), "a"(mask), "d"(0), [z] "m"(zeros), [o] "m"(ones) \
                     : "rcx", "xmm0", "xmm1", "xmm2", "memory");                                             \
    printf("%-34s XINUSE & 0xe6 = %02x\n", name, lo & 0xe6);                                                  \
  } while (0)

int main(void) {
  if (!has_bit(0xd, 1, 0, 2)) { printf("XGETBV(1): not available, nothing run\n"); return 0; }
  memset(ones, 0x5a, sizeof ones);
  init_img[0] = 0x7f; init_img[1] = 0x03; init_img[24] = 0x80; init_img[25] = 0x1f; /* FCW, MXCSR initial */
  unsigned mask = (unsigned)(xgetbv(0) & 0xe7);
  CASE("nothing", "nop");
  CASE("pxor xmm0,xmm0 (legacy idiom)", "pxor %%xmm0, %%xmm0");
  CASE("movdqa xmm0 <- ones", "movdqa %[o], %%xmm0");
  CASE("movdqa xmm0 <- zeros", "movdqa %[z], %%xmm0");
  if (os_avx2()) {
    CASE("vpxor ymm0,ymm0,ymm0 (idiom)", "vpxor %%ymm0, %%ymm0, %%ymm0");
    CASE("vmovdqu ymm0 <- zeros", "vmovdqu %[z], %%ymm0");
    CASE("vmovdqu ymm0 <- ones", "vmovdqu %[o], %%ymm0");
    CASE("vmovdqa ymm1 <- ymm0 (zero)", "vmovdqa %%ymm0, %%ymm1");
    CASE("vmovdqu ymm0 <- ones; vzeroupper", "vmovdqu %[o], %%ymm0\n\tvzeroupper");
  } else printf("AVX2: not available, AVX cases not run\n");
  if (os_avx512()) {
    CASE("kxorw k1,k1,k1 (idiom)", "kxorw %%k1, %%k1, %%k1");
    CASE("vpxord zmm16,zmm16,zmm16 (idiom)", "vpxord %%zmm16, %%zmm16, %%zmm16");
    CASE("vmovdqu64 zmm0 <- ones", "vmovdqu64 %[o], %%zmm0");
  } else printf("AVX-512: not available, AVX-512 cases not run\n");
  return 0;
}
