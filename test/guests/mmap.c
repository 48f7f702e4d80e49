/* Anonymous memory: mmap, mprotect, munmap, mremap, big mallocs; faults on protected and unmapped
 * pages reported with their si_code and address. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
static sigjmp_buf jb;
static volatile int code;
static volatile char *addr;
static void on_segv(int s, siginfo_t *si, void *u) { (void)s; (void)u; code = si->si_code; addr = si->si_addr; siglongjmp(jb, 1); }
int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  char *p = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mmap ok %d, zero %d\n", p != MAP_FAILED, p[100] == 0 && p[3 * 4096 - 1] == 0);
  memset(p, 'a', 3 * 4096);
  printf("mprotect %d\n", mprotect(p + 4096, 4096, PROT_READ));
  if (!sigsetjmp(jb, 1)) p[4096 + 5] = 'b';
  printf("write to read-only page: si_code %d offset %ld\n", code, (long)(addr - p));
  printf("munmap %d\n", munmap(p + 2 * 4096, 4096));
  if (!sigsetjmp(jb, 1)) p[2 * 4096 + 7] = 'c';
  printf("write to unmapped page: si_code %d offset %ld\n", code, (long)(addr - p));
  char *q = mremap(p, 4096, 20 * 4096, MREMAP_MAYMOVE);
  printf("mremap ok %d, kept %c, new zero %d\n", q != MAP_FAILED, q[10], q[19 * 4096] == 0);
  size_t total = 0;
  for (int i = 1; i <= 8; i++) {
    char *b = malloc((size_t)i << 18);
    memset(b, i, (size_t)i << 18);
    total += b[((size_t)i << 18) - 1];
    free(b);
  }
  printf("big mallocs: %zu\n", total);
  printf("mmap of a file descriptor that is not open: %d\n", mmap(0, 4096, PROT_READ, MAP_PRIVATE, 42, 0) == MAP_FAILED);
  return 0;
}
