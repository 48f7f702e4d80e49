/*
 * Floating point as an ordinary program does it: printf and strtod of floats, libm, the rounding
 * modes and exception flags of <fenv.h>, vectorizable loops (built with -O3 -march=x86-64-v3 /
 * -v4 the compiler emits VEX/EVEX arithmetic, FMA, conversions and compares), and an unmasked
 * divide-by-zero caught as SIGFPE. The output must be the same natively and under xstate-lab.
 */
#define _GNU_SOURCE
#include <fenv.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1000
static float fa[N], fb[N], fc[N];
static double da[N], db[N], dc[N];
static int ia[N];
static long la[N];
static volatile double vzero = 0.0, vone = 1.0;
static sigjmp_buf jb;
static volatile int fpe_code;

static void on_fpe(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)ctx;
  fpe_code = si->si_code;
  siglongjmp(jb, 1);
}

static void flags(const char *what) {
  int f = fetestexcept(FE_ALL_EXCEPT);
  printf("%-22s flags:%s%s%s%s%s\n", what, f & FE_INVALID ? " invalid" : "", f & FE_DIVBYZERO ? " divbyzero" : "",
         f & FE_OVERFLOW ? " overflow" : "", f & FE_UNDERFLOW ? " underflow" : "", f & FE_INEXACT ? " inexact" : "");
  feclearexcept(FE_ALL_EXCEPT);
}

__attribute__((noinline)) static void kernels(void) {
  for (int i = 0; i < N; i++) fc[i] = fa[i] * fb[i] + fc[i];
  for (int i = 0; i < N; i++) dc[i] = da[i] / db[i] - sqrt(fabs(da[i]));
  for (int i = 0; i < N; i++) ia[i] = (int)(fa[i] * 1000.0f);
  for (int i = 0; i < N; i++) la[i] = lrint(da[i] * 1e6);
  for (int i = 0; i < N; i++) fb[i] = (float)da[i] + (float)ia[i];
  for (int i = 0; i < N; i++) da[i] = fa[i] > fb[i] ? fa[i] : (double)fb[i] * 0.5;
  for (int i = 0; i < N; i++) fa[i] = fminf(fa[i], fc[i]);
}

int main(int argc, char **argv) {
  (void)argv;
  unsigned s = 12345 + (unsigned)argc;
  for (int i = 0; i < N; i++) {
    s = s * 1103515245u + 12345u;
    fa[i] = (float)(s >> 8) / 65536.0f - 100.0f;
    s = s * 1103515245u + 12345u;
    fb[i] = (float)(s >> 8) / 3.0e6f + 0.25f;
    fc[i] = (float)i / 7.0f;
    da[i] = (double)fa[i] * 1.0000001;
    db[i] = (double)fb[i] - 0.125;
    dc[i] = 0;
  }
  feclearexcept(FE_ALL_EXCEPT);
  kernels();
  double sum = 0, fsum = 0;
  long isum = 0;
  for (int i = 0; i < N; i++) { sum += dc[i] + da[i]; fsum += fc[i] + fa[i] + fb[i]; isum += ia[i] + la[i]; }
  printf("sums %.17g %.9g %ld\n", sum, fsum, isum);
  flags("after the loops");

  const char *texts[] = { "0.1", "1e-310", "2.2250738585072011e-308", "1.7976931348623157e308", "1e309", "-0", "nan", "0x1.fffffep-127", "3.14159265358979323846264338327950288" };
  for (unsigned i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    double d = strtod(texts[i], 0);
    float f = strtof(texts[i], 0);
    printf("strtod(%s) = %.17g %a; strtof = %.9g %a\n", texts[i], d, d, (double)f, (double)f);
  }
  flags("after strtod");

  const double xs[] = { 0.5, 1.0, 2.5, -3.75, 1e-300, 700.0, 1e10 };
  for (unsigned i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    double x = xs[i];
    printf("x=%g sin %.17g cos %.17g exp %.17g log %.17g pow %.17g cbrt %.17g atan2 %.17g\n", x, sin(x), cos(x), exp(x), log(fabs(x)), pow(fabs(x), 0.3), cbrt(x), atan2(x, 3.0));
    printf("  floor %g ceil %g round %g trunc %g rint %g fma %.17g expf %.9g logf %.9g sinf %.9g\n", floor(x), ceil(x), round(x), trunc(x), rint(x), fma(x, x, -1.0), (double)expf((float)x), (double)logf(fabsf((float)x)), (double)sinf((float)x));
  }
  flags("after libm");

  const int modes[] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
  const char *mname[] = { "nearest", "down", "up", "toward zero" };
  for (int m = 0; m < 4; m++) {
    fesetround(modes[m]);
    volatile double a = 1.0, b = 3.0;
    volatile float fa1 = 1.0f, fb1 = 3.0f;
    printf("%-12s 1/3 %.17g -1/3 %.17g 1f/3f %.9g rint(2.5) %g lrint(-2.5) %ld nearbyint(0.5) %g sqrt2 %.17g\n", mname[m], a / b, -a / b, (double)(fa1 / fb1), rint(2.5), lrint(-2.5), nearbyint(0.5), sqrt(2.0));
    kernels();
  }
  fesetround(FE_TONEAREST);
  feclearexcept(FE_ALL_EXCEPT);
  volatile double r = vone / vzero;
  flags("1/0");
  r = vzero / vzero;
  flags("0/0");
  r = 1e308 * (vone + 9.0);
  flags("1e308*10");
  r = 1e-308 / (vone + 1e10);
  flags("1e-308/1e10");
  (void)r;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fpe;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGFPE, &sa, 0);
  if (sigsetjmp(jb, 1) == 0) {
    feenableexcept(FE_DIVBYZERO);
    volatile double q = vone / vzero;
    printf("no SIGFPE: %g\n", q);
  } else {
    printf("SIGFPE: si_code %d\n", fpe_code);
  }
  fedisableexcept(FE_ALL_EXCEPT);
  return 0;
}
