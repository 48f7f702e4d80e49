/* Dies of SIGSEGV (a store to address 16) with known vector, opmask and PKRU state in its
 * registers, from a function a debugger can name: for core files (exec --core) read by GDB. */
#include "guest.h"
#include <string.h>

static uint8_t zmm_in[64], z17_in[64];

__attribute__((noinline)) void crash_here(int avx512, int pku) {
  uint64_t k = 0x0123456789abcdefull;
  if (avx512) {
    __asm__ volatile("vmovdqu64 %0, %%zmm3\n\tvmovdqu64 %1, %%zmm17\n\tkmovq %2, %%k3" : : "m"(zmm_in), "m"(z17_in), "m"(k) : "xmm3", "memory");
  } else if (os_avx()) {
    __asm__ volatile("vmovdqu %0, %%ymm3" : : "m"(zmm_in) : "xmm3", "memory");
  } else {
    __asm__ volatile("movdqu %0, %%xmm3" : : "m"(zmm_in) : "xmm3", "memory");
  }
  if (pku) __asm__ volatile("wrpkru" : : "a"(0x0c), "c"(0), "d"(0));
  __asm__ volatile("movl $0x2a, %%eax\n\tmovq $16, %%rbx\n\tmovl %%eax, (%%rbx)" : : : "rax", "rbx", "memory");
}

int main(void) {
  for (int i = 0; i < 64; i++) { zmm_in[i] = 0x40 + i; z17_in[i] = 0x90 + i; }
  printf("crashing\n");
  fflush(stdout);
  crash_here(os_avx512(), has_bit(7, 0, 2, 4));
  return 0;
}
