/* Memory protection keys: pkey_alloc, pkey_free, pkey_mprotect (mm/mprotect.c, arch/x86/mm/pkeys.c)
 * and PKRU on data loads and stores (SDM Vol. 3A 4.6.2): SIGSEGV with si_code SEGV_PKUERR and si_pkey.
 * Without OSPKE only the system calls' answers are printed (the kernel has one "key", which is not
 * allocated); with it the whole protocol runs. */
#define _GNU_SOURCE
#include "guest.h"
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif
static long pkey_alloc_(unsigned long flags, unsigned long init) { return syscall(SYS_pkey_alloc, flags, init); }
static long pkey_free_(long k) { return syscall(SYS_pkey_free, k); }
static long pkey_mprotect_(void *p, size_t n, long prot, long k) { return syscall(SYS_pkey_mprotect, p, n, prot, k); }
static void show(const char *what, long r) { printf("%-44s %ld%s\n", what, r, r < 0 ? (errno == EINVAL ? " EINVAL" : errno == ENOSPC ? " ENOSPC" : errno == EFAULT ? " EFAULT" : " other") : ""); }
static inline unsigned rdpkru(void) { unsigned v; __asm__ volatile("rdpkru" : "=a"(v) : "c"(0) : "rdx"); return v; }
static inline void wrpkru(unsigned v) { __asm__ volatile("wrpkru" : : "a"(v), "c"(0), "d"(0) : "memory"); }

static sigjmp_buf jb;
static volatile int code, pkey;
static volatile char *addr;
static volatile unsigned handler_pkru;
static void on_segv(int s, siginfo_t *si, void *u) {
  (void)s; (void)u;
  code = si->si_code;
  addr = si->si_addr;
  /* si_pkey: the _addr_pkey member of _sigfault, 8 bytes after si_addr (offset 32). */
  pkey = si->si_code == SEGV_PKUERR ? (int)*(unsigned *)((char *)si + 32) : -1;
  handler_pkru = rdpkru();
  siglongjmp(jb, 1);
}
/* One access; what happened. PKRU is put back after a fault (the handler ran with init_pkru_value). */
static void try_access(const char *what, volatile char *p, int write) {
  unsigned before = rdpkru();
  code = 0;
  if (!sigsetjmp(jb, 1)) {
    if (write) *p = 'w'; else (void)*p;
    printf("%-44s ok\n", what);
    return;
  }
  wrpkru(before);
  printf("%-44s SIGSEGV code %d pkey %d at +%ld, PKRU in the handler %08x\n", what, code, pkey, (long)(addr - p), handler_pkru);
}

int main(void) {
  char *p = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!has_bit(7, 0, 2, 4)) {
    printf("OSPKE is clear: the system calls' answers only\n");
    show("pkey_alloc(0, 0)", pkey_alloc_(0, 0));
    show("pkey_alloc(0, PKEY_DISABLE_WRITE)", pkey_alloc_(0, 2));
    show("pkey_alloc(1, 0)", pkey_alloc_(1, 0));
    show("pkey_alloc(0, 4)", pkey_alloc_(0, 4));
    show("pkey_free(0)", pkey_free_(0));
    show("pkey_free(1)", pkey_free_(1));
    show("pkey_mprotect key 0", pkey_mprotect_(p, 4096, PROT_READ, 0));
    show("pkey_mprotect key 1", pkey_mprotect_(p, 4096, PROT_READ, 1));
    show("pkey_mprotect key -1 (plain mprotect)", pkey_mprotect_(p, 4096, PROT_READ, -1));
    char *x = mmap(0, 4096, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("mprotect(PROT_EXEC) then back to read", mprotect(x, 4096, PROT_READ));
    return 0;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  printf("PKRU at start %08x\n", rdpkru());
  long k1 = pkey_alloc_(0, 0);
  show("pkey_alloc(0, 0)", k1);
  printf("PKRU %08x\n", rdpkru());
  long k2 = pkey_alloc_(0, 2);
  show("pkey_alloc(0, PKEY_DISABLE_WRITE)", k2);
  printf("PKRU %08x\n", rdpkru());
  show("pkey_alloc(1, 0)", pkey_alloc_(1, 0));
  show("pkey_alloc(0, 4)", pkey_alloc_(0, 4));
  show("pkey_mprotect key 7 (not allocated)", pkey_mprotect_(p, 4096, PROT_READ | PROT_WRITE, 7));
  show("pkey_mprotect key 16", pkey_mprotect_(p, 4096, PROT_READ | PROT_WRITE, 16));
  show("pkey_mprotect page 1 to the write-disabled key", pkey_mprotect_(p + 4096, 4096, PROT_READ | PROT_WRITE, k2));
  try_access("read of page 1", p + 4096 + 8, 0);
  try_access("write of page 1", p + 4096 + 8, 1);
  try_access("write of page 0 (key 0)", p + 8, 1);
  wrpkru(rdpkru() & ~(3u << (2 * k2)));
  try_access("write of page 1, its key's bits cleared", p + 4096 + 16, 1);
  wrpkru(rdpkru() | (1u << (2 * k2)));
  try_access("read of page 1, access disabled", p + 4096 + 24, 0);
  wrpkru(rdpkru() & ~(3u << (2 * k2)));
  show("pkey_mprotect page 2 read-only to the key", pkey_mprotect_(p + 2 * 4096, 4096, PROT_READ, k2));
  wrpkru(rdpkru() | (2u << (2 * k2)));
  try_access("write of read-only page 2, key write-disabled", p + 2 * 4096, 1);
  wrpkru(rdpkru() & ~(3u << (2 * k2)));
  try_access("write of read-only page 2, key allows", p + 2 * 4096, 1);
  /* The execute-only key: mmap(PROT_EXEC) takes a key of its own, data access disabled. */
  char *x = mmap(0, 4096, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("PKRU after an execute-only mmap %08x\n", rdpkru());
  try_access("read of the execute-only page", x + 4, 0);
  show("mprotect of it back to read", mprotect(x, 4096, PROT_READ));
  try_access("read of it", x + 4, 0);
  show("pkey_free(key 1)", pkey_free_(k1));
  show("pkey_free(key 1) again", pkey_free_(k1));
  show("pkey_free(0)", pkey_free_(0));
  int n = 0;
  long k, last = -1;
  while ((k = pkey_alloc_(0, 0)) >= 0) { n++; last = k; }
  printf("then pkey_alloc %d more times (last key %ld) before: ", n, last);
  show("", k);
  /* A page whose key is denied: the kernel's own copies (copy_to_user, copy_from_user) run with the
   * thread's PKRU and fail with EFAULT; a failed pipe read leaves the data in the pipe. */
  int fds[2];
  pipe(fds);
  char *kp = p + 4096;
  write(fds[1], "abcdefgh", 8);
  wrpkru(rdpkru() | (1u << (2 * k2)));
  show("read() into a page whose key is access-disabled", read(fds[0], kp, 4));
  show("write() from it", write(fds[1], kp, 4));
  wrpkru((rdpkru() & ~(3u << (2 * k2))) | (2u << (2 * k2)));
  show("read() into it, write-disabled", read(fds[0], kp, 4));
  show("write() from it, write-disabled", write(fds[1], kp, 4));
  wrpkru(rdpkru() & ~(3u << (2 * k2)));
  show("read() into it, key allows", read(fds[0], kp, 4));
  printf("read back: %.4s\n", kp);
  return 0;
}
