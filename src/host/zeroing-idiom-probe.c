/*
 * Measures whether zeroing idioms set XINUSE (quirk zeroing-idiom-keeps-init). Each line is one
 * asm block: XRSTOR64 of an all-initial image (MXCSR 1F80H), the idiom, XGETBV(ECX=1).
 * Prints "<name> <xinuse hex>"; lines for AVX-512 only when argv[1] is "avx512".
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint8_t clean[16384] __attribute__((aligned(64)));

#define MEASURE(NAME, INSN)                                                                   \
  do {                                                                                        \
    uint32_t lo, hi;                                                                          \
    __asm__ volatile("mov $0xffffffff, %%eax\n\tmov $0xffffffff, %%edx\n\txrstor64 %2\n\t"  \
                     INSN "\n\tmov $1, %%ecx\n\txgetbv"                                       \
                     : "=&a"(lo), "=&d"(hi) : "m"(clean), "m"(*(uint8_t(*)[32])(clean + 1024)) : "ecx", "memory");                \
    printf("%s %x\n", NAME, lo);                                                              \
  } while (0)

int main(int argc, char **argv) {
  memset(clean, 0, sizeof clean);
  *(uint32_t *)(clean + 24) = 0x1f80;
  MEASURE("nothing", "");
  MEASURE("vpxor-ymm", "vpxor %%ymm3, %%ymm3, %%ymm3");
  MEASURE("vxorps-xmm", "vxorps %%xmm3, %%xmm3, %%xmm3");
  MEASURE("pxor-xmm", "pxor %%xmm3, %%xmm3");
  MEASURE("vmovdqa-ymm-from-zero-memory", "vmovdqa %3, %%ymm3");
  if (argc > 1 && strcmp(argv[1], "avx512") == 0) {
    MEASURE("vpxord-zmm17", "vpxord %%zmm17, %%zmm17, %%zmm17");
    MEASURE("kxorw-k1", "kxorw %%k1, %%k1, %%k1");
  }
  return 0;
}
