/* File mappings (mm/mmap.c do_mmap, mm/filemap.c filemap_fault) of the program's own file, opened
 * through /proc/self/exe (or the file named as its argument): the pages hold the file's bytes, zero past the end of the file in its last
 * page, SIGBUS (BUS_ADRERR) past its last page; MAP_PRIVATE copies on write; MAP_SHARED of a file
 * opened read-only is never writable (EACCES); /proc/self/maps names the file and the offset;
 * mremap keeps the file offsets; descriptors without mmap (a pipe, a /proc file) are ENODEV. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#define PG 4096UL
static sigjmp_buf jb;
static volatile int sig, code;
static volatile long err;
static volatile uintptr_t addr;
static void on_fault(int s, siginfo_t *si, void *u) { sig = s; code = si->si_code; addr = (uintptr_t)si->si_addr; err = ((ucontext_t *)u)->uc_mcontext.gregs[REG_ERR]; siglongjmp(jb, 1); }
static char probe_buf[64];
static const char *touch(volatile char *p, int write) {
  sig = 0;
  if (!sigsetjmp(jb, 1)) {
    int v = write ? (*p = 1) : *p;
    snprintf(probe_buf, sizeof probe_buf, "ok (%d)", v);
  } else snprintf(probe_buf, sizeof probe_buf, "%s code %d err %#lx at %s", sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "?", code, err, addr == (uintptr_t)p ? "the address" : "elsewhere");
  return probe_buf;
}
static const char *e(void *r) {
  if (r != MAP_FAILED) return "ok";
  switch (errno) { case EACCES: return "EACCES"; case EINVAL: return "EINVAL"; case ENODEV: return "ENODEV"; case EBADF: return "EBADF"; default: return "other"; }
}
static const char *er(long r) { return r >= 0 ? "ok" : errno == EACCES ? "EACCES" : errno == EFAULT ? "EFAULT" : "other"; }
/* The /proc/self/maps line of the mapping at p: perms, offset, and whether it names the program. */
static void maps_line(const char *what, void *p, const char *exe) {
  char line[512], want[32];
  snprintf(want, sizeof want, "%lx-", (unsigned long)p);
  FILE *f = fopen("/proc/self/maps", "r");
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, want, strlen(want))) continue;
    char perms[8], path[400] = "";
    unsigned long off;
    sscanf(line, "%*s %7s %lx %*s %*s %399s", perms, &off, path);
    printf("%s: maps %s offset %#lx names the program %s\n", what, perms, off, strcmp(path, exe) ? "no" : "yes");
  }
  fclose(f);
}

int main(int argc, char **argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGBUS, &sa, 0);
  /* The file: argv[1] (a file named with --file under the sandbox), else the program itself. */
  char exe[400] = "";
  const char *path = argc > 1 ? argv[1] : "/proc/self/exe";
  if (argc > 1) snprintf(exe, sizeof exe, "%s", argv[1]); /* an absolute path without symbolic links */
  else readlink("/proc/self/exe", exe, sizeof exe - 1);
  int fd = open(path, O_RDONLY);
  struct stat st;
  fstat(fd, &st);
  size_t size = st.st_size, pages = (size + PG - 1) / PG;
  char *copy = malloc(size);
  size_t got = 0;
  while (got < size) { ssize_t n = read(fd, copy + got, size - got); if (n <= 0) break; got += n; }
  printf("file read: %s\n", got == size ? "whole" : "short");

  char *m = mmap(0, (pages + 2) * PG, PROT_READ, MAP_PRIVATE, fd, 0);
  printf("mmap of the file and 2 pages more: %s; first byte %02x, equal to the file %s\n", e(m), (unsigned char)m[0], memcmp(m, copy, size) ? "no" : "yes");
  printf("zero after the end in the last page: %s\n", size % PG == 0 ? "(ends on a page)" : m[size] == 0 && m[pages * PG - 1] == 0 ? "yes" : "no");
  printf("read past the last page: %s\n", touch(m + pages * PG + 100, 0));
  printf("write past the last page: %s\n", touch(m + (pages + 1) * PG, 1));
  printf("write of the read-only mapping: %s\n", touch(m + 10, 1));
  int q[2];
  pipe(q);
  write(q[1], "xy", 2);
  printf("read() from a pipe into the page past the end: %s\n", er(read(q[0], m + pages * PG, 1)));
  maps_line("private read-only", m, exe);

  char *w = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  w[0] = 'X';
  char *again = mmap(0, PG, PROT_READ, MAP_PRIVATE, fd, 0);
  printf("MAP_PRIVATE writable: %s, written X, another mapping still reads %02x\n", e(w), (unsigned char)again[0]);
  maps_line("private writable", w, exe);
  printf("MAP_SHARED writable of a read-only descriptor: %s\n", e(mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)));
  char *sh = mmap(0, PG, PROT_READ, MAP_SHARED, fd, 0);
  printf("MAP_SHARED read-only: %s, mprotect to writable: %s\n", e(sh), er(mprotect(sh, PG, PROT_READ | PROT_WRITE)));
  maps_line("shared", sh, exe);
  char *o = mmap(0, 2 * PG, PROT_READ, MAP_PRIVATE, fd, PG);
  printf("offset 4096: %s, first byte is the file's %s\n", e(o), o[0] == copy[PG] ? "yes" : "no");
  maps_line("offset 4096", o, exe);
  printf("offset 1: %s\n", e(mmap(0, PG, PROT_READ, MAP_PRIVATE, fd, 1)));
  char *past = mmap(0, PG, PROT_READ, MAP_PRIVATE, fd, (pages + 3) * PG);
  printf("offset past the end: %s, read %s\n", e(past), touch(past, 0));

  /* mremap: moved and grown, the file's bytes stay at their offsets; the grown part past the end faults. */
  char *big = mmap(0, pages * PG, PROT_READ, MAP_PRIVATE, fd, 0);
  char *moved = mremap(big, pages * PG, (pages + 1) * PG, MREMAP_MAYMOVE);
  printf("mremap grown by a page: %s, still equal to the file %s, the new page: %s\n", e(moved), memcmp(moved, copy, size) ? "no" : "yes", touch(moved + pages * PG, 0));

  int p[2];
  pipe(p);
  int status = open("/proc/self/status", O_RDONLY);
  printf("mmap of a pipe: %s; of /proc/self/status: %s; of fd 99: %s; anonymous with fd 99: %s\n", e(mmap(0, PG, PROT_READ, MAP_PRIVATE, p[0], 0)), e(mmap(0, PG, PROT_READ, MAP_PRIVATE, status, 0)),
         e(mmap(0, PG, PROT_READ, MAP_PRIVATE, 99, 0)), e(mmap(0, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 99, 0)));
  return 0;
}
