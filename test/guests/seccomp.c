/* seccomp as sandboxes use it (kernel/seccomp.c): prctl no_new_privs and PR_GET/SET_SECCOMP,
 * seccomp(2)'s operations, the filter validation (bpf_check_classic, seccomp_check_filter), every
 * action (ERRNO with its clamp, TRAP's SIGSYS and frame, KILL_PROCESS, KILL_THREAD, LOG, ALLOW,
 * TRACE and USER_NOTIF without a tracer or listener), precedence across filters, the classic BPF
 * machine (ALU, scratch memory, RET A), inheritance over fork and exec, TSYNC, strict mode. Each
 * filter is installed in a child (a filter cannot be removed). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include <fcntl.h>
#include "seccomp-abi.h"
#define SECCOMP_GET_ACTION_AVAIL_ 2
#define SECCOMP_GET_NOTIF_SIZES_ 3
#define FLAG_TSYNC 1
#define FLAG_NEW_LISTENER 8
#define FLAG_TSYNC_ESRCH 16

static long sc(unsigned op, unsigned flags, void *args) { return syscall(SYS_seccomp, op, flags, args); }
static const char *err(long r) {
  static char b[32];
  if (r >= 0) { snprintf(b, sizeof b, "%ld", r); return b; }
  snprintf(b, sizeof b, "-1 %s", errno == EINVAL ? "EINVAL" : errno == EACCES ? "EACCES" : errno == EFAULT ? "EFAULT" : errno == EOPNOTSUPP ? "EOPNOTSUPP" : errno == ESRCH ? "ESRCH" : errno == ENOSYS ? "ENOSYS" : errno == ENOMEM ? "ENOMEM" : "other");
  if (errno != EINVAL && errno != EACCES && errno != EFAULT && errno != EOPNOTSUPP && errno != ESRCH && errno != ENOSYS && errno != ENOMEM) snprintf(b, sizeof b, "-1 errno %d", errno);
  return b;
}

/* A filter: for syscall `nr` return `ret`, allow everything else. */
static long install_one(int nr, unsigned ret, unsigned flags) {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, ret),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = { sizeof f / sizeof f[0], f };
  return sc(SECCOMP_SET_MODE_FILTER, flags, &p);
}

static void report(const char *what, int st) {
  if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", what, WTERMSIG(st));
  else printf("%s: status %#x\n", what, st);
  fflush(stdout);
}
#define CHILD(what, ...) do { fflush(stdout); pid_t c_ = fork(); if (c_ == 0) { __VA_ARGS__; fflush(stdout); _exit(0); } int st_; waitpid(c_, &st_, 0); report(what, st_); } while (0)

static volatile int got_sys;
static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  got_sys++;
  printf("  SIGSYS: signo %d code %d errno %d syscall %d arch %#x call_addr==rip %s rax==nr %s\n", si->si_signo, si->si_code, si->si_errno,
         si->si_syscall, si->si_arch, (unsigned long)si->si_call_addr == (unsigned long)uc->uc_mcontext.gregs[REG_RIP] ? "yes" : "no",
         uc->uc_mcontext.gregs[REG_RAX] == si->si_syscall ? "yes" : "no");
  fflush(stdout);
}

static void status_lines(void) {
  char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY);
  int n = read(fd, buf, sizeof buf - 1);
  close(fd);
  buf[n > 0 ? n : 0] = 0;
  for (char *l = strtok(buf, "\n"); l; l = strtok(0, "\n"))
    if (!strncmp(l, "NoNewPrivs", 10) || !strncmp(l, "Seccomp:", 8) || !strncmp(l, "Seccomp_filters", 15)) printf("  %s\n", l);
}

