/* RDPKRU/WRPKRU and the PKRU component: the value Linux starts a process with, a write read back,
 * XSAVE of PKRU alone, XGETBV(1) bit 9. */
#include "guest.h"
#include <string.h>
static unsigned char area[16384] __attribute__((aligned(64)));
static inline unsigned rdpkru(void) { unsigned v; __asm__ volatile("rdpkru" : "=a"(v) : "c"(0) : "rdx"); return v; }
static inline void wrpkru(unsigned v) { __asm__ volatile("wrpkru" : : "a"(v), "c"(0), "d"(0) : "memory"); }
int main(void) {
  if (!has_bit(7, 0, 2, 4)) { printf("PKU: OSPKE is clear, nothing run\n"); return 0; }
  unsigned init = rdpkru();
  printf("PKRU at start %08x\n", init);
  wrpkru(0x0000000c); /* key 1: access and write disabled */
  printf("after WRPKRU %08x, XGETBV(1).PKRU %d\n", rdpkru(), (int)((xgetbv(1) >> 9) & 1));
  unsigned r[4];
  cpuid2(0xd, 9, r);
  memset(area, 0xee, sizeof area);
  memset(area + 512, 0, 64);
  __asm__ volatile("xsave64 %0" : "+m"(area) : "a"(1u << 9), "d"(0) : "memory");
  uint64_t bv;
  memcpy(&bv, area + 512, 8);
  printf("XSAVE(PKRU): XSTATE_BV %llx, PKRU bytes at %u:", (unsigned long long)bv, r[1]);
  for (unsigned i = 0; i < r[0]; i++) printf(" %02x", area[r[1] + i]);
  printf("\n");
  wrpkru(0);
  printf("PKRU 0: %08x\n", rdpkru());
  wrpkru(init);
  printf("restored %08x\n", rdpkru());
  return 0;
}
