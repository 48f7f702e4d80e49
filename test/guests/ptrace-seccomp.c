/* A tracer and seccomp (kernel/seccomp.c __seccomp_filter's SECCOMP_RET_TRACE, kernel/ptrace.c
 * ptrace_get_syscall_info / ptrace_set_syscall_info, Linux 6.16+): PTRACE_EVENT_SECCOMP stops with
 * the filter's data in GETEVENTMSG, GET_SYSCALL_INFO's op SECCOMP, skipping a call (orig_rax -1),
 * changing it (the filters run again on the new number), PTRACE_SET_SYSCALL_INFO's rules at
 * entry, seccomp and exit stops, and the order of a syscall-entry stop and the seccomp stop. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include "seccomp-abi.h"

#define PTRACE_GET_SYSCALL_INFO_ 0x420e
#define PTRACE_SET_SYSCALL_INFO_ 0x4212
#define O_TRACESYSGOOD 1
#define O_TRACESECCOMP 0x80
#define EVENT_SECCOMP 7

struct syscall_info {
  uint8_t op, reserved;
  uint16_t flags;
  uint32_t arch;
  uint64_t ip, sp;
  union {
    struct { uint64_t nr, args[6]; } entry;
    struct { int64_t rval; uint8_t is_error; } exit;
    struct { uint64_t nr, args[6]; uint32_t ret_data, reserved2; } seccomp;
  };
};

static const char *e(long r) {
  static char b[32];
  if (r >= 0) snprintf(b, sizeof b, "%ld", r);
  else snprintf(b, sizeof b, "-1 %s", errno == EINVAL ? "EINVAL" : errno == ERANGE ? "ERANGE" : errno == EIO ? "EIO" : errno == EFAULT ? "EFAULT" : "other");
  return b;
}

static void child(int options_note) {
  (void)options_note;
  ptrace(PTRACE_TRACEME, 0, 0, 0);
  raise(SIGSTOP);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x77),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getuid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x55),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getgid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x66),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_geteuid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 21),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getegid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 0x11),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = { sizeof f / sizeof f[0], f };
  syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p);
  long a = syscall(SYS_getpid);
  long b = syscall(SYS_getuid);
  long c = syscall(SYS_getgid);
  errno = 0;
  long d = syscall(SYS_getegid);
  int de = errno;
  printf("tracee: getpid %ld, getuid->getppid real %s, getgid->geteuid %ld errno %d, getegid %ld errno %d\n", a, b == getppid() ? "yes" : "no", c, errno, d, de);
  fflush(stdout);
  syscall(SYS_exit, 0);
}

int main(void) {
  /* 1: traced without PTRACE_O_TRACESECCOMP: SECCOMP_RET_TRACE is -ENOSYS, no stop. */
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = { 4, f };
    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p);
    errno = 0;
    long r = syscall(SYS_getpid);
    printf("untraced-seccomp tracee: getpid %ld errno %d\n", r, errno);
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(c, &st, 0);
  ptrace(PTRACE_CONT, c, 0, 0);
  waitpid(c, &st, 0);
  printf("without TRACESECCOMP: %s %d\n", WIFEXITED(st) ? "exited" : "stopped", WIFEXITED(st) ? WEXITSTATUS(st) : WSTOPSIG(st));

  /* 2: PTRACE_O_TRACESECCOMP with PTRACE_CONT. */
  fflush(stdout);
  c = fork();
  if (c == 0) child(0);
  waitpid(c, &st, 0);
  printf("SETOPTIONS TRACESECCOMP -> %s\n", e(ptrace(PTRACE_SETOPTIONS, c, 0, (void *)(O_TRACESECCOMP | O_TRACESYSGOOD))));
  for (int n = 0; n < 10; n++) {
    ptrace(PTRACE_CONT, c, 0, 0);
    waitpid(c, &st, 0);
    if (WIFEXITED(st)) { printf("exited %d\n", WEXITSTATUS(st)); break; }
    int ev = st >> 16;
    unsigned long msg = 0;
    ptrace(PTRACE_GETEVENTMSG, c, 0, &msg);
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, c, 0, &r);
    struct syscall_info si;
    memset(&si, 0xcc, sizeof si);
    long sz = ptrace(PTRACE_GET_SYSCALL_INFO_, c, sizeof si, &si);
    printf("stop sig %d event %d msg %#lx orig_rax %lld rax %lld; info size %ld op %d arch %#x nr %llu ret_data %#x reserved2 %#x ip==rip %s\n",
           WSTOPSIG(st), ev, msg, (long long)r.orig_rax, (long long)r.rax, sz, si.op, si.arch, (unsigned long long)si.seccomp.nr,
           si.seccomp.ret_data, si.seccomp.reserved2, si.ip == r.rip ? "yes" : "no");
    if (ev != EVENT_SECCOMP) continue;
    if (r.orig_rax == SYS_getpid) {
      /* Skip it with orig_rax -1 and a result of our choosing. */
      r.orig_rax = -1;
      r.rax = 4242;
      ptrace(PTRACE_SETREGS, c, 0, &r);
    } else if (r.orig_rax == SYS_getuid) {
      struct syscall_info w = si;
      w.flags = 1;
      printf("  SET flags 1 -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, sizeof w, &w)));
      w = si; w.reserved = 1;
      printf("  SET reserved 1 -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, sizeof w, &w)));
      w = si; w.op = 1;
      printf("  SET op ENTRY at a seccomp stop -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, sizeof w, &w)));
      w = si; w.seccomp.reserved2 = 1;
      printf("  SET reserved2 1 -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, sizeof w, &w)));
      w = si;
      printf("  SET size 84 -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, 84, &w)));
      w.seccomp.nr = 0x100000000ULL;
      printf("  SET nr 2^32 -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, sizeof w, &w)));
      w.seccomp.nr = SYS_getppid;
      printf("  SET nr getppid -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, sizeof w, &w)));
      ptrace(PTRACE_GETREGS, c, 0, &r);
      printf("  then orig_rax %lld\n", (long long)r.orig_rax);
    } else if (r.orig_rax == SYS_getgid) {
      /* geteuid: the filters run again on the new number, and give ERRNO 21. */
      si.seccomp.nr = SYS_geteuid;
      printf("  SET nr geteuid -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, sizeof si, &si)));
    }
    fflush(stdout);
  }

  /* 3: PTRACE_SYSCALL: the syscall-entry stop, then the seccomp stop, then the exit stop. */
  fflush(stdout);
  c = fork();
  if (c == 0) child(1);
  waitpid(c, &st, 0);
  ptrace(PTRACE_SETOPTIONS, c, 0, (void *)(O_TRACESECCOMP | O_TRACESYSGOOD));
  int getpid_stops = 0;
  for (int n = 0; n < 60; n++) {
    ptrace(PTRACE_SYSCALL, c, 0, 0);
    waitpid(c, &st, 0);
    if (WIFEXITED(st)) { printf("exited %d\n", WEXITSTATUS(st)); break; }
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, c, 0, &r);
    struct syscall_info si;
    memset(&si, 0, sizeof si);
    long sz = ptrace(PTRACE_GET_SYSCALL_INFO_, c, sizeof si, &si);
    long long o = (long long)r.orig_rax;
    if (o == SYS_getpid || o == SYS_getegid || o == SYS_getuid || o == SYS_getgid || o == -1) {
      printf("  stop %#x op %d size %ld orig_rax %lld rax %lld\n", st >> 8, si.op, sz, (long long)r.orig_rax, (long long)r.rax);
      getpid_stops++;
    }
    if (si.op == 1 && r.orig_rax == SYS_getegid) {
      struct syscall_info w = si;
      printf("  SET size 87 at entry -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, 87, &w)));
      w.op = 2;
      printf("  SET op EXIT at entry -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, sizeof w, &w)));
    }
    if (si.op == 2 && r.orig_rax == SYS_getegid) {
      struct syscall_info w = si;
      w.exit.rval = -13;
      w.exit.is_error = 1;
      printf("  SET exit rval -13 -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, sizeof w, &w)));
    }
    if (si.op == 3 && r.orig_rax == SYS_getpid) { r.orig_rax = -1; r.rax = 99; ptrace(PTRACE_SETREGS, c, 0, &r); }
    if (si.op == 3 && r.orig_rax == SYS_getegid) {
      /* Entry stop's rules at a seccomp stop: arguments set too. */
      si.seccomp.args[0] = 0x1234;
      printf("  SET args at seccomp stop -> %s\n", e(ptrace(PTRACE_SET_SYSCALL_INFO_, c, sizeof si, &si)));
      ptrace(PTRACE_GETREGS, c, 0, &r);
      printf("  rdi %#llx\n", (unsigned long long)r.rdi);
    }
    if (getpid_stops > 12) getpid_stops = 0;
    fflush(stdout);
  }
  return 0;
}
