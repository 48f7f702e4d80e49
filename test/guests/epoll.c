/* epoll and eventfd (fs/eventpoll.c, fs/eventfd.c): the interest set's errors, level- and
 * edge-triggered and one-shot items on pipes, eventfds, a signalfd and a nested epoll, the ready
 * list's order when maxevents cuts it, the wakeups each file sends (a write to a non-empty pipe, a
 * read from a full one, the last writer's close), items that outlive a closed descriptor of a
 * file still open, the nesting limit, timeouts, a child's write waking a sleeper, a signal (EINTR
 * even under SA_RESTART), epoll_pwait's mask, a fault in the event buffer, and the eventfd counter. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(long r) {
  if (r >= 0) return "ok";
  switch (errno) {
    case EINVAL: return "EINVAL"; case EBADF: return "EBADF"; case EINTR: return "EINTR"; case EFAULT: return "EFAULT";
    case EPERM: return "EPERM"; case EEXIST: return "EEXIST"; case ENOENT: return "ENOENT"; case ELOOP: return "ELOOP";
    case EAGAIN: return "EAGAIN"; default: return "other";
  }
}
static long long mono(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec * 1000000000LL + ts.tv_nsec; }
static volatile int handled;
static void on_sig(int s) { (void)s; handled++; }

static int add(int ep, int fd, unsigned events, uint64_t data) {
  struct epoll_event e = { .events = events, .data.u64 = data };
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}
static int mod(int ep, int fd, unsigned events, uint64_t data) {
  struct epoll_event e = { .events = events, .data.u64 = data };
  return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}
/* One wait, printed as "n: data/events ...". */
static void show(const char *what, int ep, int max, int timeout) {
  struct epoll_event ev[8];
  int n = epoll_wait(ep, ev, max, timeout);
  printf("%-44s %d", what, n);
  if (n < 0) printf(" %s", err(n));
  for (int i = 0; i < n; i++) printf(" %llu/%#x", (unsigned long long)ev[i].data.u64, ev[i].events);
  printf("\n");
}

