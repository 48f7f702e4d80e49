/* Segments as Linux sets them up for user space (arch/x86/kernel/cpu/common.c gdt_page,
 * setup_getcpu; arch/x86/kernel/ldt.c; signal_64.c restore_sigcontext): LAR, LSL, VERR, VERW on
 * the GDT selectors, the per-CPU segment's limit (cpu | node << 12) against getcpu, modify_ldt's
 * answers, and rt_sigreturn with bogus CS/SS. Leaves out __USER32_CS (23H) and LDT selectors,
 * which a PVM hypervisor does not show as Linux sets them up. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static int lar(unsigned long sel, unsigned long *out) { unsigned long r = 0x1111; unsigned char z; __asm__ volatile("lar %2, %0; setz %1" : "+r"(r), "=q"(z) : "r"(sel) : "cc"); *out = r; return z; }
static int lsl(unsigned long sel, unsigned long *out) { unsigned long r = 0x2222; unsigned char z; __asm__ volatile("lsl %2, %0; setz %1" : "+r"(r), "=q"(z) : "r"(sel) : "cc"); *out = r; return z; }
static int lar16(unsigned short sel, unsigned *out) { unsigned r = 0xabcd1234; unsigned char z; __asm__ volatile("lar %2, %w0; setz %1" : "+r"(r), "=q"(z) : "r"(sel) : "cc"); *out = r; return z; }
static int verr(unsigned short sel) { unsigned char z; __asm__ volatile("verr %1; setz %0" : "=q"(z) : "r"(sel) : "cc"); return z; }
static int verw(unsigned short sel) { unsigned char z; __asm__ volatile("verw %1; setz %0" : "=q"(z) : "r"(sel) : "cc"); return z; }

struct user_desc_bits { unsigned entry_number, base_addr, limit; unsigned seg_32bit : 1, contents : 2, read_exec_only : 1, limit_in_pages : 1, seg_not_present : 1, useable : 1, lm : 1; };

static void ldt(const char *what, int func, void *p, unsigned long n) {
  long r = syscall(SYS_modify_ldt, func, p, n);
  printf("modify_ldt %-34s -> %ld\n", what, r);
}

static sigjmp_buf jb;
static volatile unsigned short new_cs, new_ss;
static volatile int strict;
static void on_usr1(int s, siginfo_t *si, void *uc_) {
  (void)s; (void)si;
  ucontext_t *uc = uc_;
  unsigned long w = uc->uc_mcontext.gregs[REG_CSGSFS];
  w = (w & ~0xffffUL & ~(0xffffUL << 48)) | new_cs | ((unsigned long)new_ss << 48);
  uc->uc_mcontext.gregs[REG_CSGSFS] = w;
  if (!strict) uc->uc_flags &= ~0x4UL; /* UC_STRICT_RESTORE_SS */
}
static void on_fault(int s, siginfo_t *si, void *uc) { (void)uc; printf("  -> %s si_code %#x si_addr %p\n", s == SIGSEGV ? "SIGSEGV" : "SIGBUS", si->si_code, si->si_addr); siglongjmp(jb, 1); }

