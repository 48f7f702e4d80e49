/* stdio with floating point: printf in every conversion and precision, scanf/sscanf, strtod,
 * strtof and strtold round trips, over values that stress rounding (halfway cases, subnormals,
 * large exponents). Output is the text itself; nothing depends on the CPU. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double values[] = { 0.0, -0.0, 1.0, -1.5, 0.1, 0.5, 2.5, 1e-5, 123456.789, 1e15, 9007199254740993.0, 1e22, 1e23,
                                 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 3.141592653589793, 2.718281828459045,
                                 0.3333333333333333, 1.0 / 7, 4.35, 0.125, 1e100, 1e-100, 6.02214076e23, 1.5e-7 };

int main(void) {
  char buf[512];
  unsigned bad = 0;
  for (unsigned i = 0; i < sizeof values / sizeof values[0]; i++) {
    double v = values[i];
    printf("%u: %f|%.0f|%.17g|%e|%.3e|%g|%a|%10.4f|%-12.2e|%+g\n", i, v, v, v, v, v, v, v, v, v, v);
    float f = (float)v;
    printf("   float %.9g %a  long double %.21Lg %La\n", f, f, (long double)v / 3, (long double)v / 3);
    /* Round trips: the shortest %.17g text reads back to the same bits. */
    snprintf(buf, sizeof buf, "%.17g", v);
    double back = strtod(buf, 0);
    if (memcmp(&back, &v, sizeof v)) { bad++; printf("   strtod round trip of %s differs\n", buf); }
    snprintf(buf, sizeof buf, "%a", v);
    double hb = strtod(buf, 0);
    if (memcmp(&hb, &v, sizeof v)) { bad++; printf("   hex round trip of %s differs\n", buf); }
    snprintf(buf, sizeof buf, "%.9g", f);
    float fb = strtof(buf, 0);
    if (memcmp(&fb, &f, sizeof f)) { bad++; printf("   strtof round trip of %s differs\n", buf); }
    long double l = (long double)v / 3;
    snprintf(buf, sizeof buf, "%.21Lg", l);
    long double lb = strtold(buf, 0);
    if (memcmp(&lb, &l, 10)) { bad++; printf("   strtold round trip of %s differs\n", buf); }
  }
  /* Decimal strings near halfway points and odd syntax. */
  const char *texts[] = { "0.1", "1e-400", "1e400", "-0", "0x1.fffffffffffffp1023", "2.4703282292062328e-324", "2.4703282292062327e-324",
                          "9007199254740993", "1.00000000000000011102230246251565404236316680908203125", "  +42.5e-1xyz", "inf", "-Infinity",
                          "nan", "0x1p-1074", "123456789012345678901234567890", ".5", "5.", "1e", "0e0", "4.9406564584124654e-324" };
  for (unsigned i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    char *end;
    double d = strtod(texts[i], &end);
    float f = strtof(texts[i], 0);
    long double l = strtold(texts[i], 0);
    printf("strtod(\"%s\") = %a (%.17g) used %d; strtof %a; strtold %La\n", texts[i], d, d, (int)(end - texts[i]), f, l);
  }
  /* scanf family. */
  double x, y; float z; long double w; int n, cnt;
  cnt = sscanf("3.25 -7e-3 0.1 12.5e3 99", "%lf %lf %f %Lf %d", &x, &y, &z, &w, &n);
  printf("sscanf: %d fields: %.17g %.17g %.9g %.21Lg %d\n", cnt, x, y, z, w, n);
  cnt = sscanf("0x1.8p3,nan,-inf", "%lf,%lf,%lf", &x, &y, &x);
  printf("sscanf hex/nan/inf: %d fields: %g %g\n", cnt, x, y);
  /* Formatting many computed values: a hash of the text. */
  uint64_t h = 0xcbf29ce484222325ull;
  double v = 1.0;
  for (int i = 0; i < 400; i++) {
    v = v * 1.0009765625 + 1.0 / (i + 3);
    int len = snprintf(buf, sizeof buf, "%.15e %g %.3f %a", v, v / 1e5, -v, v);
    for (int k = 0; k < len; k++) h = (h ^ (unsigned char)buf[k]) * 0x100000001b3ull;
  }
  printf("400 formatted values: hash %016llx, last %.17g\n", (unsigned long long)h, v);
  printf("round-trip failures: %u\n", bad);
  return bad ? 1 : 0;
}
