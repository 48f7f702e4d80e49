/* AVX/AVX2 instructions the model emulates: moves, integer add/xor, compares, VPMOVMSKB, VPTEST,
 * broadcasts, inserts/extracts, VZEROUPPER; legacy SSE writes keep bits 255:128. */
#include "guest.h"
int main(void) {
  if (!os_avx2()) { printf("AVX2: not available on this CPU/OS, nothing run\n"); return 0; }
  uint32_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[8] = {8, 7, 6, 5, 4, 3, 2, 1}, sum[8], x[8], up[8], bc[8];
  uint32_t msk, ptest_zf, ptest_cf;
  uint64_t inuse_before, inuse_after;
  __asm__ volatile(
      "vmovdqu %[a], %%ymm0\n\t"
      "vmovdqu %[b], %%ymm1\n\t"
      "vpaddd %%ymm1, %%ymm0, %%ymm2\n\t"
      "vmovdqu %%ymm2, %[sum]\n\t"
      "vpxor %%ymm1, %%ymm0, %%ymm3\n\t"
      "vpcmpgtd %%ymm1, %%ymm0, %%ymm4\n\t"
      "vpmovmskb %%ymm4, %[msk]\n\t"
      "vextracti128 $1, %%ymm3, %%xmm5\n\t"
      "vinserti128 $1, %%xmm0, %%ymm3, %%ymm6\n\t"
      "vmovdqu %%ymm6, %[x]\n\t"
      "vptest %%ymm4, %%ymm4\n\t"
      "setz %b[zf]\n\t"
      "setc %b[cf]\n\t"
      "xor %%ecx, %%ecx\n\t"
      "xgetbv\n\t"
      "mov %%rax, %[in0]\n\t"
      "pxor %%xmm2, %%xmm2\n\t"          /* legacy SSE: bits 255:128 of ymm2 stay */
      "vmovdqu %%ymm2, %[up]\n\t"
      "mov $0x01020304, %%eax\n\t"
      "vmovd %%eax, %%xmm7\n\t"
      "vpbroadcastd %%xmm7, %%ymm7\n\t"
      "vmovdqu %%ymm7, %[bc]\n\t"
      "vzeroupper\n\t"
      "mov $1, %%ecx\n\t"
      "xgetbv\n\t"
      "mov %%rax, %[in1]\n\t"
      : [sum] "=m"(sum), [x] "=m"(x), [up] "=m"(up), [bc] "=m"(bc), [msk] "=&r"(msk), [zf] "=&r"(ptest_zf), [cf] "=&r"(ptest_cf),
        [in0] "=m"(inuse_before), [in1] "=m"(inuse_after)
      : [a] "m"(a), [b] "m"(b), "c"(1)
      : "rax", "rdx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "memory");
  printf("sum:"); for (int i = 0; i < 8; i++) printf(" %u", sum[i]); printf("\n");
  printf("insert/extract:"); for (int i = 0; i < 8; i++) printf(" %u", x[i]); printf("\n");
  printf("legacy pxor keeps upper:"); for (int i = 0; i < 8; i++) printf(" %u", up[i]); printf("\n");
  printf("broadcast: %08x %08x\n", bc[0], bc[7]);
  printf("movmsk %08x ptest zf=%u cf=%u\n", msk, ptest_zf & 1, ptest_cf & 1);
  printf("XINUSE.AVX with live ymm: %d, after vzeroupper: %d\n", (int)((inuse_before >> 2) & 1), (int)((inuse_after >> 2) & 1));
  return 0;
}
