/* FXSAVE64/FXRSTOR64: x87 stack, control/status/tag words and XMM registers as the image shows
 * them, and a restore of an edited image read back through the registers. */
#include "guest.h"
#include <string.h>
static unsigned char fx[512] __attribute__((aligned(16))), fx2[512] __attribute__((aligned(16)));
int main(void) {
  uint32_t in[16] = {0x11111111, 0x22222222, 0x33333333, 0x44444444, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, out[8];
  long double st0;
  __asm__ volatile("fninit\n\tfld1\n\tfldpi\n\tfldl2t\n\t"
                   "movdqu %[in], %%xmm0\n\tmovdqu 16+%[in], %%xmm1\n\tmovdqu 32+%[in], %%xmm14\n\t"
                   "fxsave64 %[fx]\n\t"
                   "ffree %%st(0)\n\tfincstp\n\tffree %%st(0)\n\tfincstp\n\tffree %%st(0)\n\tfincstp\n\t"
                   : [fx] "=m"(fx) : [in] "m"(in) : "xmm0", "xmm1", "xmm14", "memory");
  hexdump("FXSAVE64 FCW FSW FTW FOP FIP FDP MXCSR MXCSR_MASK", fx, 32);
  hexdump("FXSAVE64 ST0-2", fx + 32, 48);
  hexdump("FXSAVE64 XMM0,1,14", fx + 160, 32);
  hexdump("", fx + 160 + 14 * 16, 16);
  memcpy(fx2, fx, 512);
  fx2[160] = 0xab;        /* XMM0 byte 0 */
  fx2[24] = 0x80; fx2[25] = 0x7f; /* MXCSR 7F80: round toward zero */
  unsigned mx;
  __asm__ volatile("fxrstor64 %[fx2]\n\tmovdqu %%xmm0, %[out]\n\tmovdqu %%xmm1, 16+%[out]\n\tstmxcsr %[mx]\n\tfstpt %[st0]\n\tfninit"
                   : [out] "=m"(out), [mx] "=m"(mx), [st0] "=m"(st0) : [fx2] "m"(fx2) : "xmm0", "xmm1", "memory");
  unsigned def = 0x1f80;
  __asm__ volatile("ldmxcsr %0" : : "m"(def));
  printf("after FXRSTOR: xmm0 %08x %08x xmm1 %08x mxcsr %04x st0 %.15Lf\n", out[0], out[3], out[4], mx, st0);
  return 0;
}
