/* mmap, mprotect, munmap and mremap of sizes the address space allows but RAM does not back:
 * TASK_SIZE (2^47 - 4096), the overcommit heuristic (mm/util.c __vm_enough_memory, OVERCOMMIT_GUESS:
 * a private writable mapping larger than RAM + swap is refused, PROT_NONE and MAP_NORESERVE are not
 * accounted), munmap and mremap inside a mapping of several GiB. Sizes are chosen so that the answer
 * is the same on any machine with between 1 GiB and 1 TiB of RAM. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define GIB (1UL << 30)
#define TIB (1UL << 40)
static sigjmp_buf jb;
static volatile int code;
static void on_segv(int s, siginfo_t *si, void *u) { (void)s; (void)u; code = si->si_code; siglongjmp(jb, 1); }
static int touch(volatile char *p, char v) {
  code = 0;
  if (!sigsetjmp(jb, 1)) { *p = v; return 0; }
  return code;
}
static void show(const char *what, void *p) { printf("%-48s %s\n", what, p == MAP_FAILED ? (errno == ENOMEM ? "ENOMEM" : errno == EINVAL ? "EINVAL" : "other error") : "ok"); }
static void ret(const char *what, int r) { printf("%-48s %s\n", what, r == 0 ? "0" : errno == ENOMEM ? "ENOMEM" : errno == EINVAL ? "EINVAL" : "other error"); }
int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  const int anon = MAP_PRIVATE | MAP_ANONYMOUS;

  char *t = mmap(0, TIB, PROT_NONE, anon, -1, 0);
  show("1 TiB PROT_NONE", t);
  ret("mprotect of all of it to read-write", mprotect(t, TIB, PROT_READ | PROT_WRITE));
  ret("mprotect of its last MiB to read-write", mprotect(t + TIB - (1 << 20), 1 << 20, PROT_READ | PROT_WRITE));
  printf("write to its last byte: code %d, first byte: code %d\n", touch(t + TIB - 1, 7), touch(t, 7));
  ret("munmap of 1 TiB", munmap(t, TIB));
  show("1 TiB read-write", mmap(0, TIB, PROT_READ | PROT_WRITE, anon, -1, 0));
  t = mmap(0, TIB, PROT_READ | PROT_WRITE, anon | MAP_NORESERVE, -1, 0);
  show("1 TiB read-write MAP_NORESERVE", t);
  printf("writes at 0, 512 GiB and the end: %d %d %d\n", touch(t, 1), touch(t + TIB / 2, 2), touch(t + TIB - 1, 3));
  printf("read back %d %d %d, untouched page %d\n", t[0], t[TIB / 2], t[TIB - 1], t[TIB / 4]);
  ret("munmap of it", munmap(t, TIB));
  show("128 TiB PROT_NONE (beyond TASK_SIZE)", mmap(0, 1UL << 47, PROT_NONE, anon, -1, 0));
  show("length ~0 (PAGE_ALIGN overflows)", mmap(0, ~0UL, PROT_NONE, anon, -1, 0));
  show("length 0", mmap(0, 0, PROT_NONE, anon, -1, 0));
  show("MAP_FIXED ending above TASK_SIZE", mmap((void *)((1UL << 47) - 4096 * 4), 4096 * 8, PROT_NONE, anon | MAP_FIXED, -1, 0));
  ret("munmap beyond TASK_SIZE", munmap((void *)(1UL << 47), 4096));
  ret("munmap of length 0", munmap((void *)(1UL << 40), 0));
  ret("mprotect of an unmapped range", mprotect((void *)(1UL << 44), 4096, PROT_READ));
  ret("mprotect with an unknown PROT bit", mprotect((void *)(1UL << 44), 4096, 0x40));

  char *g = mmap(0, 9 * GIB, PROT_READ | PROT_WRITE, anon | MAP_NORESERVE, -1, 0);
  show("9 GiB read-write MAP_NORESERVE", g);
  touch(g + 1, 'a'); touch(g + 3 * GIB, 'b'); touch(g + 9 * GIB - 1, 'c');
  ret("munmap of 4 GiB inside it", munmap(g + 2 * GIB, 4 * GIB));
  printf("after: byte 1 %c, last byte %c, write at 3 GiB: code %d\n", g[1], g[9 * GIB - 1], touch(g + 3 * GIB, 'x'));
  char *m = mremap(g + 6 * GIB, 3 * GIB, 5 * GIB, MREMAP_MAYMOVE);
  show("mremap of the last 3 GiB to 5 GiB", m);
  if (m != MAP_FAILED) printf("moved's last old byte %c, new end writable: code %d\n", m[3 * GIB - 1], touch(m + 5 * GIB - 1, 'd'));
  ret("mprotect of a range with a hole (partly applied)", mprotect(g, 7 * GIB, PROT_READ));
  printf("write to its first page: code %d\n", touch(g, 'y'));
  ret("munmap across the hole", munmap(g, 9 * GIB));
  return 0;
}
