/* CPUID as programs see it: leaf 0xD for the current XCR0, the OS bits, XGETBV(0), and the auxv
 * entries that come from the CPU (AT_HWCAP, AT_HWCAP2, AT_MINSIGSTKSZ). */
#include "guest.h"
#include <sys/auxv.h>
int main(void) {
  unsigned r[4];
  cpuid2(0, 0, r);
  printf("max leaf %x vendor %.4s%.4s%.4s\n", r[0], (char *)&r[1], (char *)&r[3], (char *)&r[2]);
  cpuid2(1, 0, r);
  printf("leaf 1: eax %08x ecx %08x edx %08x (OSXSAVE %u)\n", r[0], r[2], r[3], (r[2] >> 27) & 1);
  cpuid2(7, 0, r);
  printf("leaf 7.0: %08x %08x %08x %08x (OSPKE %u)\n", r[0], r[1], r[2], r[3], (r[2] >> 4) & 1);
  if (!((r[0] | 1))) return 1;
  cpuid2(1, 0, r);
  if ((r[2] >> 27) & 1) {
    printf("XCR0 %llx\n", (unsigned long long)xgetbv(0));
    for (unsigned s = 0; s < 20; s++) {
      cpuid2(0xd, s, r);
      if (s < 2 || r[0]) printf("leaf d.%u: %08x %08x %08x %08x\n", s, r[0], r[1], r[2], r[3]);
    }
  } else printf("no OSXSAVE\n");
  printf("AT_HWCAP %lx AT_HWCAP2 %lx\n", getauxval(AT_HWCAP), getauxval(AT_HWCAP2));
  return 0;
}
