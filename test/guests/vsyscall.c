/*
 * The legacy vsyscall page as Linux 6.18 gives it with its default vsyscall=xonly
 * (arch/x86/entry/vsyscall/vsyscall_64.c): a call to one of its three entries
 * (0xffffffffff600000 gettimeofday, +0x400 time, +0x800 getcpu) is emulated on the instruction
 * fetch's page fault and returns to the caller; a read of the page is SIGSEGV (SEGV_MAPERR); a call
 * to another address of the page, a call with an unreadable return address or a bad pointer is
 * SIGSEGV; /proc/self/maps ends with the gate VMA. What the kernel's selftest test_vsyscall.c needs.
 * Output depends only on the program: times are checked against the system calls, not printed.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define VSYSCALL_ADDR 0xffffffffff600000UL
typedef long (*gtod_fn)(struct timeval *, struct timezone *);
typedef long (*time_fn)(long *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

static sigjmp_buf back;
static volatile int faults;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  unsigned long rip = uc->uc_mcontext.gregs[REG_RIP];
  faults++;
  printf("  signal %d si_code %d si_addr %#lx rip %s\n", sig, si->si_code, (unsigned long)si->si_addr,
         rip >= VSYSCALL_ADDR ? "in the vsyscall page" : "in the program");
  siglongjmp(back, 1);
}

/* Calls addr with a stack pointer whose top word (the return address) is unreadable. */
static void call_with_bad_stack(unsigned long addr) {
  __asm__ volatile("mov %%rsp, %%rbx\n\t"
                   "mov $0x1000, %%rsp\n\t" /* an unmapped page: the return address is never readable */
                   "jmp *%0\n\t"
                   : : "r"(addr) : "rbx", "memory");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa = {0};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  static char altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  sigaltstack(&ss, NULL);
  sigaction(SIGSEGV, &sa, NULL);
  /* One CPU, so the getcpu answers are comparable. */
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  printf("sched_setaffinity(CPU 0): %d\n", sched_setaffinity(0, sizeof one, &one));

  gtod_fn vgtod = (gtod_fn)VSYSCALL_ADDR;
  time_fn vtime = (time_fn)(VSYSCALL_ADDR + 0x400);
  getcpu_fn vgetcpu = (getcpu_fn)(VSYSCALL_ADDR + 0x800);

  if (!sigsetjmp(back, 1)) {
    struct timeval before, via, after;
    syscall(SYS_gettimeofday, &before, NULL);
    long r = vgtod(&via, NULL);
    syscall(SYS_gettimeofday, &after, NULL);
    long b = before.tv_sec * 1000000 + before.tv_usec, v = via.tv_sec * 1000000 + via.tv_usec, a = after.tv_sec * 1000000 + after.tv_usec;
    printf("vsyscall gettimeofday: %ld, between the system calls: %s\n", r, b <= v && v <= a ? "yes" : "no");
    struct timezone tz = {123, 456};
    r = vgtod(NULL, &tz);
    printf("vsyscall gettimeofday(NULL, &tz): %ld, tz %d %d\n", r, tz.tz_minuteswest, tz.tz_dsttime);
  }
  if (!sigsetjmp(back, 1)) {
    long t0 = syscall(SYS_time, NULL), stored = -1;
    long r = vtime(&stored);
    long t1 = syscall(SYS_time, NULL);
    printf("vsyscall time: returned == stored %s, between the system calls %s\n", r == stored ? "yes" : "no", t0 <= r && r <= t1 ? "yes" : "no");
  }
  if (!sigsetjmp(back, 1)) {
    unsigned cpu = 99, node = 99, scpu = 98, snode = 98;
    long r = vgetcpu(&cpu, &node, NULL);
    syscall(SYS_getcpu, &scpu, &snode, NULL);
    printf("vsyscall getcpu: %ld, cpu %u node %u, equal to the system call: %s\n", r, cpu, node, cpu == scpu && node == snode ? "yes" : "no");
    r = vgetcpu(NULL, NULL, NULL);
    printf("vsyscall getcpu(NULL, NULL): %ld\n", r);
  }

  printf("read of the vsyscall page:\n");
  if (!sigsetjmp(back, 1)) printf("  read %02x\n", *(volatile unsigned char *)VSYSCALL_ADDR);
  printf("read of the vsyscall page's last byte:\n");
  if (!sigsetjmp(back, 1)) printf("  read %02x\n", *(volatile unsigned char *)(VSYSCALL_ADDR + 0xfff));
  printf("write to the vsyscall page:\n");
  if (!sigsetjmp(back, 1)) { *(volatile unsigned char *)VSYSCALL_ADDR = 1; printf("  written\n"); }
  printf("call to a misaligned address (+0x10):\n");
  if (!sigsetjmp(back, 1)) { ((time_fn)(VSYSCALL_ADDR + 0x10))(NULL); printf("  returned\n"); }
  printf("call to the fourth slot (+0xc00):\n");
  if (!sigsetjmp(back, 1)) { ((time_fn)(VSYSCALL_ADDR + 0xc00))(NULL); printf("  returned\n"); }
  printf("call with a kernel pointer (time(0xffff800000000000)):\n");
  if (!sigsetjmp(back, 1)) { vtime((long *)0xffff800000000000UL); printf("  returned\n"); }
  printf("call with a kernel timezone pointer (gettimeofday(&tv, 0xffff800000001000)):\n");
  if (!sigsetjmp(back, 1)) { struct timeval tv; vgtod(&tv, (struct timezone *)0xffff800000001000UL); printf("  returned\n"); }
  /* An unmapped user page: access_ok passes, the copy to it fails. */
  void *hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(hole, 4096);
  printf("call with an unmapped user pointer (time(hole)):\n");
  if (!sigsetjmp(back, 1)) { long r = vtime((long *)hole); printf("  returned %ld\n", r); }
  printf("call with a read-only user pointer (gettimeofday(ro, NULL)):\n");
  void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!sigsetjmp(back, 1)) { long r = vgtod((struct timeval *)ro, NULL); printf("  returned %ld\n", r); }
  printf("jump with an unreadable return address:\n");
  if (!sigsetjmp(back, 1)) { call_with_bad_stack(VSYSCALL_ADDR + 0x400); printf("  returned\n"); }

  /* The gate VMA is the last line of maps. */
  char buf[65536];
  FILE *f = fopen("/proc/self/maps", "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  buf[n] = 0;
  char *line = strstr(buf, "ffffffffff600000");
  if (line) { char *end = strchr(line, '\n'); if (end) *end = 0; printf("maps: %s\n", line); }
  else printf("maps: no vsyscall line\n");
  printf("faults: %d\n", faults);
  return 0;
}
