/*
 * sysinfo(2) as a program sees it: the return value and errno, the struct's size and mem_unit
 * (1 on x86-64 while the totals fit: kernel/sys.c do_sysinfo), and relations that hold on any
 * machine (uptime positive and not decreasing, free RAM within total RAM, at least one task).
 * The values themselves are the machine's (the sandbox's are a named assumption), so they are
 * not printed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

int main(void) {
  struct sysinfo a, b;
  memset(&a, 0xa5, sizeof a);
  long r = syscall(SYS_sysinfo, &a);
  printf("sysinfo: %ld, struct %zu bytes, mem_unit %u\n", r, sizeof a, a.mem_unit);
  printf("uptime > 0: %d; totalram > 0: %d; freeram <= totalram: %d; freeswap <= totalswap: %d; procs >= 1: %d\n",
         a.uptime > 0, a.totalram > 0, a.freeram <= a.totalram, a.freeswap <= a.totalswap, a.procs >= 1);
  for (volatile int i = 0; i < 1000000; i++) {}
  r = syscall(SYS_sysinfo, &b);
  printf("again: %ld, uptime not smaller: %d\n", r, b.uptime >= a.uptime);
  errno = 0;
  r = syscall(SYS_sysinfo, (void *)8);
  printf("bad pointer: %ld, errno %s\n", r, errno == EFAULT ? "EFAULT" : strerror(errno));
  return 0;
}