static void sigreturn_case(const char *what, unsigned short cs, unsigned short ss, int str) {
  new_cs = cs; new_ss = ss; strict = str;
  printf("sigreturn %s (CS %x SS %x%s):\n", what, cs, ss, str ? ", strict SS" : "");
  if (sigsetjmp(jb, 1) == 0) {
    raise(SIGUSR1);
    printf("  -> went on\n");
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const unsigned short sels[] = { 0, 3, 0x8, 0x10, 0x13, 0x18, 0x28, 0x2b, 0x30, 0x33, 0x38, 0x40, 0x50, 0x78, 0x7b, 0x80, 0xfffb };
  for (unsigned i = 0; i < sizeof sels / sizeof *sels; i++) {
    unsigned long a, l;
    int za = lar(sels[i], &a), zl = lsl(sels[i], &l);
    printf("%04x: LAR %d %08lx LSL %d %s VERR %d VERW %d\n", sels[i], za, a, zl, sels[i] == 0x78 || sels[i] == 0x7b ? "(cpu)" : "", verr(sels[i]), verw(sels[i]));
    if (zl && sels[i] != 0x78 && sels[i] != 0x7b) printf("      limit %08lx\n", l);
  }
  unsigned r16;
  int z16 = lar16(0x2b, &r16);
  printf("16-bit LAR 2bH: %d %08x (upper half kept)\n", z16, r16);

  /* The per-CPU segment against getcpu, on each of two CPUs where there are two. */
  for (int c = 0; c < 2; c++) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(c, &set);
    if (sched_setaffinity(0, sizeof set, &set)) { printf("CPU %d: not available\n", c); continue; }
    unsigned cpu, node;
    unsigned long l;
    syscall(SYS_getcpu, &cpu, &node, NULL);
    lsl(0x7b, &l);
    printf("pinned to CPU %d: LSL 7bH = cpu | node << 12 of getcpu: %s\n", c, l == (cpu | node << 12) ? "yes" : "no");
  }

  /* modify_ldt. */
  unsigned char buf[256];
  memset(buf, 0xaa, sizeof buf);
  ldt("read, no LDT", 0, buf, sizeof buf);
  ldt("read_default 256", 2, buf, sizeof buf);
  printf("  read_default bytes zero: %s, byte 128 untouched: %s\n", buf[0] == 0 && buf[127] == 0 ? "yes" : "no", buf[128] == 0xaa ? "yes" : "no");
  struct user_desc_bits d = { .entry_number = 1, .base_addr = 0x12345678, .limit = 0xabcde, .seg_32bit = 1, .useable = 1 };
  ldt("write (old mode) entry 1", 1, &d, sizeof d);
  d.entry_number = 3; d.contents = 2; d.read_exec_only = 1; d.limit_in_pages = 1;
  ldt("write entry 3 (code, AVL)", 0x11, &d, sizeof d);
  ldt("read 64", 0, buf, 64);
  for (int i = 0; i < 4; i++) { printf("  entry %d:", i); for (int k = 7; k >= 0; k--) printf(" %02x", buf[8 * i + k]); printf("\n"); }
  d.entry_number = 8191; ldt("write entry 8191", 0x11, &d, sizeof d);
  d.entry_number = 8192; ldt("write entry 8192", 0x11, &d, sizeof d);
  d.entry_number = 2; d.contents = 3; d.seg_not_present = 0; ldt("conforming code, present", 0x11, &d, sizeof d);
  d.seg_not_present = 1; ldt("conforming code, not present", 0x11, &d, sizeof d);
  ldt("conforming code, old mode", 1, &d, sizeof d);
  d.contents = 0; d.seg_32bit = 0; d.seg_not_present = 0; ldt("16-bit data", 0x11, &d, sizeof d);
  ldt("short user_desc", 0x11, &d, sizeof d - 1);
  ldt("func 3", 3, &d, sizeof d);
  struct user_desc_bits z = { .entry_number = 3 };
  ldt("old mode, base 0 limit 0: clears 3", 1, &z, sizeof z);
  ldt("read 32", 0, buf, 32);
  printf("  entry 3 cleared: %s\n", !memcmp(buf + 24, "\0\0\0\0\0\0\0\0", 8) ? "yes" : "no");
  memset(buf, 0x55, sizeof buf);
  long n = syscall(SYS_modify_ldt, 0, buf, sizeof buf);
  unsigned char mine[16];
  memcpy(mine, buf + 8, 16);
  pid_t c = fork();
  if (c == 0) {
    memset(buf, 0, sizeof buf);
    long m = syscall(SYS_modify_ldt, 0, buf, sizeof buf);
    printf("child reads the inherited LDT: %s\n", m == n && !memcmp(buf + 8, mine, 16) ? "yes" : "no");
    _exit(0);
  }
  int ws;
  waitpid(c, &ws, 0);
  errno = 0;
  long sta = syscall(SYS_set_thread_area, &d);
  printf("set_thread_area (64-bit): %ld %s\n", sta, errno == ENOSYS ? "ENOSYS" : strerror(errno));

  /* rt_sigreturn with bogus selectors. */
  struct sigaction sa = { 0 };
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  sigreturn_case("unchanged", 0x33, 0x2b, 1);
  sigreturn_case("CS a data segment", 0x2b, 0x2b, 1);
  sigreturn_case("CS null", 0, 0x2b, 1);
  sigreturn_case("CS the kernel's", 0x10, 0x2b, 1);
  sigreturn_case("CS the per-CPU segment", 0x7b, 0x2b, 1);
  sigreturn_case("CS beyond the GDT", 0x1003, 0x2b, 1);
  sigreturn_case("SS null, strict", 0x33, 0, 1);
  sigreturn_case("SS null, not strict", 0x33, 0, 0);
  sigreturn_case("SS read-only, strict", 0x33, 0x7b, 1);
  sigreturn_case("SS read-only, not strict", 0x33, 0x7b, 0);
  sigreturn_case("SS a code segment, strict", 0x33, 0x33, 1);
  return 0;
}
