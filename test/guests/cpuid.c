/* CPUID as programs see it: leaf 0xD for the current XCR0 (sub-leaves 0 and 1 in full), the OS
 * bits, XGETBV(0), the auxv entries the kernel derives from the CPU (AT_HWCAP, AT_HWCAP2,
 * AT_MINSIGSTKSZ: the kernel's view, not raw CPUID), and what RDFSBASE/RDGSBASE do: they run only
 * when the kernel set CR4.FSGSBASE (HWCAP2_FSGSBASE), and raise #UD (SIGILL) otherwise. */
#include "guest.h"
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

/* arch_prctl codes (arch/x86/include/uapi/asm/prctl.h); musl has no kernel headers. */
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

static sigjmp_buf jb;
static void on_sigill(int sig) { (void)sig; siglongjmp(jb, 1); }

/* RDFSBASE (gs = 0) or RDGSBASE (gs = 1): "SIGILL", or whether the base equals ARCH_GET_FS/GS. */
static void try_rdbase(int gs) {
  unsigned long got = 0, want = 0;
  syscall(SYS_arch_prctl, gs ? ARCH_GET_GS : ARCH_GET_FS, &want);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigill;
  sigaction(SIGILL, &sa, &old);
  if (sigsetjmp(jb, 1) == 0) {
    if (gs) __asm__ volatile("rdgsbase %0" : "=r"(got));
    else __asm__ volatile("rdfsbase %0" : "=r"(got));
    printf("%s: ran, %s ARCH_GET_%s\n", gs ? "RDGSBASE" : "RDFSBASE", got == want ? "equal to" : "differs from", gs ? "GS" : "FS");
  } else {
    printf("%s: SIGILL\n", gs ? "RDGSBASE" : "RDFSBASE");
  }
  sigaction(SIGILL, &old, 0);
}

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
  printf("AT_MINSIGSTKSZ %lx\n", getauxval(AT_MINSIGSTKSZ));
  try_rdbase(0);
  try_rdbase(1);
  return 0;
}
