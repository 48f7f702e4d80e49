/* CPU affinity (kernel/sched/core.c): sched_getaffinity's size rules, sched_setaffinity's
 * -EINVAL for masks with no usable CPU, pinning to CPU 0 and to the last allowed CPU as getcpu
 * sees it, the mask inherited by a child. Prints nothing that depends on the number of CPUs. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *en(int e) { return e == 0 ? "0" : e == EINVAL ? "EINVAL" : e == ESRCH ? "ESRCH" : e == EFAULT ? "EFAULT" : strerror(e); }
#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); printf("%-48s -> %ld %s\n", what, r_, r_ < 0 ? en(errno) : ""); } while (0)

static unsigned char mask[256];

static int getcpu_raw(unsigned *cpu, unsigned *node) { return (int)syscall(SYS_getcpu, cpu, node, NULL); }

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  /* Size rules: at least nr_cpu_ids bits, a whole number of longs; the answer is min(len, cpumask_size()). */
  TRY("sched_getaffinity len 4", syscall(SYS_sched_getaffinity, 0, 4, mask));
  TRY("sched_getaffinity len 12", syscall(SYS_sched_getaffinity, 0, 12, mask));
  TRY("sched_getaffinity len 8", syscall(SYS_sched_getaffinity, 0, 8, mask));
  /* The answer for a large buffer is cpumask_size(), a kernel build choice: only its form is printed. */
  memset(mask, 0xa5, sizeof mask);
  long got = syscall(SYS_sched_getaffinity, 0, 256, mask);
  printf("sched_getaffinity len 256: a whole number of longs, 8 to 256 bytes: %s\n", got >= 8 && got <= 256 && got % 8 == 0 ? "yes" : "no");
  printf("CPU 0 allowed: %s\n", mask[0] & 1 ? "yes" : "no");
  int last = -1;
  for (int i = 0; i < 64; i++) if (mask[i / 8] >> (i % 8) & 1) last = i;
  int beyond = 0;
  for (long i = got; i < 256; i++) beyond |= mask[i] != 0xa5;
  printf("bytes past the answer untouched: %s\n", beyond ? "no" : "yes");
  TRY("sched_getaffinity of pid 999999", syscall(SYS_sched_getaffinity, 999999, 8, mask));

  /* Masks with no usable CPU. */
  memset(mask, 0, sizeof mask);
  TRY("sched_setaffinity empty mask", syscall(SYS_sched_setaffinity, 0, 8, mask));
  TRY("sched_setaffinity len 0", syscall(SYS_sched_setaffinity, 0, 0, mask));
  mask[7] = 0x80; /* CPU 63 */
  TRY("sched_setaffinity {63}", syscall(SYS_sched_setaffinity, 0, 8, mask));
  mask[7] = 0;
  mask[125] = 1; /* CPU 1000, beyond cpumask_size(): the kernel reads no further */
  TRY("sched_setaffinity {1000}, len 256", syscall(SYS_sched_setaffinity, 0, 256, mask));
  mask[125] = 0;

  /* Pin to CPU 0 with a 1-byte mask (a short mask is zero-extended). */
  mask[0] = 1;
  TRY("sched_setaffinity {0}, len 1", syscall(SYS_sched_setaffinity, 0, 1, mask));
  unsigned cpu = 99, node = 99;
  TRY("getcpu", getcpu_raw(&cpu, &node));
  printf("on CPU %u, node %u\n", cpu, node);
  TRY("getcpu(NULL, NULL)", getcpu_raw(NULL, NULL));
  memset(mask, 0xff, 8);
  syscall(SYS_sched_getaffinity, 0, 8, mask);
  printf("mask after pinning: %02x %02x\n", mask[0], mask[1]);
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  printf("CPU_COUNT after pinning: %d\n", CPU_COUNT(&set));

  /* Work pinned to CPU 0: a child inherits the mask, runs and reports. */
  pid_t c = fork();
  if (c == 0) {
    cpu_set_t s;
    unsigned cc = 99;
    CPU_ZERO(&s);
    sched_getaffinity(0, sizeof s, &s);
    getcpu_raw(&cc, NULL);
    printf("child: %d CPU allowed, on CPU %u\n", CPU_COUNT(&s), cc);
    unsigned long x = 0;
    for (int i = 0; i < 100000; i++) x = x * 33 + i;
    _exit((int)(x & 0x7f));
  }
  int status;
  waitpid(c, &status, 0);
  printf("child exit %d\n", WEXITSTATUS(status));

  /* Pin to the last CPU the process started with: getcpu follows. */
  memset(mask, 0, sizeof mask);
  mask[last / 8] = (unsigned char)(1 << (last % 8));
  TRY("sched_setaffinity {last allowed CPU}", syscall(SYS_sched_setaffinity, 0, 8, mask));
  cpu = 99;
  getcpu_raw(&cpu, NULL);
  printf("getcpu is the last allowed CPU: %s\n", (int)cpu == last ? "yes" : "no");
  printf("sched_getcpu agrees: %s\n", sched_getcpu() == last ? "yes" : "no");
  /* And the parent sets its child's mask by pid. */
  int go[2];
  pipe(go);
  c = fork();
  if (c == 0) {
    char b;
    close(go[1]);
    read(go[0], &b, 1);
    unsigned cc = 99;
    getcpu_raw(&cc, NULL);
    printf("child after the parent pinned it to CPU 0: on CPU %u\n", cc);
    _exit(0);
  }
  close(go[0]);
  mask[last / 8] = 0;
  mask[0] = 1;
  TRY("sched_setaffinity(child, {0})", syscall(SYS_sched_setaffinity, c, 8, mask));
  close(go[1]);
  waitpid(c, &status, 0);
  return 0;
}