int main(void) {
  setvbuf(stdout, 0, _IONBF, 0);
  const char *e1 = err(syscall(SYS_epoll_create, 0)), *e2 = err(epoll_create1(1));
  printf("epoll_create(0) %s, epoll_create1(1) %s\n", e1, e2);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  printf("epoll_create1(EPOLL_CLOEXEC): FD_CLOEXEC %d, F_GETFL %#x\n", fcntl(ep, F_GETFD) & FD_CLOEXEC, fcntl(ep, F_GETFL));
  int p[2];
  pipe(p);
  int proc = open("/proc/self/status", O_RDONLY);
  struct epoll_event e = { .events = EPOLLIN, .data.u64 = 1 };
  /* One result per line item, in program order. */
  printf("ctl errors: bad epfd %s", err(epoll_ctl(99, EPOLL_CTL_ADD, p[0], &e)));
  printf(", bad fd %s", err(epoll_ctl(ep, EPOLL_CTL_ADD, 99, &e)));
  printf(", /proc file %s", err(epoll_ctl(ep, EPOLL_CTL_ADD, proc, &e)));
  printf(", not an epoll %s", err(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &e)));
  printf(", itself %s\n", err(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e)));
  printf("  MOD absent %s", err(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e)));
  printf(", DEL absent %s", err(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], 0)));
  printf(", op 9 %s", err(epoll_ctl(ep, 9, p[0], &e)));
  printf(", ADD with event NULL %s", err(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], 0)));
  printf(", op 9 with event NULL %s\n", err(epoll_ctl(ep, 9, p[0], 0)));
  printf("  EXCLUSIVE: with ONESHOT %s", err(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 1)));
  printf(", with RDNORM %s", err(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDNORM, 1)));
  printf(", on an epoll %s", err(add(ep, epoll_create1(0), EPOLLIN | EPOLLEXCLUSIVE, 1)));
  printf(", with IN|OUT|ET %s", err(add(ep, p[1], EPOLLIN | EPOLLOUT | EPOLLET | EPOLLEXCLUSIVE, 2)));
  printf(", its MOD %s\n", err(mod(ep, p[1], EPOLLOUT, 2)));
  show("exclusive write end", ep, 8, 0);
  epoll_ctl(ep, EPOLL_CTL_DEL, p[1], 0);
  printf("  ADD %s", err(add(ep, p[0], EPOLLIN, 10)));
  printf(", again %s", err(add(ep, p[0], EPOLLIN, 10)));
  printf(", MOD with EXCLUSIVE %s\n", err(mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 10)));
  char buf[65536];
  show("level: empty pipe", ep, 8, 0);
  write(p[1], "ab", 2);
  show("level: 2 bytes", ep, 8, 0);
  show("level: again", ep, 8, 0);
  read(p[0], buf, 2);
  show("level: read empty", ep, 8, 0);
  mod(ep, p[0], EPOLLIN | EPOLLET, 11);
  show("edge: MOD on empty", ep, 8, 0);
  write(p[1], "a", 1);
  show("edge: a write", ep, 8, 0);
  show("edge: again", ep, 8, 0);
  write(p[1], "b", 1);
  show("edge: a write to a non-empty pipe", ep, 8, 0);
  read(p[0], buf, 1);
  show("edge: a read (pipe not full)", ep, 8, 0);
  mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 12);
  show("oneshot: MOD with data there", ep, 8, 0);
  show("oneshot: again", ep, 8, 0);
  write(p[1], "c", 1);
  show("oneshot: a write", ep, 8, 0);
  mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 13);
  show("oneshot: MOD re-arms", ep, 8, 0);
  read(p[0], buf, sizeof buf);
  epoll_ctl(ep, EPOLL_CTL_DEL, p[0], 0);

  /* The ready list's order: three ready pipes, two events per wait. */
  int q[3][2];
  for (int i = 0; i < 3; i++) { pipe(q[i]); write(q[i][1], "x", 1); add(ep, q[i][0], EPOLLIN, 100 + i); }
  show("order: 3 ready, maxevents 2", ep, 2, 0);
  show("order: next", ep, 2, 0);
  show("order: next", ep, 8, 0);
  for (int i = 0; i < 3; i++) { epoll_ctl(ep, EPOLL_CTL_DEL, q[i][0], 0); close(q[i][0]); close(q[i][1]); }

  /* The write end: room, full, and a read that frees a buffer of a full pipe. */
  int w[2];
  pipe2(w, O_NONBLOCK);
  add(ep, w[1], EPOLLOUT | EPOLLET, 20);
  show("write end, edge: room", ep, 8, 0);
  long total = 0, n;
  while ((n = write(w[1], buf, 4096)) > 0) total += n;
  printf("filled %ld bytes, then %s\n", total, err(n));
  show("write end: full", ep, 8, 0);
  read(w[0], buf, 100);
  show("write end: 100 bytes read (buffer kept)", ep, 8, 0);
  read(w[0], buf, 4096 - 100);
  show("write end: a buffer freed of a full pipe", ep, 8, 0);
  read(w[0], buf, 4096);
  show("write end: another (pipe was not full)", ep, 8, 0);
  close(w[0]);
  show("write end: reader closed", ep, 8, 0);
  close(w[1]);
  show("write end: its descriptor closed", ep, 8, 0);

  /* HUP, and an item that outlives its descriptor while a dup keeps the file open. */
  int h[2];
  pipe(h);
  add(ep, h[0], EPOLLIN, 30);
  close(h[1]);
  show("read end: writer closed", ep, 8, 0);
  int d = dup(h[0]);
  close(h[0]);
  show("read end: fd closed, a dup open", ep, 8, 0);
  printf("DEL by the closed fd %s, by the dup %s\n", err(epoll_ctl(ep, EPOLL_CTL_DEL, h[0], 0)), err(epoll_ctl(ep, EPOLL_CTL_DEL, d, 0)));
  close(d);
  show("read end: last descriptor closed", ep, 8, 0);

  /* eventfd. */
  printf("eventfd2 bad flags %s\n", err(eventfd(0, 0x10)));
  int efd = eventfd(3, EFD_NONBLOCK);
  uint64_t v = 0;
  printf("eventfd(3): F_GETFL %#x", fcntl(efd, F_GETFL));
  printf(", read 4 bytes %s", err(read(efd, &v, 4)));
  printf(", read %s", err(read(efd, &v, 8)));
  printf(" %llu", (unsigned long long)v);
  printf(", read again %s\n", err(read(efd, &v, 8)));
  v = ~0ULL;
  printf("write ~0 %s, ", err(write(efd, &v, 8)));
  v = ~0ULL - 1;
  printf("write ~0-1 %s", err(write(efd, &v, 8)));
  printf(", then 1 %s", err(write(efd, &(uint64_t){1}, 8)));
  struct pollfd pf = { efd, POLLIN | POLLOUT, 0 };
  poll(&pf, 1, 0);
  printf(", poll %#x\n", pf.revents);
  read(efd, &v, 8);
  int sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
  uint64_t a = 0, b = 0, c = 0;
  read(sem, &a, 8); read(sem, &b, 8);
  printf("semaphore of 2: %llu %llu then %s\n", (unsigned long long)a, (unsigned long long)b, err(read(sem, &c, 8)));
  add(ep, efd, EPOLLIN | EPOLLOUT | EPOLLET, 40);
  show("eventfd, edge: added at 0", ep, 8, 0);
  write(efd, &(uint64_t){0}, 8);
  show("eventfd: a write of 0", ep, 8, 0);
  write(efd, &(uint64_t){5}, 8);
  show("eventfd: a write of 5", ep, 8, 0);
  read(efd, &v, 8);
  show("eventfd: a read", ep, 8, 0);
  epoll_ctl(ep, EPOLL_CTL_DEL, efd, 0);

  /* A signalfd. */
  sigset_t set;
  sigemptyset(&set); sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, 0);
  int sfd = signalfd(-1, &set, SFD_NONBLOCK);
  add(ep, sfd, EPOLLIN | EPOLLET, 50);
  show("signalfd: nothing pending", ep, 8, 0);
  raise(SIGUSR1);
  show("signalfd: SIGUSR1 raised", ep, 8, 0);
  struct signalfd_siginfo si;
  const char *rs = err(read(sfd, &si, sizeof si));
  printf("signalfd read %s signo %u\n", rs, si.ssi_signo);
  sigprocmask(SIG_UNBLOCK, &set, 0);
  epoll_ctl(ep, EPOLL_CTL_DEL, sfd, 0);

  /* Nested epolls. */
  int inner = epoll_create1(0), outer = epoll_create1(0);
  int r2[2];
  pipe(r2);
  add(inner, r2[0], EPOLLIN, 60);
  printf("outer watches inner %s", err(add(outer, inner, EPOLLIN, 61)));
  printf("; inner watches outer %s\n", err(add(inner, outer, EPOLLIN, 62)));
  show("outer: inner empty", outer, 8, 0);
  write(r2[1], "z", 1);
  show("outer: inner has a ready pipe", outer, 8, 0);
  struct pollfd pe = { inner, POLLIN, 0 };
  int pr = poll(&pe, 1, 0);
  printf("poll on inner: %d %#x", pr, pe.revents);
  printf("; read on an epoll %s\n", err(read(inner, buf, 8)));
  int chain[8];
  chain[0] = epoll_create1(0);
  int depth = 0;
  for (int i = 1; i < 8; i++) {
    chain[i] = epoll_create1(0);
    if (add(chain[i], chain[i - 1], EPOLLIN, i) < 0) { printf("nesting: epoll %d watching %d: %s\n", i, i - 1, err(-1)); break; }
    depth = i;
  }
  printf("nesting: %d levels accepted\n", depth);

  /* epoll_wait's errors, timeouts and sleeps. */
  struct epoll_event ev[4];
  printf("wait errors: maxevents 0 %s", err(epoll_wait(ep, ev, 0, 0)));
  printf(", kernel buffer %s", err(epoll_wait(ep, (void *)0xffff800000000000ULL, 1, 0)));
  printf(", not an epoll %s", err(epoll_wait(p[0], ev, 1, 0)));
  printf(", bad fd %s", err(epoll_wait(99, ev, 1, 0)));
  printf(", bad sigset size %s\n", err(epoll_pwait(ep, ev, 1, 0, 0) < 0 ? -1 : syscall(SYS_epoll_pwait, ep, ev, 1, 0, &set, 4)));
  struct timespec bad = { 0, 1000000000 }, zero = { 0, 0 };
  printf("epoll_pwait2: bad timespec %s", err(syscall(SYS_epoll_pwait2, ep, ev, 1, &bad, 0, 8)));
  printf(", zero %s\n", err(syscall(SYS_epoll_pwait2, ep, ev, 1, &zero, 0, 8)));
  long long t0 = mono();
  int r = epoll_wait(ep, ev, 4, 30);
  printf("empty, 30 ms: %d after >= 30 ms %s\n", r, mono() - t0 >= 30000000 ? "yes" : "no");
  int s[2];
  pipe(s);
  add(ep, s[0], EPOLLIN, 70);
  pid_t child = fork();
  if (child == 0) { usleep(20000); write(s[1], "k", 1); _exit(0); }
  r = epoll_wait(ep, ev, 4, -1);
  printf("a child writes after 20 ms: %d data %llu\n", r, r > 0 ? (unsigned long long)ev[0].data.u64 : 0ULL);
  waitpid(child, 0, 0);
  read(s[0], buf, 1);
  struct sigaction sa = { .sa_handler = on_sig, .sa_flags = SA_RESTART };
  sigaction(SIGALRM, &sa, 0);
  alarm(1);
  r = epoll_wait(ep, ev, 4, -1);
  printf("SIGALRM (SA_RESTART) during epoll_wait: %s, handler ran %d\n", err(r), handled);
  sigaction(SIGUSR1, &sa, 0);
  sigprocmask(SIG_BLOCK, &set, 0);
  raise(SIGUSR1);
  sigset_t none;
  sigemptyset(&none);
  r = epoll_pwait(ep, ev, 4, -1, &none);
  sigset_t now;
  sigprocmask(SIG_SETMASK, 0, &now);
  printf("epoll_pwait unblocking a pending SIGUSR1: %s, handler ran %d, SIGUSR1 blocked after %d\n", err(r), handled, sigismember(&now, SIGUSR1));

  /* A fault in the event buffer after one event: the first is reported, the second stays first in line. */
  int f1[2], f2[2];
  pipe(f1); pipe(f2);
  write(f1[1], "1", 1); write(f2[1], "2", 1);
  int fe = epoll_create1(0);
  add(fe, f1[0], EPOLLIN, 81);
  add(fe, f2[0], EPOLLIN, 82);
  char *page = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(page + 4096, 4096);
  struct epoll_event *edge = (struct epoll_event *)(page + 4096 - sizeof(struct epoll_event));
  r = epoll_wait(fe, edge, 2, 0);
  printf("buffer with one slot mapped: %d data %llu\n", r, (unsigned long long)edge[0].data.u64);
  show("then", fe, 8, 0);
  r = epoll_wait(fe, (struct epoll_event *)(page + 4096), 2, 0);
  printf("buffer unmapped: %s\n", err(r));

  char link[64] = {0}, path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", ep);
  readlink(path, link, sizeof link - 1);
  printf("%s -> %s", path + 14, link);
  memset(link, 0, sizeof link);
  snprintf(path, sizeof path, "/proc/self/fd/%d", efd);
  readlink(path, link, sizeof link - 1);
  printf(", eventfd -> %s\n", link);
  return 0;
}
