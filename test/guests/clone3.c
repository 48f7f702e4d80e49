/* clone3 (kernel/fork.c copy_clone_args_from_user, clone3_args_valid): its errors, a fork and a
 * thread made with it (the stack's top is stack + stack_size; glibc's pthread_create tries clone3
 * first); and getcwd, umask, getresuid/getresgid, pread64 and sched_getscheduler. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* struct clone_args and the flags clone3 adds (include/uapi/linux/sched.h; musl has no kernel headers). */
struct clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static const char *err(long r) {
  if (r >= 0) return "ok";
  switch (errno) {
    case EINVAL: return "EINVAL"; case E2BIG: return "E2BIG"; case EFAULT: return "EFAULT"; case ESPIPE: return "ESPIPE";
    case EBADF: return "EBADF"; case ERANGE: return "ERANGE"; case ESRCH: return "ESRCH"; default: return "other";
  }
}
static long clone3(struct clone_args *a, size_t size) { return syscall(SYS_clone3, a, size); }

static volatile int thread_ran;
static char stack[65536] __attribute__((aligned(16)));
static volatile pid_t ctid = -1;

/* A thread by clone3: the child returns from the system call on the new stack, sets the word and exits. */
static long thread_clone3(struct clone_args *a) {
  long ret;
  __asm__ volatile(
    "mov $435, %%eax\n\t"
    "syscall\n\t"
    "test %%rax, %%rax\n\t"
    "jnz 1f\n\t"
    "movl $1, thread_ran(%%rip)\n\t"
    "mov $60, %%eax\n\t"
    "xor %%edi, %%edi\n\t"
    "syscall\n\t"
    "1:\n\t"
    : "=a"(ret) : "D"(a), "S"(sizeof *a) : "rcx", "r11", "memory");
  return ret;
}

int main(void) {
  setvbuf(stdout, 0, _IONBF, 0);
  struct clone_args a;
  memset(&a, 0, sizeof a);
  printf("clone3 errors: size 8 %s", err(clone3(&a, 8)));
  static char big[8192];
  printf(", size 8192 %s", err(syscall(SYS_clone3, big, sizeof big)));
  big[200] = 1;
  printf(", 256 bytes, byte 200 set %s", err(syscall(SYS_clone3, big, 256)));
  printf(", NULL %s", err(syscall(SYS_clone3, 0, 64)));
  a.exit_signal = 65;
  printf(", exit_signal 65 %s", err(clone3(&a, sizeof a)));
  a.exit_signal = 0; a.flags = SIGCHLD;
  printf(", SIGCHLD in flags %s\n", err(clone3(&a, sizeof a)));
  a.flags = 0; a.stack = (uintptr_t)stack;
  printf("  stack without size %s", err(clone3(&a, sizeof a)));
  a.stack = 0; a.stack_size = 4096;
  printf(", size without stack %s", err(clone3(&a, sizeof a)));
  a.stack_size = 0; a.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM; a.exit_signal = SIGCHLD;
  printf(", THREAD with an exit signal %s", err(clone3(&a, sizeof a)));
  a.flags = CLONE_SIGHAND | CLONE_VM | CLONE_CLEAR_SIGHAND; a.exit_signal = 0;
  printf(", SIGHAND with CLEAR_SIGHAND %s", err(clone3(&a, sizeof a)));
  a.flags = 1ULL << 40;
  printf(", flag bit 40 %s", err(clone3(&a, sizeof a)));
  a.flags = 0; a.set_tid_size = 1;
  printf(", set_tid_size without set_tid %s\n", err(clone3(&a, sizeof a)));

  /* A fork: exit_signal SIGCHLD, the child's id written through parent_tid. */
  memset(&a, 0, sizeof a);
  pid_t ptid = 0;
  a.flags = CLONE_PARENT_SETTID; a.parent_tid = (uintptr_t)&ptid; a.exit_signal = SIGCHLD;
  long pid = clone3(&a, sizeof a);
  if (pid == 0) _exit(7);
  int st = 0;
  pid_t w = waitpid(pid, &st, 0);
  printf("fork by clone3: waitpid found it %s, parent_tid %s, exit %d\n", w == pid ? "yes" : "no", ptid == pid ? "yes" : "no", WEXITSTATUS(st));

  /* A thread: CLONE_CHILD_CLEARTID clears the word and wakes a futex when it exits. */
  memset(&a, 0, sizeof a);
  a.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID;
  a.child_tid = (uintptr_t)&ctid;
  a.stack = (uintptr_t)stack; a.stack_size = sizeof stack;
  long tid = thread_clone3(&a);
  while (ctid != 0) syscall(SYS_futex, &ctid, 0 /* FUTEX_WAIT */, ctid, 0, 0, 0);
  printf("thread by clone3: tid > pid %s, ran %d, child_tid cleared %s\n", tid > getpid() ? "yes" : "no", thread_ran, ctid == 0 ? "yes" : "no");

  char cwd[4096], small[2];
  long n = syscall(SYS_getcwd, cwd, sizeof cwd);
  printf("getcwd: returns its length with the NUL %s, absolute %s", n == (long)strlen(cwd) + 1 ? "yes" : "no", cwd[0] == '/' ? "yes" : "no");
  printf(", into 2 bytes %s\n", err(syscall(SYS_getcwd, small, sizeof small)));
  mode_t m0 = umask(0777);
  mode_t m1 = umask(m0);
  printf("umask: first %03o, after 0777 %03o\n", m0, m1);
  uid_t r, e, s;
  gid_t gr, ge, gs;
  getresuid(&r, &e, &s); getresgid(&gr, &ge, &gs);
  printf("getresuid %d %d %d (getuid %d), getresgid %d %d %d\n", r, e, s, getuid(), gr, ge, gs);
  int fd = open("/proc/self/cmdline", O_RDONLY);
  char x[8] = {0}, y[8] = {0};
  long pn = pread(fd, x, 4, 1);
  read(fd, y, 5);
  printf("pread of /proc/self/cmdline at 1: %ld, same bytes as read %s, position kept %s", pn, memcmp(x, y + 1, 4) == 0 ? "yes" : "no", y[0] != 0 ? "yes" : "no");
  int p[2];
  pipe(p);
  printf("; negative offset %s", err(pread(fd, x, 4, -1)));
  printf(", pipe %s", err(pread(p[0], x, 4, 0)));
  printf(", fd 99 %s", err(pread(99, x, 4, 0)));
  printf(", pwrite to a pipe %s\n", err(pwrite(p[1], x, 4, 0)));
  printf("sched_getscheduler: self %ld", syscall(SYS_sched_getscheduler, 0));
  printf(", -1 %s", err(syscall(SYS_sched_getscheduler, -1)));
  printf(", 4000000 %s\n", err(syscall(SYS_sched_getscheduler, 4000000)));
  return 0;
}
