/* Pipes as fs/pipe.c has them: pipe/pipe2 and their flags, the 64 KiB ring and its merge rule,
 * O_NONBLOCK, packet mode (O_DIRECT), F_GETPIPE_SZ/F_SETPIPE_SZ, FIONREAD, dup/dup2/dup3, and
 * across fork: a reader that blocks until its child writes, a writer that blocks while the pipe
 * is full, EOF once every writer is closed, EPIPE and SIGPIPE once every reader is closed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

static const char *en(int e) {
  switch (e) {
    case 0: return "0"; case EAGAIN: return "EAGAIN"; case EBADF: return "EBADF"; case EINVAL: return "EINVAL";
    case EPIPE: return "EPIPE"; case ESPIPE: return "ESPIPE"; case EBUSY: return "EBUSY"; default: return strerror(e);
  }
}
#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); printf("%-44s -> %ld %s\n", what, r_, r_ < 0 ? en(errno) : ""); } while (0)

static volatile sig_atomic_t sigpipes, sigpipe_code = 99;
static void on_sigpipe(int sig, siginfo_t *si, void *uc) { (void)sig; (void)uc; sigpipes++; sigpipe_code = si->si_code; }

/* Fill a non-blocking pipe with writes of `chunk` bytes until EAGAIN; returns the bytes taken. */
static long fill(int wfd, size_t chunk) {
  static char buf[8192];
  memset(buf, 'x', sizeof buf);
  long total = 0;
  for (;;) {
    ssize_t n = write(wfd, buf, chunk);
    if (n < 0) { if (errno != EAGAIN) printf("  fill: %s\n", en(errno)); break; }
    total += n;
    if ((size_t)n < chunk) { printf("  partial write of %zd\n", n); }
  }
  return total;
}

