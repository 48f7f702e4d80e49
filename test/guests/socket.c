/* AF_UNIX sockets connected to nothing (net/socket.c, net/unix/af_unix.c): socket's checks,
 * connect's (-ENOENT for a path nobody bound, -ECONNREFUSED for an abstract name or a file that is
 * not a socket, the address checks), and what such a socket gives to read, write, poll, fstat,
 * FIONREAD and /proc/self/fd: what a static glibc program's name-service lookups meet. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *err(long r) {
  if (r >= 0) return "ok";
  switch (errno) {
    case EINVAL: return "EINVAL"; case EBADF: return "EBADF"; case ENOENT: return "ENOENT"; case ECONNREFUSED: return "ECONNREFUSED";
    case ENOTSOCK: return "ENOTSOCK"; case EPROTONOSUPPORT: return "EPROTONOSUPPORT"; case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case ENOTCONN: return "ENOTCONN"; case EAGAIN: return "EAGAIN"; case EFAULT: return "EFAULT"; default: return "other";
  }
}

int main(void) {
  setvbuf(stdout, 0, _IONBF, 0);
  printf("socket: bad flag %s", err(socket(AF_UNIX, SOCK_STREAM | 0x100, 0)));
  printf(", protocol 7 %s", err(socket(AF_UNIX, SOCK_STREAM, 7)));
  printf(", protocol PF_UNIX %s", err(socket(AF_UNIX, SOCK_STREAM, PF_UNIX)));
  printf(", SOCK_RDM %s", err(socket(AF_UNIX, SOCK_RDM, 0)));
  printf(", SOCK_RAW %s\n", err(socket(AF_UNIX, SOCK_RAW, 0)));
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  printf("stream: FD_CLOEXEC %d F_GETFL %#x", fcntl(s, F_GETFD) & FD_CLOEXEC, fcntl(s, F_GETFL));
  struct stat st;
  fstat(s, &st);
  printf(", S_ISSOCK %d mode %o\n", S_ISSOCK(st.st_mode), st.st_mode & 0777);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  strcpy(a.sun_path, "/var/run/nscd/socket");
  printf("connect: nscd's path %s", err(connect(s, (struct sockaddr *)&a, sizeof a)));
  a.sun_path[0] = 0;
  printf(", abstract %s", err(connect(s, (struct sockaddr *)&a, sizeof a)));
  strcpy(a.sun_path, "/proc/self/status");
  printf(", a /proc file %s", err(connect(s, (struct sockaddr *)&a, sizeof a)));
  printf(", length 2 %s", err(connect(s, (struct sockaddr *)&a, 2)));
  printf(", length 111 %s", err(connect(s, (struct sockaddr *)&a, 111)));
  printf(", length 200 %s", err(connect(s, (struct sockaddr *)&a, 200)));
  printf(", bad pointer %s", err(connect(s, (struct sockaddr *)8, sizeof a)));
  a.sun_family = AF_INET;
  printf(", AF_INET address %s", err(connect(s, (struct sockaddr *)&a, sizeof a)));
  int p[2];
  pipe(p);
  printf(", on a pipe %s", err(connect(p[0], (struct sockaddr *)&a, sizeof a)));
  printf(", fd 99 %s\n", err(connect(99, (struct sockaddr *)&a, sizeof a)));
  char c;
  printf("stream, connected to nothing: read %s", err(read(s, &c, 1)));
  printf(", write %s", err(write(s, "x", 1)));
  struct pollfd pf = { s, POLLIN | POLLOUT, 0 };
  poll(&pf, 1, 0);
  int q = -1;
  printf(", poll %#x", pf.revents);
  printf(", FIONREAD %s", err(ioctl(s, FIONREAD, &q)));
  printf(" %d\n", q);
  int d = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr unspec = { .sa_family = AF_UNSPEC };
  printf("datagram: connect AF_UNSPEC %s", err(connect(d, &unspec, sizeof unspec)));
  printf(", read %s", err(read(d, &c, 1)));
  printf(", write %s", err(write(d, "x", 1)));
  pf.fd = d; pf.revents = 0;
  poll(&pf, 1, 0);
  printf(", poll %#x\n", pf.revents);
  char link[64] = {0}, path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", s);
  readlink(path, link, sizeof link - 1);
  printf("link starts with socket:[ %s\n", strncmp(link, "socket:[", 8) == 0 ? "yes" : "no");
  return 0;
}
