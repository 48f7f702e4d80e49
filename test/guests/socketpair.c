/* socketpair(AF_UNIX) (net/unix/af_unix.c): stream, datagram and seqpacket ends; messages glued or
 * kept apart; MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT, MSG_WAITALL; descriptors passed with SCM_RIGHTS
 * (installed, MSG_CMSG_CLOEXEC, a short control buffer: MSG_CTRUNC); shutdown; a peer's close
 * (EOF, EPIPE and SIGPIPE, ECONNRESET, ECONNREFUSED); the datagram queue's limit; poll and epoll;
 * a child on the other end. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *err(long r) {
  if (r >= 0) return "ok";
  switch (errno) {
    case EINVAL: return "EINVAL"; case EBADF: return "EBADF"; case EAGAIN: return "EAGAIN"; case EPIPE: return "EPIPE";
    case ECONNRESET: return "ECONNRESET"; case ECONNREFUSED: return "ECONNREFUSED"; case ENOTSOCK: return "ENOTSOCK";
    case EISCONN: return "EISCONN"; case EMSGSIZE: return "EMSGSIZE"; case EFAULT: return "EFAULT"; case ENOTCONN: return "ENOTCONN";
    case EAFNOSUPPORT: return "EAFNOSUPPORT"; case EOPNOTSUPP: return "EOPNOTSUPP"; case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    default: return "other";
  }
}
static volatile int sigpipes;
static void on_pipe(int s) { (void)s; sigpipes++; }

static int send_fd(int s, int fd, const char *data, size_t n) {
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct iovec v = { (void *)data, n };
  struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(s, &m, 0);
}

int main(void) {
  setvbuf(stdout, 0, _IONBF, 0);
  signal(SIGPIPE, on_pipe);
  int sv[2];
  printf("socketpair: AF_INET %s", err(socketpair(AF_INET, SOCK_STREAM, 0, sv)));
  printf(", protocol 9 %s", err(socketpair(AF_UNIX, SOCK_STREAM, 9, sv)));
  printf(", bad flag %s", err(socketpair(AF_UNIX, SOCK_STREAM | 0x200, 0, sv)));
  printf(", NULL %s\n", err(socketpair(AF_UNIX, SOCK_STREAM, 0, 0)));

  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  char buf[256];
  write(sv[0], "abc", 3); write(sv[0], "def", 3);
  int q = 0;
  ioctl(sv[1], FIONREAD, &q);
  long n = recv(sv[1], buf, sizeof buf, MSG_PEEK);
  printf("stream: FIONREAD %d, peek %ld '%.*s'", q, n, (int)n, buf);
  n = read(sv[1], buf, 4);
  printf(", read 4: '%.*s'", (int)n, buf);
  n = read(sv[1], buf, sizeof buf);
  printf(", rest '%.*s'", (int)n, buf);
  printf(", empty MSG_DONTWAIT %s\n", err(recv(sv[1], buf, 1, MSG_DONTWAIT)));
  printf("  connect on it %s, sendto with an address %s\n", err(connect(sv[0], (struct sockaddr *)&(struct sockaddr){ .sa_family = AF_UNIX }, 3)),
         err(sendto(sv[0], "x", 1, 0, (struct sockaddr *)&(struct sockaddr){ .sa_family = AF_UNIX }, 3)));
  pid_t child = fork();
  if (child == 0) { usleep(10000); write(sv[1], "12", 2); usleep(10000); write(sv[1], "34", 2); _exit(0); }
  n = recv(sv[0], buf, 4, MSG_WAITALL);
  printf("  MSG_WAITALL of 4 over a child's two writes: %ld '%.*s'\n", n, (int)n, buf);
  waitpid(child, 0, 0);
  shutdown(sv[0], SHUT_WR);
  struct pollfd pf = { sv[1], POLLIN | POLLOUT | POLLRDHUP, 0 };
  poll(&pf, 1, 0);
  printf("  after the other's SHUT_WR: poll %#x, read %ld", pf.revents, read(sv[1], buf, 1));
  printf(", its write %s sigpipes %d", err(write(sv[0], "x", 1)), sigpipes);
  printf(", MSG_NOSIGNAL %s sigpipes %d\n", err(send(sv[0], "x", 1, MSG_NOSIGNAL)), sigpipes);
  write(sv[1], "unread", 6);
  close(sv[1]);
  pf.fd = sv[0]; pf.revents = 0;
  poll(&pf, 1, 0);
  printf("  peer closed with data unread by it... poll %#x", pf.revents);
  n = read(sv[0], buf, sizeof buf);
  printf(", read %ld '%.*s'", n, n > 0 ? (int)n : 0, buf);
  printf(", read again %ld\n", read(sv[0], buf, sizeof buf));
  close(sv[0]);
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  write(sv[0], "zz", 2);
  close(sv[0]);
  printf("  closed with unread data in its own queue: peer read %s", err(read(sv[1], buf, sizeof buf)));
  printf(", then %ld\n", read(sv[1], buf, sizeof buf));
  close(sv[1]);

  /* Datagrams. */
  socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv);
  send(sv[0], "one", 3, 0); send(sv[0], "twotwo", 6, 0); send(sv[0], "", 0, 0);
  ioctl(sv[1], FIONREAD, &q);
  n = recv(sv[1], buf, 2, 0);
  printf("datagram: FIONREAD %d, recv 2 of 'one': %ld '%.*s'", q, n, (int)n, buf);
  n = recv(sv[1], buf, 2, MSG_TRUNC);
  printf(", MSG_TRUNC recv 2 of 'twotwo': %ld", n);
  printf(", empty datagram %ld", recv(sv[1], buf, 2, 0));
  printf(", then %s\n", err(recv(sv[1], buf, 2, 0)));
  int sent = 0;
  while (send(sv[0], "q", 1, 0) == 1) sent++;
  printf("  queue limit: %d sent, then %s", sent, err(send(sv[0], "q", 1, 0)));
  pf.fd = sv[0]; pf.events = POLLOUT; pf.revents = 0;
  poll(&pf, 1, 0);
  printf(", poll %#x", pf.revents);
  recv(sv[1], buf, 1, 0);
  pf.revents = 0;
  poll(&pf, 1, 0);
  printf(", after one recv %#x\n", pf.revents);
  static char huge[300000];
  printf("  300000 bytes %s", err(send(sv[0], huge, sizeof huge, 0)));
  close(sv[1]);
  printf(", to a closed peer %s\n", err(send(sv[0], "q", 1, 0)));
  close(sv[0]);

  /* Seqpacket. */
  socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
  send(sv[0], "hello", 5, 0); send(sv[0], "world", 5, 0);
  struct iovec v = { buf, 3 };
  struct msghdr mh = { .msg_iov = &v, .msg_iovlen = 1 };
  n = recvmsg(sv[1], &mh, 0);
  printf("seqpacket: recvmsg 3 of 'hello': %ld flags %#x", n, mh.msg_flags);
  n = read(sv[1], buf, sizeof buf);
  printf(", read '%.*s'", (int)n, buf);
  close(sv[0]);
  printf(", after the peer's close: read %ld", read(sv[1], buf, sizeof buf));
  printf(", send %s sigpipes %d\n", err(send(sv[1], "x", 1, 0)), sigpipes);
  close(sv[1]);

  /* Descriptors. */
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  int p[2];
  pipe(p);
  send_fd(sv[0], p[1], "F", 1);
  close(p[1]);
  char ctl[CMSG_SPACE(sizeof(int))];
  v.iov_base = buf; v.iov_len = sizeof buf;
  struct msghdr rm = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
  n = recvmsg(sv[1], &rm, MSG_CMSG_CLOEXEC);
  struct cmsghdr *c = CMSG_FIRSTHDR(&rm);
  int got = -1;
  if (c && c->cmsg_type == SCM_RIGHTS) memcpy(&got, CMSG_DATA(c), sizeof got);
  printf("SCM_RIGHTS: recvmsg %ld, controllen %zu, level %d type %d len %zu, FD_CLOEXEC %d", n, (size_t)rm.msg_controllen, c ? c->cmsg_level : -1,
         c ? c->cmsg_type : -1, c ? (size_t)c->cmsg_len : 0, got >= 0 ? fcntl(got, F_GETFD) & FD_CLOEXEC : -1);
  write(got, "via", 3);
  n = read(p[0], buf, sizeof buf);
  printf(", the passed pipe end writes: '%.*s'\n", (int)n, buf);
  close(got);
  printf("  the last writer was the passed one: read %ld\n", read(p[0], buf, sizeof buf));
  int p2[2];
  pipe(p2);
  send_fd(sv[0], p2[1], "G", 1);
  close(p2[1]);
  n = read(sv[1], buf, sizeof buf);
  printf("  read() of a message with a descriptor: %ld, the descriptor dropped: pipe EOF %ld\n", n, read(p2[0], buf, sizeof buf));
  send_fd(sv[0], 0, "H", 1);
  rm.msg_controllen = sizeof(struct cmsghdr);
  n = recvmsg(sv[1], &rm, 0);
  printf("  control buffer of a bare header: %ld, flags %#x (MSG_CTRUNC), controllen %zu\n", n, rm.msg_flags, (size_t)rm.msg_controllen);
  printf("  SCM_RIGHTS with fd 99 %s", err(send_fd(sv[0], 99, "I", 1)));
  write(sv[0], "ab", 2);
  send_fd(sv[0], 1, "cd", 2);
  write(sv[0], "ef", 2);
  rm.msg_controllen = sizeof ctl;
  v.iov_len = sizeof buf;
  n = recvmsg(sv[1], &rm, 0);
  printf("; glued read stops after the descriptor: %ld '%.*s' controllen %zu", n, (int)n, buf, (size_t)rm.msg_controllen);
  n = read(sv[1], buf, sizeof buf);
  printf(", then '%.*s'\n", (int)n, buf);

  /* epoll on a socket. */
  int ep = epoll_create1(0);
  struct epoll_event e = { .events = EPOLLIN | EPOLLET, .data.u64 = 5 }, ev[2];
  epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &e);
  printf("epoll, edge: empty %d", epoll_wait(ep, ev, 2, 0));
  write(sv[0], "x", 1);
  printf(", a write %d", epoll_wait(ep, ev, 2, 0));
  printf(", again %d", epoll_wait(ep, ev, 2, 0));
  write(sv[0], "y", 1);
  printf(", another write %d", epoll_wait(ep, ev, 2, 0));
  close(sv[0]);
  n = epoll_wait(ep, ev, 2, 0);
  printf(", peer closed %ld events %#x\n", n, n > 0 ? ev[0].events : 0);
  return 0;
}
