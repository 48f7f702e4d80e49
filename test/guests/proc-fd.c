/* open() of /proc/self/fd/<n> (proc_fd_link): a new open file description of what the descriptor
 * refers to, not a dup: a pipe opens as a FIFO (a new reader or writer, its own O_NONBLOCK), a
 * /proc file at offset 0; an anonymous inode (signalfd) cannot be opened (ENXIO). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

static int reopen(int fd, int flags) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  return open(path, flags);
}
static const char *err(long r) {
  if (r >= 0) return "ok";
  switch (errno) { case ENXIO: return "ENXIO"; case ENOENT: return "ENOENT"; case EAGAIN: return "EAGAIN"; case EACCES: return "EACCES"; default: return "other"; }
}

int main(void) {
  int p[2];
  pipe(p);
  int r2 = reopen(p[0], O_RDONLY);
  int w2 = reopen(p[0], O_WRONLY | O_NONBLOCK);
  printf("reopen read end for reading: %s, for writing: %s\n", err(r2), err(w2));
  write(p[1], "hi", 2);
  char b[16] = { 0 };
  printf("read through the new reader: %zd '%.2s'\n", read(r2, b, sizeof b), b);
  write(w2, "yo", 2);
  memset(b, 0, sizeof b);
  printf("written through the new writer, read from the old end: %zd '%.2s'\n", read(p[0], b, sizeof b), b);
  printf("O_NONBLOCK is the new description's own: new %s, old %s\n", fcntl(w2, F_GETFL) & O_NONBLOCK ? "yes" : "no", fcntl(p[1], F_GETFL) & O_NONBLOCK ? "yes" : "no");
  close(p[1]);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  printf("old writer closed, the new one open: read %s\n", err(read(p[0], b, 1)));
  close(w2);
  printf("both writers closed: read %zd\n", read(p[0], b, 1));
  close(r2);
  close(p[0]);

  pipe(p);
  close(p[0]);
  int r3 = reopen(p[1], O_RDONLY);
  printf("a reader reopened from the write end after the last reader closed: %s, write %zd\n", err(r3), write(p[1], "z", 1));
  memset(b, 0, sizeof b);
  printf("and it reads '%c'\n", read(r3, b, 1) == 1 ? b[0] : '?');
  close(r3);
  close(p[1]);

  int st = open("/proc/self/status", O_RDONLY);
  read(st, b, 5);
  int st2 = reopen(st, O_RDONLY);
  char c[6] = { 0 };
  read(st2, c, 5);
  printf("/proc/self/status reopened reads from the start: '%s'\n", c);

  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  int sfd = signalfd(-1, &s, 0);
  printf("signalfd reopened: %s; a closed descriptor: %s\n", err(reopen(sfd, O_RDONLY)), err(reopen(90, O_RDONLY)));
  return 0;
}