static void *thread_getpid(void *arg) { (void)arg; long r = syscall(SYS_getpid); printf("  thread: getpid %s\n", r > 0 ? "works" : err(r)); fflush(stdout); return 0; }
static volatile int waiter_go;
static void *thread_waits(void *arg) { (void)arg; while (!waiter_go) sched_yield(); return thread_getpid(0); }
static volatile long killed_tid;
static void *thread_killed(void *arg) { (void)arg; killed_tid = syscall(SYS_gettid); syscall(SYS_getppid); printf("  thread: survived getppid (wrong)\n"); return 0; }
static volatile int own_filter_done;
static void *thread_own_filter(void *arg) {
  (void)arg;
  install_one(SYS_getuid, SECCOMP_RET_ERRNO | 1, 0);
  own_filter_done = 1;
  while (own_filter_done != 2) sched_yield();
  return 0;
}

static char *self;
/* A line by write(2) alone (strict mode allows read, write, exit, rt_sigreturn). */
static void raw_line(const char *what, long v) {
  char b[96];
  int n = snprintf(b, sizeof b, "%s%ld\n", what, v);
  syscall(SYS_write, 1, b, n);
}

int main(int argc, char **argv) {
  self = argv[0];
  if (argc > 1 && !strcmp(argv[1], "after-exec")) {
    long r = syscall(SYS_getppid);
    printf("  after exec: getppid %s, PR_GET_SECCOMP %d, PR_GET_NO_NEW_PRIVS %d\n", err(r), prctl(PR_GET_SECCOMP, 0, 0, 0, 0), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    return 0;
  }
  printf("PR_GET_SECCOMP %d PR_GET_NO_NEW_PRIVS %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  printf("PR_SET_NO_NEW_PRIVS 2 -> %s\n", err(prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0)));
  printf("PR_SET_NO_NEW_PRIVS 1,1 -> %s\n", err(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0)));
  printf("PR_GET_NO_NEW_PRIVS 1 -> %s\n", err(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0)));
  printf("PR_SET_SECCOMP 3 -> %s\n", err(prctl(PR_SET_SECCOMP, 3, 0, 0, 0)));
  unsigned acts[] = { SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO, SECCOMP_RET_USER_NOTIF, SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW, 0x7ff80000, 0x00010000, SECCOMP_RET_ERRNO | 5 };
  for (unsigned i = 0; i < sizeof acts / sizeof acts[0]; i++) printf("GET_ACTION_AVAIL %#010x -> %s\n", acts[i], err(sc(SECCOMP_GET_ACTION_AVAIL_, 0, &acts[i])));
  printf("GET_ACTION_AVAIL flags 1 -> %s\n", err(sc(SECCOMP_GET_ACTION_AVAIL_, 1, &acts[0])));
  printf("GET_ACTION_AVAIL NULL -> %s\n", err(sc(SECCOMP_GET_ACTION_AVAIL_, 0, 0)));
  unsigned short sizes[3] = { 0 };
  long r = sc(SECCOMP_GET_NOTIF_SIZES_, 0, sizes);
  printf("GET_NOTIF_SIZES -> %s: %u %u %u\n", err(r), sizes[0], sizes[1], sizes[2]);
  printf("op 9 -> %s\n", err(sc(9, 0, 0)));
  printf("STRICT with flags -> %s\n", err(sc(SECCOMP_SET_MODE_STRICT, 1, 0)));
  printf("STRICT with args -> %s\n", err(sc(SECCOMP_SET_MODE_STRICT, 0, sizes)));

  /* Filters the checks refuse (all before no_new_privs: root holds CAP_SYS_ADMIN, so none is EACCES). */
  struct { const char *what; struct sock_filter f[4]; unsigned short n; } bad[] = {
    { "no RET last", { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0) }, 1 },
    { "load at 64", { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), BPF_STMT(BPF_RET | BPF_A, 0) }, 2 },
    { "load at 2", { BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), BPF_STMT(BPF_RET | BPF_A, 0) }, 2 },
    { "halfword load", { BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0), BPF_STMT(BPF_RET | BPF_A, 0) }, 2 },
    { "MOD", { BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 3), BPF_STMT(BPF_RET | BPF_A, 0) }, 2 },
    { "div by 0", { BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), BPF_STMT(BPF_RET | BPF_A, 0) }, 2 },
    { "shift 32", { BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), BPF_STMT(BPF_RET | BPF_A, 0) }, 2 },
    { "M[3] unset", { BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_STMT(BPF_RET | BPF_A, 0) }, 2 },
    { "M[16]", { BPF_STMT(BPF_ST, 16), BPF_STMT(BPF_RET | BPF_A, 0) }, 2 },
    { "jump out", { BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), BPF_STMT(BPF_RET | BPF_A, 0) }, 2 },
    { "JA out", { BPF_STMT(BPF_JMP | BPF_JA, 1), BPF_STMT(BPF_RET | BPF_A, 0) }, 2 },
    { "RET X", { BPF_STMT(BPF_RET | BPF_X, 0) }, 1 },
    { "M on one path", { BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), BPF_STMT(BPF_ST, 1), BPF_STMT(BPF_LD | BPF_MEM, 1), BPF_STMT(BPF_RET | BPF_A, 0) }, 4 },
    { "len 0", { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) }, 0 },
  };
  for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct sock_fprog p = { bad[i].n, bad[i].f };
    printf("filter %-14s -> %s\n", bad[i].what, err(sc(SECCOMP_SET_MODE_FILTER, 0, &p)));
  }
  struct sock_fprog nullp = { 1, 0 };
  printf("filter NULL insns -> %s\n", err(sc(SECCOMP_SET_MODE_FILTER, 0, &nullp)));
  printf("filter flags 64 -> %s\n", err(sc(SECCOMP_SET_MODE_FILTER, 64, &nullp)));
  printf("filter TSYNC|NEW_LISTENER -> %s\n", err(sc(SECCOMP_SET_MODE_FILTER, FLAG_TSYNC | FLAG_NEW_LISTENER, &nullp)));
  printf("PR_GET_SECCOMP still %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
  printf("PR_SET_NO_NEW_PRIVS 1 -> %s", err(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)));
  printf(", now %d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));

  CHILD("ERRNO 1234", {
    printf("  install -> %s", err(install_one(SYS_getpid, SECCOMP_RET_ERRNO | 1234, 0)));
    printf(", PR_GET_SECCOMP %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
    long x = syscall(SYS_getpid);
    printf("  getpid -> %ld errno %d\n", x, errno);
    status_lines();
  });
  CHILD("ERRNO 0xffff and 0", {
    install_one(SYS_getpid, SECCOMP_RET_ERRNO | 0xffff, 0);
    install_one(SYS_getuid, SECCOMP_RET_ERRNO, 0);
    errno = 0;
    long x = syscall(SYS_getpid);
    printf("  getpid -> %ld errno %d\n", x, errno);
    errno = 0;
    printf("  getuid -> %ld errno %d\n", syscall(SYS_getuid), errno);
    status_lines();
  });
  CHILD("TRAP 0x42", {
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, 0);
    install_one(SYS_getppid, SECCOMP_RET_TRAP | 0x42, 0);
    long x = syscall(SYS_getppid);
    printf("  getppid returned %ld after %d SIGSYS\n", x, got_sys);
  });
  CHILD("TRAP with SIGSYS blocked", {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSYS);
    sigprocmask(SIG_BLOCK, &s, 0);
    install_one(SYS_getppid, SECCOMP_RET_TRAP, 0);
    syscall(SYS_getppid);
    printf("  survived (wrong)\n");
  });
  CHILD("KILL_PROCESS with a SIGSYS handler", {
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, 0);
    install_one(SYS_getppid, SECCOMP_RET_KILL_PROCESS, 0);
    syscall(SYS_getppid);
    printf("  survived (wrong)\n");
  });
  CHILD("KILL_THREAD alone", { install_one(SYS_getppid, SECCOMP_RET_KILL_THREAD, 0); syscall(SYS_getppid); printf("  survived (wrong)\n"); });
  CHILD("KILL_THREAD in a second thread", {
    install_one(SYS_getppid, SECCOMP_RET_KILL_THREAD, 0);
    pthread_t th;
    pthread_create(&th, 0, thread_killed, 0);
    /* musl's pthread_join waits for the thread's own exit path, which a killed thread never runs: wait for the tid to vanish. */
    int gone = 0;
    for (int i = 0; i < 1000 && !gone; i++) {
      struct timespec ts = { 0, 1000000 };
      nanosleep(&ts, 0);
      gone = killed_tid && syscall(SYS_tgkill, getpid(), killed_tid, 0) < 0 && errno == ESRCH;
    }
    printf("  second thread gone: %s; main thread's getpid works %s\n", gone ? "yes" : "no", syscall(SYS_getpid) > 0 ? "yes" : "no");
  });
  CHILD("LOG, TRACE, USER_NOTIF", {
    install_one(SYS_getpid, SECCOMP_RET_LOG, 0);
    install_one(SYS_getuid, SECCOMP_RET_TRACE | 3, 0);
    install_one(SYS_getgid, SECCOMP_RET_USER_NOTIF, 0);
    printf("  LOG getpid > 0: %s\n", syscall(SYS_getpid) > 0 ? "yes" : "no");
    printf("  TRACE without tracer getuid -> %s\n", err(syscall(SYS_getuid)));
    printf("  USER_NOTIF without listener getgid -> %s\n", err(syscall(SYS_getgid)));
  });
  CHILD("precedence", {
    install_one(SYS_getpid, SECCOMP_RET_ERRNO | 5, 0);
    install_one(SYS_getpid, SECCOMP_RET_ERRNO | 7, 0);
    install_one(SYS_getuid, SECCOMP_RET_TRAP | 1, 0);
    install_one(SYS_getuid, SECCOMP_RET_ERRNO | 9, 0);
    install_one(SYS_getgid, SECCOMP_RET_ALLOW, 0);
    install_one(SYS_getgid, SECCOMP_RET_LOG, 0);
    signal(SIGSYS, SIG_IGN);
    errno = 0; syscall(SYS_getpid); printf("  two ERRNOs: errno %d\n", errno);
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, 0);
    errno = 0; long x = syscall(SYS_getuid); printf("  TRAP over ERRNO: returned %ld errno %d SIGSYS %d\n", x, errno, got_sys);
    printf("  LOG over ALLOW getgid -> %s\n", err(syscall(SYS_getgid)));
    status_lines();
  });
  CHILD("BPF machine", {
    /* A = nr * 3 + 1; M[0] = A; X = 7; A = (A ^ X) << 2 >> 1; JSET 0x80? ; RET ERRNO | (M[0] & 0xfff) for getuid/getgid, else ALLOW. */
    struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SYS_getuid, 0, 15),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, SYS_getgid, 14, 0),
      BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 3),
      BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
      BPF_STMT(BPF_ST, 0),
      BPF_STMT(BPF_LDX | BPF_IMM, 7),
      BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
      BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 2),
      BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 1),
      BPF_STMT(BPF_MISC | BPF_TAX, 0),
      BPF_STMT(BPF_LD | BPF_MEM, 0),
      BPF_STMT(BPF_ALU | BPF_SUB | BPF_X, 0),
      BPF_STMT(BPF_ALU | BPF_NEG, 0),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xfff),
      BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
      BPF_STMT(BPF_RET | BPF_A, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = { sizeof f / sizeof f[0], f };
    printf("  install -> %s\n", err(sc(SECCOMP_SET_MODE_FILTER, 0, &p)));
    errno = 0; syscall(SYS_getuid); printf("  getuid errno %d\n", errno);
    errno = 0; syscall(SYS_getgid); printf("  getgid errno %d\n", errno);
    errno = 0; syscall(SYS_geteuid); printf("  geteuid errno %d\n", errno);
    /* Arguments: ERRNO 9 when args[0] low word is 42 and its high word 1, with BPF_LEN's size in X. */
    struct sock_filter g[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close, 0, 8),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 42, 0, 6),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + 4),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 4),
      BPF_STMT(BPF_LDX | BPF_W | BPF_LEN, 0),
      BPF_STMT(BPF_MISC | BPF_TXA, 0),
      BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
      BPF_STMT(BPF_RET | BPF_A, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog q = { 11, g };
    printf("  install args filter -> %s\n", err(sc(SECCOMP_SET_MODE_FILTER, 0, &q)));
    errno = 0; syscall(SYS_close, 0x10000002aL); printf("  close(0x10000002a) errno %d\n", errno);
    errno = 0; syscall(SYS_close, 42L); printf("  close(42) errno %d\n", errno);
  });
  CHILD("inherited by fork and exec", {
    install_one(SYS_getppid, SECCOMP_RET_ERRNO | 77, 0);
    pid_t g = fork();
    if (g == 0) { errno = 0; syscall(SYS_getppid); printf("  grandchild getppid errno %d\n", errno); fflush(stdout); _exit(0); }
    int st;
    waitpid(g, &st, 0);
    char *av[] = { self, "after-exec", 0 };
    fflush(stdout);
    execv(self, av);
    printf("  execv failed %d\n", errno);
  });
  CHILD("TSYNC", {
    pthread_t th;
    pthread_create(&th, 0, thread_own_filter, 0);
    while (!own_filter_done) sched_yield();
    printf("  TSYNC over a thread with its own filter -> %s\n", err(install_one(SYS_getpid, SECCOMP_RET_ERRNO | 3, FLAG_TSYNC)) [0] == '-' ? "error" : "a tid");
    printf("  with TSYNC_ESRCH -> %s\n", err(install_one(SYS_getpid, SECCOMP_RET_ERRNO | 3, FLAG_TSYNC | FLAG_TSYNC_ESRCH)));
    own_filter_done = 2;
    pthread_join(th, 0);
    pthread_t t2;
    printf("  no other thread, TSYNC -> %s\n", err(install_one(SYS_getppid, SECCOMP_RET_ERRNO | 4, FLAG_TSYNC)));
    pthread_create(&t2, 0, thread_getpid, 0);
    pthread_join(t2, 0);
  });
  CHILD("TSYNC to an unfiltered thread", {
    pthread_t th;
    pthread_create(&th, 0, thread_waits, 0);
    printf("  install TSYNC -> %s\n", err(install_one(SYS_getpid, SECCOMP_RET_ERRNO | 6, FLAG_TSYNC)));
    status_lines();
    fflush(stdout);
    waiter_go = 1;
    pthread_join(th, 0);
  });
  CHILD("strict mode", {
    /* stdio writes with writev, which strict mode refuses: plain write from here on. */
    long x = sc(SECCOMP_SET_MODE_STRICT, 0, 0);
    raw_line("  SET_MODE_STRICT -> ", x);
    static const char msg[] = "  write allowed\n";
    syscall(SYS_write, 1, msg, sizeof msg - 1);
    syscall(SYS_getpid);
    syscall(SYS_write, 1, "  survived (wrong)\n", 19);
  });
  CHILD("strict mode by prctl, then exit", {
    long x = prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
    raw_line("  PR_SET_SECCOMP 1 -> ", x);
    syscall(SYS_exit, 5);
  });
  CHILD("filter after strict", {
    sc(SECCOMP_SET_MODE_STRICT, 0, 0);
    struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
    struct sock_fprog p = { 1, f };
    long x = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p);
    syscall(SYS_write, 1, "  survived (wrong)\n", 19);
    (void)x;
  });
  CHILD("strict after filter", {
    install_one(SYS_getuid, SECCOMP_RET_ERRNO | 1, 0);
    printf("  SET_MODE_STRICT -> %s\n", err(sc(SECCOMP_SET_MODE_STRICT, 0, 0)));
  });
  return 0;
}
