/*
 * Prints this CPU's CPUID leaves in the raw format of Debian's `cpuid -r -1`, so that
 * `xstate-lab cpu capture` reuses the dump importer. Runs pinned to CPU 0. Also prints XCR0
 * (XGETBV, ECX=0) as a comment line when OSXSAVE is set, and the hypervisor's leaf 40000000H
 * (max leaf in EAX, signature in EBX:ECX:EDX) as a comment line when CPUID.01H:ECX[31] (the
 * hypervisor-present bit, reserved for it by both vendors) is set.
 * Sub-leaf enumeration per leaf follows the SDM Vol. 2A CPUID table.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>

static void line(unsigned leaf, unsigned sub) {
  unsigned a, b, c, d;
  __cpuid_count(leaf, sub, a, b, c, d);
  printf("   0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n", leaf, sub, a, b, c, d);
}

static unsigned eax_of(unsigned leaf, unsigned sub) {
  unsigned a, b, c, d;
  __cpuid_count(leaf, sub, a, b, c, d);
  return a;
}

static void range(unsigned first) {
  unsigned max = eax_of(first, 0);
  if (max < first || max > first + 0xff) return;
  for (unsigned leaf = first; leaf <= max; leaf++) {
    unsigned a, b, c, d, n;
    switch (leaf) {
    case 0x4: case 0x8000001d: /* deterministic cache parameters: until type 0 */
      for (n = 0; n < 16; n++) { line(leaf, n); __cpuid_count(leaf, n, a, b, c, d); if ((a & 0x1f) == 0) break; }
      break;
    case 0xb: case 0x1f: /* topology: until level type 0 */
      for (n = 0; n < 8; n++) { line(leaf, n); __cpuid_count(leaf, n, a, b, c, d); if (((c >> 8) & 0xff) == 0) break; }
      break;
    case 0xd: /* XSAVE: every component */
      for (n = 0; n < 64; n++) line(leaf, n);
      break;
    case 0x7: case 0x14: case 0x17: case 0x18: case 0x1d: case 0x20: /* max sub-leaf in EAX of sub-leaf 0 */
      n = eax_of(leaf, 0); if (n > 31) n = 31;
      for (unsigned s = 0; s <= n; s++) line(leaf, s);
      break;
    case 0xf: case 0x10: case 0x12: case 0x23: case 0x80000020: case 0x80000026:
      for (n = 0; n < 4; n++) line(leaf, n);
      break;
    case 0x1a: case 0x1b: case 0x1e: case 0x24:
      line(leaf, 0); line(leaf, 1);
      break;
    default:
      line(leaf, 0);
    }
  }
}

int main(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);
  printf("CPU 0:\n");
  range(0);
  range(0x80000000u);
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  if ((c >> 27) & 1) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    printf("# xcr0=0x%08x%08x\n", hi, lo);
  }
  if ((c >> 31) & 1) {
    __cpuid(0x40000000u, a, b, c, d);
    printf("# hypervisor eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n", a, b, c, d);
  }
  return 0;
}
