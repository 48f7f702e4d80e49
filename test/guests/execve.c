/* execve of the program itself: the new image starts with the FPU as the kernel resets it
 * (fpu_flush_thread: MXCSR 1F80H, FCW 037FH, vector registers zero), the same pid, handled signals
 * back to SIG_DFL but ignored ones still ignored, the mask and a pending signal kept, the
 * alternate stack gone, close-on-exec descriptors closed and the others open; a missing file is
 * ENOENT. `execve try PATH` only tries PATH and prints the errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "guest.h"

extern char **environ;

static void on_usr1(int sig) { (void)sig; }

static int after(char **argv) {
  unsigned mxcsr;
  unsigned short fcw;
  uint64_t x[2];
  __asm__ volatile("stmxcsr %0\n\tfnstcw %1\n\tmovdqu %%xmm0, %2" : "=m"(mxcsr), "=m"(fcw), "=m"(x));
  printf("after exec: same pid %d\n", getpid() == atoi(argv[2]));
  printf("after exec: MXCSR %04x FCW %04x xmm0 zero %d\n", mxcsr, fcw, x[0] == 0 && x[1] == 0);
  if (os_avx()) {
    uint64_t hi[2];
    __asm__ volatile("vextractf128 $1, %%ymm1, %0" : "=m"(hi));
    printf("after exec: ymm1 upper zero %d\n", hi[0] == 0 && hi[1] == 0);
  } else printf("after exec: no AVX here\n");
  struct sigaction sa;
  sigaction(SIGUSR1, 0, &sa);
  printf("after exec: SIGUSR1 handler is SIG_DFL %d\n", sa.sa_handler == SIG_DFL);
  sigaction(SIGUSR2, 0, &sa);
  printf("after exec: SIGUSR2 still SIG_IGN %d\n", sa.sa_handler == SIG_IGN);
  sigset_t m, p;
  sigprocmask(SIG_BLOCK, 0, &m);
  sigpending(&p);
  printf("after exec: SIGTERM blocked %d pending %d\n", sigismember(&m, SIGTERM), sigismember(&p, SIGTERM));
  stack_t ss;
  sigaltstack(0, &ss);
  printf("after exec: altstack disabled %d\n", (ss.ss_flags & SS_DISABLE) != 0);
  int cloexec_fd = atoi(argv[3]), kept_fd = atoi(argv[4]);
  int r1 = fcntl(cloexec_fd, F_GETFD), e1 = errno;
  int r2 = fcntl(kept_fd, F_GETFD);
  printf("after exec: O_CLOEXEC fd %d (%s), plain fd %d\n", r1, r1 < 0 && e1 == EBADF ? "EBADF" : "?", r2);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, 0, _IOLBF, 0);
  if (argc > 2 && strcmp(argv[1], "try") == 0) {
    char *args[] = { argv[2], 0 };
    execve(argv[2], args, environ);
    printf("execve(%s): %s\n", argv[2], errno == ENOENT ? "ENOENT" : errno == ENOEXEC ? "ENOEXEC" : strerror(errno));
    return 1;
  }
  if (argc > 4 && strcmp(argv[1], "after") == 0) return after(argv);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, 0);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGUSR2, &sa, 0);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, 0);
  raise(SIGTERM);
  static char alt[1 << 16];
  stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0 };
  sigaltstack(&ss, 0);
  int a[2], b[2];
  pipe2(a, O_CLOEXEC);
  pipe(b);

  char *none[] = { "/nonexistent/program", 0 };
  int r = execve(none[0], none, environ);
  printf("execve of a missing file: %d %s\n", r, errno == ENOENT ? "ENOENT" : strerror(errno));

  char pid[16], fa[16], fb[16];
  snprintf(pid, sizeof pid, "%d", getpid());
  snprintf(fa, sizeof fa, "%d", a[0]);
  snprintf(fb, sizeof fb, "%d", b[0]);
  char *args[] = { argv[0], "after", pid, fa, fb, 0 };
  printf("before exec: pid %d\n", getpid() > 0);
  /* Leave non-default x87/SSE/AVX state in the registers at the execve. */
  static const uint64_t pattern[4] = { 0x1111111111111111ull, 0x2222222222222222ull, 0x3333333333333333ull, 0x4444444444444444ull };
  unsigned mx = 0x9fc0; /* FTZ, DAZ, all exceptions masked */
  unsigned short cw = 0x027f; /* 53-bit precision */
  long ret;
  if (os_avx()) __asm__ volatile("vmovdqu %0, %%ymm1" : : "m"(pattern) : "xmm1");
  __asm__ volatile("ldmxcsr %2\n\tfldcw %3\n\tmovdqu %4, %%xmm0\n\tsyscall"
                   : "=a"(ret) : "a"(59L), "m"(mx), "m"(cw), "m"(pattern), "D"(args[0]), "S"(args), "d"(environ)
                   : "rcx", "r11", "memory", "xmm0");
  printf("execve of myself failed: %ld\n", ret);
  return 1;
}
