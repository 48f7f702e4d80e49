/* mremap with MREMAP_FIXED and MREMAP_DONTUNMAP (mm/mremap.c), RLIMIT_AS and RLIMIT_DATA on mmap,
 * brk, mremap and mprotect (mm/mmap.c may_expand_vm, check_data_rlimit), RLIMIT_NOFILE on new
 * descriptors (EMFILE). Every size is relative to what the process has mapped when it starts
 * (found by probing), so the output is the same whatever the loader and the vDSO map. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096UL
static sigjmp_buf jb;
static volatile int code;
static void on_segv(int s, siginfo_t *si, void *u) { (void)s; (void)u; code = si->si_code; siglongjmp(jb, 1); }
/* The byte at p, or -1 when reading it faults. */
static int peek(volatile char *p) {
  code = 0;
  if (!sigsetjmp(jb, 1)) return *p;
  return -1;
}
static const char *err(long r) {
  if (r >= 0) return "ok";
  switch (errno) {
  case ENOMEM: return "ENOMEM"; case EINVAL: return "EINVAL"; case EFAULT: return "EFAULT";
  case EMFILE: return "EMFILE"; case EBADF: return "EBADF"; case EPERM: return "EPERM"; default: return "other";
  }
}
static void *mr(void *old, size_t ol, size_t nl, int flags, void *na) { return (void *)syscall(SYS_mremap, old, ol, nl, flags, na); }
static void showp(const char *what, void *r) { printf("%-58s %s\n", what, err(r == MAP_FAILED ? -1 : 0)); }
static void showr(const char *what, long r) { printf("%-58s %s\n", what, err(r)); }
static char *anon(size_t len, int prot) { return mmap(0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); }

static void mremap_cases(void) {
  char *a = anon(4 * PG, PROT_READ | PROT_WRITE);
  char *b = anon(8 * PG, PROT_READ | PROT_WRITE);
  for (int i = 0; i < 4; i++) a[i * PG] = 'a' + i;
  b[0] = 'z';
  showp("MREMAP_FIXED without MREMAP_MAYMOVE", mr(a, PG, PG, MREMAP_FIXED, b));
  showp("MREMAP_FIXED to an unaligned address", mr(a, PG, PG, MREMAP_FIXED | MREMAP_MAYMOVE, b + 1));
  showp("MREMAP_FIXED onto the source itself", mr(a, 2 * PG, 2 * PG, MREMAP_FIXED | MREMAP_MAYMOVE, a + PG));
  showp("MREMAP_FIXED past TASK_SIZE", mr(a, PG, PG, MREMAP_FIXED | MREMAP_MAYMOVE, (void *)0x7ffffffff000UL));
  showp("unknown flag 8", mr(a, PG, PG, MREMAP_MAYMOVE | 8, 0));
  showp("MREMAP_DONTUNMAP with another length", mr(a, PG, 2 * PG, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, 0));
  showp("MREMAP_DONTUNMAP without MREMAP_MAYMOVE", mr(a, PG, PG, MREMAP_DONTUNMAP, 0));
  char *unm = anon(PG, PROT_NONE);
  munmap(unm, PG);
  showp("MREMAP_FIXED of an unmapped source", mr(unm, PG, PG, MREMAP_FIXED | MREMAP_MAYMOVE, b));
  /* Move 2 pages of a onto b's pages 2-3: b keeps the rest, a's first two pages go. */
  char *r = mr(a, 2 * PG, 2 * PG, MREMAP_FIXED | MREMAP_MAYMOVE, b + 2 * PG);
  printf("fixed move onto b+2 pages: at b+2 %s, bytes %c %c, b[0] %c, old page %d, a+2 page %c\n",
         r == b + 2 * PG ? "yes" : "no", r[0], r[PG], b[0], peek(a), a[2 * PG]);
  /* Grow while moving: the 3 new pages read zero. */
  char *g = mr(b + 2 * PG, 2 * PG, 5 * PG, MREMAP_FIXED | MREMAP_MAYMOVE, b + 16 * PG);
  printf("fixed move growing to 5 pages: %s, bytes %c %c, new page %d, old %d\n", g == b + 16 * PG ? "at the target" : "elsewhere", g[0], g[PG], g[4 * PG], peek(b + 2 * PG));
  /* MREMAP_DONTUNMAP: the source stays mapped and reads zero (its pages moved). */
  a[2 * PG] = 'q';
  char *d = mr(a + 2 * PG, PG, PG, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, 0);
  printf("DONTUNMAP: moved %s, new byte %c, old still mapped reads %d\n", d != MAP_FAILED && d != a + 2 * PG ? "yes" : "no", d[0], peek(a + 2 * PG));
  char *f = anon(PG, PROT_READ);
  char *d2 = mr(d, PG, PG, MREMAP_DONTUNMAP | MREMAP_FIXED | MREMAP_MAYMOVE, f);
  printf("DONTUNMAP | FIXED onto a mapping: %s, byte %c, source reads %d\n", d2 == f ? "at the target" : "elsewhere", d2[0], peek(d));
  munmap(b, 32 * PG);
}

