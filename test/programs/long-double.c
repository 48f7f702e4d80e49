/* long double (x87 extended precision) arithmetic and libm: the 80-bit results printed with %La
 * and %.21Lg, the x87 control word's precision and rounding fields, and conversions to and from
 * integers. The x87 unit is the same on every x86-64 CPU. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t h = 0xcbf29ce484222325ull;
static void mix(long double v) { unsigned char b[10]; memcpy(b, &v, 10); for (int i = 0; i < 10; i++) h = (h ^ b[i]) * 0x100000001b3ull; }
static unsigned short fcw(void) { unsigned short c; __asm__ volatile("fnstcw %0" : "=m"(c)); return c; }
static void set_fcw(unsigned short c) { __asm__ volatile("fldcw %0" : : "m"(c) : "memory"); }

int main(void) {
  printf("LDBL_MANT_DIG %d LDBL_EPSILON %La LDBL_MAX %La LDBL_MIN %La\n", LDBL_MANT_DIG, LDBL_EPSILON, LDBL_MAX, LDBL_MIN);
  long double x = 1.0L;
  for (int i = 1; i <= 30; i++) {
    x = x * 3.0L / (i + 0.5L) + 1.0L / i;
    mix(x);
  }
  printf("recurrence: %La %.21Lg\n", x, x);
  const long double args[] = { 0.5L, 1.0L, 2.0L, 3.0L, 10.0L, 0.1L, 1e-30L, 1e30L, 12345.6789L, -7.25L };
  for (unsigned i = 0; i < sizeof args / sizeof args[0]; i++) {
    long double a = args[i];
    printf("%Lg: sqrtl %La expl %La logl %La sinl %La cosl %La powl %La atan2l %La\n", a, sqrtl(fabsl(a)), expl(a / 10), logl(fabsl(a)),
           sinl(a), cosl(a), powl(fabsl(a), 1.25L), atan2l(a, 3.0L));
    mix(sqrtl(fabsl(a))); mix(tanl(a)); mix(cbrtl(a)); mix(exp2l(a / 8)); mix(log2l(fabsl(a))); mix(fmodl(a, 0.3L)); mix(hypotl(a, 2));
  }
  /* Integer conversions: fistp/fisttp of halfway and large values in each rounding mode. */
  const long double conv[] = { 2.5L, -2.5L, 3.5L, 0.49999999999999999995L, 9.2233720368547758e18L, -1.5L };
  for (unsigned i = 0; i < sizeof conv / sizeof conv[0]; i++) {
    printf("(long long)%.21Lg = %lld, llrintl = %lld, lrintl = %ld, roundl %La, truncl %La\n", conv[i], (long long)conv[i], llrintl(conv[i]),
           lrintl(conv[i]), roundl(conv[i]), truncl(conv[i]));
  }
  /* Precision control: 1/3 at 24, 53 and 64 bits; rounding control: 2/3 in each mode. */
  unsigned short saved = fcw();
  printf("FCW at start %04x\n", saved);
  const char *pc[] = { "single", "reserved", "double", "extended" };
  for (int p = 0; p < 4; p += (p == 0 ? 2 : 1)) {
    set_fcw((unsigned short)((saved & ~0x300) | (p << 8)));
    volatile long double one = 1.0L, three = 3.0L;
    volatile long double r = one / three;
    set_fcw(saved);
    printf("precision %s: 1/3 = %La\n", pc[p], r);
  }
  const char *rc[] = { "nearest", "down", "up", "toward zero" };
  for (int m = 0; m < 4; m++) {
    set_fcw((unsigned short)((saved & ~0xc00) | (m << 10)));
    volatile long double two = 2.0L, three = 3.0L, mtwo = -2.0L;
    volatile long double r = two / three, s = mtwo / three;
    long long q;
    __asm__ volatile("fistpll %0" : "=m"(q) : "t"(two * 1.25L) : "st");
    set_fcw(saved);
    printf("rounding %s: 2/3 = %La, -2/3 = %La, fistp(2.5) = %lld\n", rc[m], r, s, q);
  }
  printf("hash %016llx\n", (unsigned long long)h);
  return 0;
}
