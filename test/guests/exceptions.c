/*
 * Exceptions a process catches again and again: each must reach it as its own signal, as on the
 * CPU, with the si_code, si_addr, trap number and error code Linux reports. Integer division by
 * zero and overflow (#DE, SIGFPE), CPL-0 and IOPL-sensitive instructions (#GP(0), SIGSEGV
 * SI_KERNEL), non-canonical addresses (#GP(0)), and page faults (#PF) of every access kind, each
 * several times and interleaved (a second contributory exception or #PF must not become #DF).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static sigjmp_buf jb;
static volatile int got_sig, got_code;
static volatile long got_trap, got_err;
static void *volatile got_addr;
static volatile uintptr_t got_rip;

static void handler(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  got_sig = sig; got_code = si->si_code; got_addr = si->si_addr;
  got_trap = uc->uc_mcontext.gregs[REG_TRAPNO]; got_err = uc->uc_mcontext.gregs[REG_ERR];
  got_rip = uc->uc_mcontext.gregs[REG_RIP];
  siglongjmp(jb, 1);
}

static volatile int zero = 0, minus_one = -1, int_min = INT32_MIN;
static char *none, *ro, *data;

/* si_addr printed relative to what it should be near: 0, the faulting RIP, or a page of this program. */
static void report(const char *what) {
  uintptr_t a = (uintptr_t)got_addr;
  const char *where = a == 0 ? "0" : a == got_rip ? "rip" : a >= (uintptr_t)none && a < (uintptr_t)none + 4096 ? "none-page"
    : a >= (uintptr_t)ro && a < (uintptr_t)ro + 4096 ? "ro-page" : a >= (uintptr_t)data && a < (uintptr_t)data + 4096 ? "data-page"
    : a < 4096 ? "low-page" : "other";
  printf("%-16s sig %d code %d addr %s trapno %ld err %#lx\n", what, got_sig, got_code, where, got_trap, got_err);
}
#define TRY(what, stmt) do { got_sig = 0; if (sigsetjmp(jb, 1) == 0) { stmt; printf("%-16s no signal\n", what); } else report(what); } while (0)

static void div0(void) { volatile int x = 7 / zero; (void)x; }
static void overflow(void) { volatile int x = int_min / minus_one; (void)x; }
static void noncanon_read(void) { volatile long *p = (long *)0x8000000000000000ul; (void)*p; }
static void noncanon_write(void) { volatile long *p = (long *)0xfff0000000000000ul; *p = 1; }
static void none_read(void) { volatile char *p = none + 8; (void)*p; }
static void none_write(void) { volatile char *p = none + 8; *p = 1; }
static void ro_write(void) { volatile char *p = ro + 16; *p = 1; }
static void low_read(void) { volatile char *p = (char *)16; (void)*p; }
static void low_write(void) { volatile char *p = (char *)24; *p = 1; }
static void data_exec(void) { ((void (*)(void))data)(); }

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGFPE, &sa, 0); sigaction(SIGSEGV, &sa, 0); sigaction(SIGBUS, &sa, 0); sigaction(SIGILL, &sa, 0); sigaction(SIGTRAP, &sa, 0);
  none = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  data = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  data[0] = (char)0xc3; /* ret: never executed, the page is not executable */
  /* Read once, so that Linux has a PTE (the zero page) and a write is a fault on a present page
   * (err 7); on a page never touched the PTE is absent and err is 6, which the model does not track. */
  if (*(volatile char *)(ro + 16) != 0) return 1;

  for (int i = 0; i < 4; i++) TRY("div by zero", div0());
  for (int i = 0; i < 2; i++) TRY("idiv overflow", overflow());
  for (int i = 0; i < 3; i++) TRY("hlt", __asm__ volatile("hlt"));
  TRY("cli", __asm__ volatile("cli"));
  TRY("sti", __asm__ volatile("sti"));
  TRY("in", __asm__ volatile("inb $0x80, %%al" ::: "rax"));
  TRY("out", __asm__ volatile("outb %%al, $0x80" ::"a"(0)));
  TRY("rdmsr", __asm__ volatile("rdmsr" ::"c"(0x10) : "rax", "rdx"));
  TRY("wbinvd", __asm__ volatile("wbinvd"));
  for (int i = 0; i < 2; i++) TRY("non-canon read", noncanon_read());
  TRY("non-canon write", noncanon_write());
  for (int i = 0; i < 2; i++) TRY("PROT_NONE read", none_read());
  TRY("PROT_NONE write", none_write());
  for (int i = 0; i < 2; i++) TRY("read-only write", ro_write());
  TRY("unmapped read", low_read());
  TRY("unmapped write", low_write());
  TRY("no-exec fetch", data_exec());
  TRY("int3", __asm__ volatile("int3"));
  /* Interleaved: every pair of contributory exceptions and page faults, in both orders. */
  for (int i = 0; i < 2; i++) {
    TRY("div by zero", div0());
    TRY("hlt", __asm__ volatile("hlt"));
    TRY("PROT_NONE read", none_read());
    TRY("div by zero", div0());
    TRY("non-canon read", noncanon_read());
    TRY("read-only write", ro_write());
    TRY("hlt", __asm__ volatile("hlt"));
  }
  puts("done");
  return 0;
}
