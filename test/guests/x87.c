/* x87 arithmetic (long double), control word, and FXSAVE-visible x87 state. */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
int main(void) {
  volatile long double a = 1.0L, b = 3.0L;
  long double c = a / b, s = 0;
  for (int i = 1; i <= 50; i++) s += 1.0L / ((long double)i * i);
  printf("1/3 = %.20Lf\nzeta(2) partial = %.18Lf\n", c, s);
  long double r;
  __asm__("fldl2e; fldpi; fmulp; fsqrt" : "=t"(r));
  printf("sqrt(pi*log2e) = %.18Lf\n", r);
  uint16_t cw, sw;
  __asm__ volatile("fnstcw %0" : "=m"(cw));
  __asm__ volatile("fnstsw %0" : "=m"(sw));
  printf("fcw %04x fsw %04x\n", cw, sw & 0x3800);
  uint16_t ncw = (cw & ~0x0c00) | 0x0c00; /* round toward zero */
  __asm__ volatile("fldcw %0" : : "m"(ncw));
  volatile long double x = 2.0L / 3.0L;
  long long ll;
  __asm__ volatile("fistpll %0" : "=m"(ll) : "t"(x * 10) : "st");
  __asm__ volatile("fldcw %0" : : "m"(cw));
  printf("truncated %lld\n", ll);
  double d = sin(1.0) + cos(2.0) + exp(0.5) + log(10.0) + pow(2.0, 0.3);
  printf("libm %.15f\n", d);
  return 0;
}
