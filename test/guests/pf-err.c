/* The page-fault error code and trap number a SIGSEGV handler finds in its sigcontext (err, trapno,
 * cr2: arch/x86/mm/fault.c set_signal_archinfo: the hardware error code with X86_PF_USER, and
 * X86_PF_PROT for a kernel address), for reads, writes and instruction fetches of unmapped,
 * PROT_NONE, read-only and non-executable pages, and a non-canonical address (#GP). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile long err, trapno, code, signo;
static volatile uintptr_t cr2, addr;
static void on_fault(int s, siginfo_t *si, void *u) {
  ucontext_t *uc = u;
  signo = s;
  code = si->si_code;
  addr = (uintptr_t)si->si_addr;
  err = uc->uc_mcontext.gregs[REG_ERR];
  trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
  cr2 = uc->uc_mcontext.gregs[REG_CR2];
  siglongjmp(jb, 1);
}
static void show(const char *what, uintptr_t target) {
  printf("%-44s sig %ld code %ld err %#lx trapno %ld cr2==addr %s si_addr==target %s\n", what, signo, code, err, trapno, cr2 == addr ? "yes" : "no", addr == target ? "yes" : "no");
}
#define TRY(what, target, stmt) do { signo = 0; if (!sigsetjmp(jb, 1)) { stmt; printf("%s: no fault\n", what); } else show(what, (uintptr_t)(target)); } while (0)

typedef void (*fn)(void);
int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGBUS, &sa, 0);
  volatile char *none = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  volatile char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  volatile char *rw = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  volatile char *gone = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap((void *)gone, 4096);
  rw[0] = (char)0xc3; /* ret */
  (void)ro[0]; /* the page is present (the zero page) before the write below */
  TRY("read of an unmapped page", gone + 8, (void)gone[8]);
  TRY("write of an unmapped page", gone + 8, gone[8] = 1);
  TRY("execute of an unmapped page", gone, ((fn)(uintptr_t)gone)());
  TRY("read of a PROT_NONE page", none + 16, (void)none[16]);
  TRY("write of a PROT_NONE page", none + 16, none[16] = 1);
  TRY("write of a read-only page already read", ro + 32, ro[32] = 1);
  TRY("execute of a present non-executable page", rw, ((fn)(uintptr_t)rw)());
  TRY("write of the program's text", (uintptr_t)main, *(volatile char *)(uintptr_t)main = 0);
  TRY("read of a kernel address", 0xffffffff81000000UL, (void)*(volatile char *)0xffffffff81000000UL);
  TRY("read of a non-canonical address", 0, (void)*(volatile char *)0x8000000000000000UL);
  return 0;
}
