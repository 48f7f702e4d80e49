/* PTRACE_PEEKUSER / PTRACE_POKEUSER over struct user (arch/x86/kernel/ptrace.c arch_ptrace): the
 * registers by offset (getreg/putreg: selectors must be null or RPL 3, CS/SS never null, RFLAGS
 * masked, FS/GS bases below TASK_SIZE_MAX), the rest of struct user reads 0 and refuses writes,
 * misaligned or out-of-range offsets are EIO; the debug registers u_debugreg[8]
 * (ptrace_get_debugreg / ptrace_set_debugreg: DR4/DR5 absent, DR6 kept as written, DR7 checked
 * by ptrace_write_dr7 slot by slot and restored when a slot is refused, addresses checked against
 * the length's alignment and TASK_SIZE_MAX), kept per thread. No breakpoint is left enabled where
 * the tracee runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t c;
static unsigned long watched[4];

static long peek(long off, int *err) {
  errno = 0;
  long v = ptrace(PTRACE_PEEKUSER, c, (void *)off, 0);
  *err = errno;
  return v;
}
static const char *en(int e) { return e == 0 ? "ok" : e == EIO ? "EIO" : e == EINVAL ? "EINVAL" : e == EPERM ? "EPERM" : e == ESRCH ? "ESRCH" : "other"; }
static void showpeek(const char *what, long off) {
  int e;
  long v = peek(off, &e);
  printf("PEEKUSER %-22s (%4ld) -> %s 0x%lx\n", what, off, en(e), e ? 0 : v);
}
static void poke(const char *what, long off, unsigned long val) {
  long r = ptrace(PTRACE_POKEUSER, c, (void *)off, (void *)val);
  int e = errno;
  int pe;
  long back = peek(off, &pe);
  printf("POKEUSER %-22s (%4ld) = 0x%lx -> %s, reads 0x%lx\n", what, off, val, r < 0 ? en(e) : "ok", pe ? 0 : back);
}
#define DR(n) (offsetof(struct user, u_debugreg) + 8 * (n))
#define REG(f) offsetof(struct user_regs_struct, f)

int main(void) {
  printf("sizeof(struct user) %zu, u_debugreg at %zu, regs %zu\n", sizeof(struct user), offsetof(struct user, u_debugreg), sizeof(struct user_regs_struct));
  c = fork();
  if (c == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    raise(SIGSTOP);
    _exit(watched[0] == 0 ? 4 : 5);
  }
  int st;
  waitpid(c, &st, 0);
  struct user_regs_struct r;
  ptrace(PTRACE_GETREGS, c, 0, &r);
  int e;
  printf("rip by offset == GETREGS: %s\n", peek(REG(rip), &e) == (long)r.rip ? "yes" : "no");
  printf("rsp by offset == GETREGS: %s\n", peek(REG(rsp), &e) == (long)r.rsp ? "yes" : "no");
  printf("fs_base by offset == GETREGS: %s\n", peek(REG(fs_base), &e) == (long)r.fs_base ? "yes" : "no");
  showpeek("orig_rax", REG(orig_rax));
  showpeek("cs", REG(cs));
  showpeek("ss", REG(ss));
  showpeek("ds", REG(ds));
  showpeek("es", REG(es));
  showpeek("fs", REG(fs));
  showpeek("gs", REG(gs));
  showpeek("u_fpvalid", offsetof(struct user, u_fpvalid));
  showpeek("i387.cwd", offsetof(struct user, i387));
  showpeek("magic", offsetof(struct user, magic));
  showpeek("misaligned rax+4", REG(rax) + 4);
  showpeek("sizeof(struct user)", sizeof(struct user));
  showpeek("sizeof + 8 (fault_address)", sizeof(struct user) + 8);
  showpeek("sizeof + 16", sizeof(struct user) + 16);
  showpeek("negative", -8);
  for (int i = 0; i < 8; i++) { char n[16]; snprintf(n, sizeof n, "u_debugreg[%d]", i); showpeek(n, DR(i)); }

  /* Registers. */
  poke("r12", REG(r12), 0x1234567890abcdefUL);
  poke("rax", REG(rax), 0xffffffffffffffffUL);
  poke("orig_rax", REG(orig_rax), 0x27);
  poke("eflags all ones", REG(eflags), ~0UL);
  poke("eflags 0", REG(eflags), 0);
  poke("eflags 0x202", REG(eflags), 0x202);
  poke("cs 0", REG(cs), 0);
  poke("cs rpl 0", REG(cs), 0x30);
  poke("cs 0x33", REG(cs), 0x33);
  poke("cs 0x10033 (16 bits)", REG(cs), 0x10033);
  poke("ss 0", REG(ss), 0);
  poke("ss rpl 1", REG(ss), 0x29);
  poke("ss 0x2b", REG(ss), 0x2b);
  poke("ds rpl 0", REG(ds), 0x28);
  poke("ds 0", REG(ds), 0);
  poke("es 3 (null, rpl 3)", REG(es), 3);
  poke("es 0", REG(es), 0);
  poke("fs rpl 2", REG(fs), 0x2a);
  poke("gs rpl 1", REG(gs), 0x29);
  poke("fs_base TASK_SIZE_MAX", REG(fs_base), 0x7ffffffff000UL);
  poke("gs_base below", REG(gs_base), 0x7fffffffe000UL);
  poke("gs_base 0", REG(gs_base), 0);
  poke("u_fpvalid", offsetof(struct user, u_fpvalid), 1);
  poke("magic", offsetof(struct user, magic), 1);
  poke("misaligned r12+1", REG(r12) + 1, 1);
  poke("error_code", sizeof(struct user), 1);
  poke("past the end", sizeof(struct user) + 16, 1);
  ptrace(PTRACE_SETREGS, c, 0, &r);

  /* Debug registers. */
  unsigned long a = (unsigned long)&watched[0];
  poke("DR4", DR(4), 1);
  poke("DR5", DR(5), 1);
  poke("DR6", DR(6), 0x1234);
  poke("DR6 back", DR(6), 0xffff0ff0);
  poke("DR0 aligned", DR(0), a);
  poke("DR0 +1 (len 1 stub)", DR(0), a + 1);
  poke("DR0 TASK_SIZE_MAX-1", DR(0), 0x7fffffffefffUL);
  poke("DR0 TASK_SIZE_MAX", DR(0), 0x7ffffffff000UL);
  poke("DR0 kernel", DR(0), 0xffffffff81000000UL);
  poke("DR0 back", DR(0), a + 1);
  poke("DR1 fresh", DR(1), a + 8);
  /* DR7: L0, RW0=01 (write), LEN0=11 (4 bytes) with DR0 misaligned: refused, DR7 restored. */
  poke("DR7 L0 w len4 misaligned", DR(7), 0x1 | (0x1UL << 16) | (0x3UL << 18));
  poke("DR0 aligned again", DR(0), a);
  poke("DR7 L0 w len4", DR(7), 0x1 | (0x1UL << 16) | (0x3UL << 18));
  poke("DR0 misaligned now", DR(0), a + 2);
  poke("DR7 L0 w len8 (10)", DR(7), 0x1 | (0x1UL << 16) | (0x2UL << 18));
  poke("DR7 L0 io (10)", DR(7), 0x1 | (0x2UL << 16));
  poke("DR7 L0 exec len4", DR(7), 0x1 | (0x0UL << 16) | (0x3UL << 18));
  poke("DR7 G1 exec len1", DR(7), 0x8);
  poke("DR7 L2 rw len2", DR(7), 0x10 | (0x3UL << 24) | (0x1UL << 26));
  showpeek("DR2 after", DR(2));
  poke("DR2 odd with len2", DR(2), a + 1);
  poke("DR2 even", DR(2), a + 2);
  poke("DR7 reserved bits", DR(7), 0x400 | 0xffff00000000UL);
  poke("DR7 disabled io slot 0", DR(7), 0x2UL << 16);
  poke("DR7 disabled io slot 3", DR(7), 0x2UL << 28);
  poke("DR7 0", DR(7), 0);
  for (int i = 0; i < 8; i++) { char n[16]; snprintf(n, sizeof n, "u_debugreg[%d]", i); showpeek(n, DR(i)); }
  ptrace(PTRACE_CONT, c, 0, 0);
  waitpid(c, &st, 0);
  printf("second stop: %d; debug registers kept:", WSTOPSIG(st));
  for (int i = 0; i < 8; i++) { long v = peek(DR(i), &e); printf(" %s", v == 0 ? "0" : v == (long)a ? "&watched" : v == (long)a + 2 ? "&watched+2" : v == (long)a + 8 ? "&watched+8" : "other"); }
  printf("\n");
  ptrace(PTRACE_CONT, c, 0, 0);
  waitpid(c, &st, 0);
  printf("tracee exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  return 0;
}