static void drain(int rfd) {
  char buf[4096];
  while (read(rfd, buf, sizeof buf) > 0) {}
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int p[2];
  char buf[256];

  /* Basics in one process. */
  if (pipe(p) != 0) { perror("pipe"); return 1; }
  printf("pipe: fds %d %d\n", p[0], p[1]);
  struct stat st;
  fstat(p[0], &st);
  printf("fstat: fifo %d mode %o blksize %ld size %ld\n", S_ISFIFO(st.st_mode), st.st_mode & 0777, (long)st.st_blksize, (long)st.st_size);
  TRY("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
  TRY("F_GETFL read end", fcntl(p[0], F_GETFL));
  TRY("F_GETFL write end", fcntl(p[1], F_GETFL));
  TRY("F_GETFD", fcntl(p[0], F_GETFD));
  TRY("write 5", write(p[1], "hello", 5));
  int avail = -1;
  ioctl(p[0], FIONREAD, &avail);
  printf("FIONREAD %d\n", avail);
  TRY("read 3", read(p[0], buf, 3));
  TRY("read 100 (the rest)", read(p[0], buf, 100));
  TRY("read 0 bytes", read(p[0], buf, 0));
  TRY("read on the write end", read(p[1], buf, 1));
  TRY("write on the read end", write(p[0], "x", 1));
  TRY("lseek", lseek(p[0], 0, SEEK_SET));
  struct iovec wv[3] = { { "ab", 2 }, { "cde", 3 }, { "f", 1 } };
  TRY("writev 3 pieces", writev(p[1], wv, 3));
  char x1[2] = {0}, x2[8] = {0};
  struct iovec rv[2] = { { x1, 1 }, { x2, 8 } };
  TRY("readv 1 + 8", readv(p[0], rv, 2));
  printf("readv gave '%.1s' '%s'\n", x1, x2);
  close(p[0]);
  close(p[1]);

  /* pipe2 flags. */
  TRY("pipe2(O_APPEND)", syscall(SYS_pipe2, p, O_APPEND));
  TRY("pipe2(O_CLOEXEC)", pipe2(p, O_CLOEXEC));
  TRY("  F_GETFD read end", fcntl(p[0], F_GETFD));
  TRY("  F_GETFD write end", fcntl(p[1], F_GETFD));
  close(p[0]); close(p[1]);

  /* O_NONBLOCK: EAGAIN on empty, the 64 KiB ring, the merge rule. */
  TRY("pipe2(O_NONBLOCK)", pipe2(p, O_NONBLOCK));
  TRY("  F_GETFL read end", fcntl(p[0], F_GETFL));
  TRY("  read on empty", read(p[0], buf, 10));
  printf("  1-byte writes until EAGAIN: %ld\n", fill(p[1], 1));
  drain(p[0]);
  printf("  100-byte writes until EAGAIN: %ld\n", fill(p[1], 100));
  drain(p[0]);
  printf("  4096-byte writes until EAGAIN: %ld\n", fill(p[1], 4096));
  drain(p[0]);
  printf("  5000-byte writes until EAGAIN: %ld\n", fill(p[1], 5000));
  drain(p[0]);
  printf("  8192-byte writes until EAGAIN: %ld\n", fill(p[1], 8192));
  drain(p[0]);
  /* F_SETPIPE_SZ: rounded up to a power of two pages; -EBUSY when the data would not fit. */
  TRY("  F_SETPIPE_SZ 10000", fcntl(p[1], F_SETPIPE_SZ, 10000));
  TRY("  F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
  TRY("  F_SETPIPE_SZ 1", fcntl(p[1], F_SETPIPE_SZ, 1));
  printf("  1-byte writes until EAGAIN: %ld\n", fill(p[1], 1));
  TRY("  F_SETPIPE_SZ 65536 (full)", fcntl(p[1], F_SETPIPE_SZ, 65536));
  TRY("  F_SETPIPE_SZ 0 while full", fcntl(p[1], F_SETPIPE_SZ, 0));
  drain(p[0]);
  TRY("  F_GETPIPE_SZ on a closed fd", fcntl(99, F_GETPIPE_SZ));
  TRY("  F_SETFL clear O_NONBLOCK", fcntl(p[0], F_SETFL, 0));
  TRY("  F_GETFL read end", fcntl(p[0], F_GETFL));
  close(p[0]); close(p[1]);

  /* Packet mode. */
  TRY("pipe2(O_DIRECT)", pipe2(p, O_DIRECT));
  write(p[1], "0123456789", 10);
  write(p[1], "abcdefghijklmnopqrst", 20);
  write(p[1], "ABCDEFGHIJ", 10);
  TRY("  read 100: one packet", read(p[0], buf, 100));
  TRY("  read 100: the next", read(p[0], buf, 100));
  TRY("  read 5 of a 10-byte packet", read(p[0], buf, 5));
  int left = -1;
  ioctl(p[0], FIONREAD, &left);
  printf("  FIONREAD after it: %d\n", left);
  close(p[0]); close(p[1]);

  /* dup, dup2, dup3: the pipe stays open while a duplicate does. */
  pipe(p);
  int d = dup(p[1]);
  printf("dup of the write end: %d\n", d);
  close(p[1]);
  TRY("write through the dup", write(d, "dup", 3));
  TRY("dup2 onto itself", dup2(d, d));
  TRY("dup3 onto itself (raw)", syscall(SYS_dup3, d, d, 0));
  TRY("dup3 with O_NONBLOCK (raw)", syscall(SYS_dup3, d, 20, O_NONBLOCK));
  TRY("dup3 O_CLOEXEC to 20 (raw)", syscall(SYS_dup3, d, 20, O_CLOEXEC));
  TRY("  F_GETFD 20", fcntl(20, F_GETFD));
  TRY("dup2 to 20 (replaces it)", dup2(p[0], 20));
  TRY("  F_GETFD 20", fcntl(20, F_GETFD));
  TRY("dup2 of a closed fd", dup2(p[1], 21));
  TRY("dup2 to -1", dup2(d, -1));
  TRY("F_DUPFD from 30", fcntl(d, F_DUPFD, 30));
  TRY("F_DUPFD_CLOEXEC from 30", fcntl(d, F_DUPFD_CLOEXEC, 30));
  TRY("  F_GETFD 31", fcntl(31, F_GETFD));
  close(30); close(31);
  TRY("read via the dup2 copy", read(20, buf, 10));
  close(d);
  TRY("read at EOF (every writer closed)", read(p[0], buf, 10));
  close(p[0]); close(20);

  /* Across fork: the parent blocks reading until the child writes. */
  pipe(p);
  pid_t c = fork();
  if (c == 0) {
    close(p[0]);
    for (int i = 0; i < 20; i++) sched_yield();
    write(p[1], "from the child", 14);
    _exit(0);
  }
  close(p[1]);
  ssize_t n = read(p[0], buf, sizeof buf);
  printf("parent read %zd: '%.*s'\n", n, (int)n, buf);
  n = read(p[0], buf, sizeof buf);
  printf("parent read after the child exited: %zd (EOF)\n", n);
  int status;
  waitpid(c, &status, 0);
  printf("child exit status %d\n", WEXITSTATUS(status));
  close(p[0]);

  /* A writer blocks while the pipe is full: 200000 bytes through a 64 KiB pipe. */
  pipe(p);
  c = fork();
  if (c == 0) {
    close(p[0]);
    static char big[200000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
    ssize_t w = write(p[1], big, sizeof big);
    _exit(w == (ssize_t)sizeof big ? 0 : 1);
  }
  close(p[1]);
  unsigned long sum = 0, total = 0;
  for (;;) {
    char chunk[3000];
    ssize_t r = read(p[0], chunk, sizeof chunk);
    if (r <= 0) break;
    for (ssize_t i = 0; i < r; i++) sum = sum * 31 + (unsigned char)chunk[i];
    total += r;
  }
  waitpid(c, &status, 0);
  printf("read %lu bytes, checksum %lx, writer's status %d\n", total, sum, WEXITSTATUS(status));
  close(p[0]);

  /* No reader: EPIPE and SIGPIPE. */
  pipe(p);
  close(p[0]);
  signal(SIGPIPE, SIG_IGN);
  TRY("write with no reader, SIGPIPE ignored", write(p[1], "x", 1));
  struct sigaction sa = { 0 };
  sa.sa_sigaction = on_sigpipe;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGPIPE, &sa, NULL);
  TRY("write with no reader, a handler", write(p[1], "x", 1));
  printf("  SIGPIPE handled %d time(s), si_code %d\n", (int)sigpipes, (int)sigpipe_code);
  close(p[1]);
  /* The reader is a child that exits: then the parent's write fails. */
  pipe(p);
  c = fork();
  if (c == 0) { close(p[1]); read(p[0], buf, 1); _exit(7); }
  close(p[0]);
  TRY("write 1 while the child reads", write(p[1], "y", 1));
  waitpid(c, &status, 0);
  printf("reader child exited %d\n", WEXITSTATUS(status));
  TRY("write after the reader exited", write(p[1], "z", 1));
  close(p[1]);
  /* Default action: a child writing to a pipe without readers dies of SIGPIPE. */
  /* The child waits for EOF on a second pipe, which comes once the parent closed the read end. */
  int go[2];
  pipe(p);
  pipe(go);
  c = fork();
  if (c == 0) {
    signal(SIGPIPE, SIG_DFL);
    close(p[0]);
    close(go[1]);
    read(go[0], buf, 1);
    write(p[1], "x", 1);
    _exit(0);
  }
  close(p[0]);
  close(p[1]);
  close(go[0]);
  close(go[1]);
  waitpid(c, &status, 0);
  printf("writer child: %s %d\n", WIFSIGNALED(status) ? "killed by signal" : "exited", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  return 0;
}