/* The largest number of pages mmap gives in one go with `prot` (binary search). */
static size_t probe(int prot, int flags) {
  size_t lo = 0, hi = 1UL << 20;
  while (lo < hi) {
    size_t mid = (lo + hi + 1) / 2;
    void *p = mmap(0, mid * PG, prot, flags, -1, 0);
    if (p == MAP_FAILED) hi = mid - 1; else { munmap(p, mid * PG); lo = mid; }
  }
  return lo;
}

static void as_cases(void) {
  struct rlimit rl = { 256UL << 20, RLIM_INFINITY };
  setrlimit(RLIMIT_AS, &rl);
  size_t n = probe(PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
  printf("RLIMIT_AS 256 MiB: some pages mappable %s\n", n > 1000 && n < (256UL << 20) / PG ? "yes" : "no");
  size_t nrw = probe(PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  size_t nsh = probe(PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  size_t nnr = probe(PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
  printf("the same count read-write %s, shared %s, MAP_NORESERVE %s\n", nrw == n ? "yes" : "no", nsh == n ? "yes" : "no", nnr == n ? "yes" : "no");
  char *all = anon((n - 4) * PG, PROT_NONE);
  showp("4 pages more", anon(4 * PG, PROT_NONE) );
  munmap(all + (n - 4 - 1) * PG, PG);
  /* Now exactly 4 + 1 - 4 = ... the first call above took 4: 1 page left after the munmap. */
  showp("then 2 pages (1 free)", anon(2 * PG, PROT_NONE));
  char *one = anon(PG, PROT_READ | PROT_WRITE);
  showp("then 1 page", one);
  showp("then 1 page more", anon(PG, PROT_NONE));
  showr("mprotect to read-write (AS unchanged)", mprotect(all, PG, PROT_READ | PROT_WRITE));
  showp("mremap growing 1 page", mr(one, PG, 2 * PG, MREMAP_MAYMOVE, 0));
  showp("DONTUNMAP (the source stays: needs a page)", mr(one, PG, PG, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, 0));
  showp("mremap shrinking by 2 pages", mr(all, 4 * PG, 2 * PG, 0, 0));
  showp("mremap growing in place into them", mr(all + PG, PG, 3 * PG, 0, 0));
  showp("then mremap growing 1 page", mr(all + PG, 3 * PG, 4 * PG, MREMAP_MAYMOVE, 0));
  showp("mremap growing the first page across the next", mr(all, 2 * PG, 3 * PG, MREMAP_MAYMOVE, 0));
  showp("mremap to a length past TASK_SIZE", mr(all, PG, 1UL << 47, MREMAP_MAYMOVE, 0));
  long cur = syscall(SYS_brk, 0);
  long nb = syscall(SYS_brk, cur + PG);
  printf("brk one page up %s\n", nb == cur + (long)PG ? "ok" : nb == cur ? "refused" : "other");
  munmap(all, n * PG);
  rl.rlim_cur = PG * 2;
  setrlimit(RLIMIT_AS, &rl);
  showp("RLIMIT_AS below the mapped size: 1 page", anon(PG, PROT_NONE));
  showr("munmap still works", munmap(one, PG));
  rl.rlim_cur = RLIM_INFINITY;
  setrlimit(RLIMIT_AS, &rl);
}

/* mm->start_data and end_data as load_elf_binary sets them: the highest PT_LOAD start and end of file data. */
static unsigned long data_span(void) {
  Elf64_Phdr *ph = (Elf64_Phdr *)getauxval(AT_PHDR);
  unsigned long n = getauxval(AT_PHNUM), sd = 0, ed = 0, base = 0;
  for (unsigned long i = 0; i < n; i++) if (ph[i].p_type == PT_PHDR) base = (unsigned long)ph - ph[i].p_vaddr;
  for (unsigned long i = 0; i < n; i++) {
    if (ph[i].p_type != PT_LOAD) continue;
    if (base + ph[i].p_vaddr > sd) sd = base + ph[i].p_vaddr;
    if (base + ph[i].p_vaddr + ph[i].p_filesz > ed) ed = base + ph[i].p_vaddr + ph[i].p_filesz;
  }
  return ed - sd;
}

static void data_cases(void) {
  struct rlimit rl = { 64UL << 20, RLIM_INFINITY };
  setrlimit(RLIMIT_DATA, &rl);
  size_t n = probe(PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  printf("RLIMIT_DATA 64 MiB: private writable pages below the limit %s\n", n > 1000 && n < (64UL << 20) / PG ? "yes" : "no");
  printf("read-only private mappings unlimited by it %s\n", probe(PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS) > n ? "yes" : "no");
  printf("shared writable ones too %s\n", probe(PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS) > n ? "yes" : "no");
  printf("MAP_NORESERVE counts %s\n", probe(PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE) == n ? "yes" : "no");
  char *all = anon(n * PG, PROT_READ | PROT_WRITE);
  char *ro = anon(PG, PROT_READ);
  showp("then a read-only page", ro);
  showr("mprotect of it to writable", mprotect(ro, PG, PROT_READ | PROT_WRITE));
  showr("mprotect of a writable page to read-only", mprotect(all, PG, PROT_READ));
  showr("mprotect of the read-only one to writable", mprotect(ro, PG, PROT_READ | PROT_WRITE));
  long cur = syscall(SYS_brk, 0);
  printf("brk one page up %s\n", syscall(SYS_brk, cur + PG) == cur ? "refused" : "ok");
  munmap(all, n * PG);
  munmap(ro, PG);
  /* check_data_rlimit: the heap plus end_data - start_data within the limit (bytes). */
  unsigned long span = data_span();
  rl.rlim_cur = (64UL << 20) + span;
  setrlimit(RLIMIT_DATA, &rl);
  long b0 = syscall(SYS_brk, 0);
  long want = b0 + (long)(16 * PG);
  printf("brk 16 pages up with room %s\n", syscall(SYS_brk, want) == want ? "ok" : "refused");
  syscall(SYS_brk, b0);
  rl.rlim_cur = 0;
  setrlimit(RLIMIT_DATA, &rl);
  showp("RLIMIT_DATA soft 0, hard unlimited: writable page (Valgrind rule)", anon(PG, PROT_READ | PROT_WRITE));
  printf("brk with soft limit 0 %s\n", syscall(SYS_brk, b0 + PG) == b0 ? "refused" : "ok");
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    struct rlimit z = { 0, 0 };
    setrlimit(RLIMIT_DATA, &z);
    showp("child, soft and hard 0: writable page", anon(PG, PROT_READ | PROT_WRITE));
    showp("child, soft and hard 0: read-only page", anon(PG, PROT_READ));
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
  rl.rlim_cur = RLIM_INFINITY;
  setrlimit(RLIMIT_DATA, &rl);
}

static void nofile_cases(void) {
  /* Descriptors 0-2 only, whatever the caller left open. */
  for (int fd = 3; fd < 1024; fd++) close(fd);
  const int top = 2;
  struct rlimit rl = { top + 3, 4096 };
  setrlimit(RLIMIT_NOFILE, &rl);
  int a = dup(0);
  printf("dup below the limit %s\n", a >= 0 ? "ok" : err(-1));
  int p[2] = { -1, -1 };
  int r = pipe(p);
  printf("pipe with one free slot %s, fds untouched %s\n", err(r), p[0] == -1 && p[1] == -1 ? "yes" : "no");
  int b = dup(0);
  printf("dup into the last slot %s\n", b >= 0 ? "ok" : err(-1));
  printf("dup past the limit %s\n", err(dup(0)));
  printf("open past the limit %s\n", err(open("/proc/self/status", O_RDONLY)));
  printf("dup2 onto the limit %s\n", err(dup2(0, top + 3)));
  printf("F_DUPFD from the limit %s\n", err(fcntl(0, F_DUPFD, top + 3)));
  printf("F_DUPFD from below with no slot %s\n", err(fcntl(0, F_DUPFD, 0)));
  close(a);
  close(b);
  printf("after two closes pipe %s\n", err(pipe(p)));
  close(p[0]);
  close(p[1]);
  rl.rlim_cur = 1024;
  setrlimit(RLIMIT_NOFILE, &rl);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  mremap_cases();
  as_cases();
  data_cases();
  nofile_cases();
  return 0;
}
