/* AVX-512 F/BW/VL instructions the model emulates: zmm moves, masked and zeroing moves, compares
 * into k registers, k-register logic, VPTERNLOGD, registers 16-31, VPMOVM2D/VPMOVD2M. */
#include "guest.h"
int main(void) {
  if (!os_avx512()) { printf("AVX-512: not available on this CPU/OS, nothing run\n"); return 0; }
  uint32_t a[16], out[16], masked[16], tern[16], hi[16], m2d[16];
  for (int i = 0; i < 16; i++) a[i] = i * 0x01010101u;
  uint32_t k1v, kor, k3v, d2m;
  uint64_t inuse;
  __asm__ volatile(
      "vmovdqu32 %[a], %%zmm0\n\t"
      "mov $0x07070707, %%eax\n\t"
      "vpbroadcastd %%eax, %%zmm1\n\t"
      "vpaddd %%zmm1, %%zmm0, %%zmm2\n\t"
      "vmovdqu32 %%zmm2, %[out]\n\t"
      "vpcmpud $1, %%zmm1, %%zmm0, %%k1\n\t"        /* a < 0x07070707 */
      "kmovw %%k1, %[k1v]\n\t"
      "vmovdqu32 %%zmm2, %%zmm3%{%%k1%}%{z%}\n\t"
      "vmovdqu32 %%zmm3, %[masked]\n\t"
      "vpternlogd $0x96, %%zmm1, %%zmm0, %%zmm2\n\t"
      "vmovdqu32 %%zmm2, %[tern]\n\t"
      "vmovdqa32 %%zmm0, %%zmm17\n\t"
      "vpxord %%zmm1, %%zmm17, %%zmm30\n\t"
      "vmovdqu32 %%zmm30, %[hi]\n\t"
      "knotw %%k1, %%k2\n\t"
      "korw %%k1, %%k2, %%k3\n\t"
      "kortestw %%k3, %%k3\n\t"
      "setc %b[kor]\n\t"
      "kshiftlw $3, %%k1, %%k3\n\t"
      "kmovw %%k3, %[k3v]\n\t"
      "vpmovm2d %%k1, %%zmm4\n\t"
      "vmovdqu32 %%zmm4, %[m2d]\n\t"
      "vpmovd2m %%zmm4, %%k4\n\t"
      "kmovw %%k4, %[d2m]\n\t"
      "mov $1, %%ecx\n\t"
      "xgetbv\n\t"
      "mov %%rax, %[inuse]\n\t"
      "vzeroupper\n\t"
      : [out] "=m"(out), [masked] "=m"(masked), [tern] "=m"(tern), [hi] "=m"(hi), [m2d] "=m"(m2d), [k1v] "=&r"(k1v), [kor] "=&r"(kor),
        [k3v] "=&r"(k3v), [d2m] "=&r"(d2m), [inuse] "=m"(inuse)
      : [a] "m"(a)
      : "rax", "rcx", "rdx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "memory");
  hexdump("add", out, 64);
  hexdump("masked-zeroing", masked, 64);
  hexdump("ternlog", tern, 64);
  hexdump("zmm30", hi, 64);
  hexdump("vpmovm2d", m2d, 64);
  printf("k1 %04x kortest cf %u kshiftl %04x vpmovd2m %04x\n", k1v, kor & 1, k3v, d2m);
  printf("XINUSE opmask %d zmm_hi256 %d hi16_zmm %d\n", (int)((inuse >> 5) & 1), (int)((inuse >> 6) & 1), (int)((inuse >> 7) & 1));
  return 0;
}
