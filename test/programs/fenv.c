/* <fenv.h>: rounding modes applied to double (SSE) and long double (x87) arithmetic, and the
 * exception flags each operation raises, read back with fetestexcept (which reads both MXCSR and
 * the x87 status word). IEEE 754 fixes every answer: nothing depends on the CPU. */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdio.h>

static void flags(const char *what) {
  int f = fetestexcept(FE_ALL_EXCEPT);
  printf("%-28s flags:%s%s%s%s%s%s\n", what, f & FE_INVALID ? " invalid" : "", f & FE_DIVBYZERO ? " divbyzero" : "",
         f & FE_OVERFLOW ? " overflow" : "", f & FE_UNDERFLOW ? " underflow" : "", f & FE_INEXACT ? " inexact" : "", f ? "" : " none");
  feclearexcept(FE_ALL_EXCEPT);
}

int main(void) {
  volatile double one = 1.0, three = 3.0, zero = 0.0, big = DBL_MAX, tiny = DBL_MIN, mone = -1.0;
  volatile long double lone = 1.0L, lthree = 3.0L, lzero = 0.0L, lbig = LDBL_MAX;
  volatile double r;
  volatile long double lr;
  feclearexcept(FE_ALL_EXCEPT);
  r = one + one; flags("double 1+1");
  r = one / three; flags("double 1/3");
  r = one / zero; flags("double 1/0");
  r = zero / zero; flags("double 0/0");
  r = big * 2.0; flags("double max*2");
  r = tiny / 3.0; flags("double min/3");
  r = sqrt(mone); flags("double sqrt(-1)");
  volatile float fr = (float)(one / three); flags("float (1/3)");
  volatile int iv = (int)(big); flags("(int)DBL_MAX");
  lr = lone / lthree; flags("long double 1/3");
  lr = lone / lzero; flags("long double 1/0");
  lr = lzero / lzero; flags("long double 0/0");
  lr = lbig * 2.0L; flags("long double max*2");
  feraiseexcept(FE_OVERFLOW | FE_INEXACT); flags("feraiseexcept(overflow|inexact)");
  const int modes[] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
  const char *names[] = { "to nearest", "downward", "upward", "toward zero" };
  for (int m = 0; m < 4; m++) {
    if (fesetround(modes[m])) { printf("fesetround(%s) failed\n", names[m]); continue; }
    volatile double a = one / three, b = -one / three, c = rint(2.5), d = nearbyint(-3.5);
    volatile float f = (float)(one / three);
    volatile long double la = lone / lthree;
    printf("%-12s 1/3 %a -1/3 %a rint(2.5) %g nearbyint(-3.5) %g (float)1/3 %a long double 1/3 %La lrint(2.5) %ld\n", names[m], a, b, c, d, f, la,
           lrint(2.5));
    feclearexcept(FE_ALL_EXCEPT);
  }
  fesetround(FE_TONEAREST);
  fenv_t env;
  feholdexcept(&env);
  r = one / zero;
  printf("feholdexcept then 1/0: divbyzero %s\n", fetestexcept(FE_DIVBYZERO) ? "set" : "clear");
  feupdateenv(&env);
  printf("after feupdateenv: divbyzero %s\n", fetestexcept(FE_DIVBYZERO) ? "set" : "clear");
  (void)r; (void)lr; (void)fr; (void)iv;
  return 0;
}
