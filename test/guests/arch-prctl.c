/*
 * arch_prctl answers the kernel's selftests (fsgsbase.c, the CPUID-faulting checks) rely on,
 * Linux 6.18 do_arch_prctl_64 and do_arch_prctl_common: FS/GS bases at or above TASK_SIZE_MAX are
 * refused with EPERM and leave the base as it was; ARCH_GET_CPUID is 1 while CPUID does not fault;
 * an unknown option is EINVAL. (ARCH_SET_CPUID depends on the CPU's CPUID faulting: not printed.)
 */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

/* arch/x86/include/uapi/asm/prctl.h (musl ships no asm/ headers). */
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

static long arch_prctl(int code, unsigned long arg) { return syscall(SYS_arch_prctl, code, arg); }

static void try_base(const char *name, int set, int get, unsigned long value) {
  unsigned long before = 0, after = 0;
  arch_prctl(get, (unsigned long)&before);
  long r = arch_prctl(set, value);
  int e = r ? errno : 0;
  arch_prctl(get, (unsigned long)&after);
  printf("%s %#lx: %ld (errno %d), base %s\n", name, value, r, e,
         after == value ? "set" : after == before ? "unchanged" : "changed to something else");
  arch_prctl(set, before);
}

int main(void) {
  static const unsigned long gs_values[] = {0x1000, 0x7fffffffe000UL, 0x7ffffffff000UL, 0x800000000000UL, 0xffff800000000000UL, ~0UL};
  for (unsigned i = 0; i < sizeof gs_values / sizeof gs_values[0]; i++) try_base("ARCH_SET_GS", ARCH_SET_GS, ARCH_GET_GS, gs_values[i]);
  /* FS holds musl's thread pointer: only values that are refused, so the program keeps its TLS. */
  try_base("ARCH_SET_FS", ARCH_SET_FS, ARCH_GET_FS, 0x7ffffffff000UL);
  try_base("ARCH_SET_FS", ARCH_SET_FS, ARCH_GET_FS, 0xffffffffff600000UL);
  long r = arch_prctl(0x1011 /* ARCH_GET_CPUID */, 0);
  printf("ARCH_GET_CPUID: %ld\n", r);
  r = arch_prctl(0x10ff, 0);
  printf("arch_prctl(0x10ff): %ld (errno %d)\n", r, r ? errno : 0);
  return 0;
}
