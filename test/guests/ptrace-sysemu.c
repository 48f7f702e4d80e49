/* PTRACE_SYSEMU and PTRACE_SYSEMU_SINGLESTEP (kernel/entry/common.c syscall_trace_enter,
 * syscall_exit_work, report_single_step): the tracee stops at a system call's entry, the call is
 * not made and there is no exit stop; whether the call runs is decided at entry and whether its
 * exit stops at exit. PTRACE_GET_SYSCALL_INFO (kernel/ptrace.c ptrace_get_syscall_info): none,
 * entry and exit with the sizes Linux returns (24, 80, 33), partial copies; only with
 * PTRACE_O_TRACESYSGOOD. PTRACE_GETEVENTMSG at syscall stops (1 entry, 2 exit) and others (0).
 * PTRACE_SETSIGINFO: the siginfo a handler gets when the tracer resumes with the same signal,
 * and SI_USER from the tracer when it resumes with another. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PTRACE_SYSEMU
#define PTRACE_SYSEMU 31
#define PTRACE_SYSEMU_SINGLESTEP 32
#endif
#define GET_SYSCALL_INFO 0x420e

struct syscall_info {
  uint8_t op, pad[3];
  uint32_t arch;
  uint64_t ip, sp;
  union {
    struct { uint64_t nr, args[6]; } entry;
    struct { int64_t rval; uint8_t is_error; } exit;
  };
};

static pid_t c;
static void on_usr(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  char b[160];
  int n = snprintf(b, sizeof b, "tracee handler: sig %d code %d value %d pid-is-parent %s\n", sig, si->si_code, si->si_value.sival_int, si->si_pid == getppid() ? "yes" : "no");
  write(1, b, n);
}

static void info(const char *what, unsigned long size) {
  struct syscall_info si;
  memset(&si, 0xee, sizeof si);
  struct user_regs_struct r;
  ptrace(PTRACE_GETREGS, c, 0, &r);
  long n = ptrace(GET_SYSCALL_INFO, c, (void *)size, &si);
  unsigned long msg = 99;
  ptrace(PTRACE_GETEVENTMSG, c, 0, &msg);
  printf("%s: GET_SYSCALL_INFO(%lu) -> %ld op %d arch 0x%x ip==rip %s sp==rsp %s eventmsg %lu", what, size, n, si.op, size > 4 ? si.arch : 0,
         size > 8 ? (si.ip == r.rip ? "yes" : "no") : "-", size > 16 ? (si.sp == r.rsp ? "yes" : "no") : "-", msg);
  if (si.op == 1 && size >= 80) printf(" nr %lu args %lx %lx %lx %lx %lx %lx", si.entry.nr, si.entry.args[0], si.entry.args[1], si.entry.args[2], si.entry.args[3], si.entry.args[4], si.entry.args[5]);
  if (si.op == 2 && size >= 33) printf(" rval %ld is_error %d", si.exit.rval, si.exit.is_error);
  unsigned char *b = (unsigned char *)&si;
  printf(" byte[%lu] %02x\n", size < sizeof si ? size : 0, b[size < sizeof si ? size : 0]);
}

static int stop(const char *what) {
  int st;
  waitpid(c, &st, 0);
  if (!WIFSTOPPED(st)) { printf("%s: not stopped (0x%x)\n", what, st); return 0; }
  struct user_regs_struct r;
  ptrace(PTRACE_GETREGS, c, 0, &r);
  printf("%s: stop 0x%x orig_rax %ld rax %ld\n", what, WSTOPSIG(st), (long)r.orig_rax, (long)r.rax);
  return 1;
}

int main(void) {
  setvbuf(stdout, 0, _IOLBF, 0);
  c = fork();
  if (c == 0) {
    struct sigaction sa = { .sa_sigaction = on_usr, .sa_flags = SA_SIGINFO };
    sigaction(SIGUSR1, &sa, 0);
    sigaction(SIGUSR2, &sa, 0);
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    /* Raw calls from here on: the tracer sees exactly these system calls. */
    syscall(SYS_tkill, syscall(SYS_gettid), SIGSTOP);
    long a = syscall(SYS_getpid, 1, 2, 3, 4, 5, 6);
    long b = syscall(SYS_getuid);
    long p = syscall(SYS_getppid);
    long t = syscall(SYS_gettid);
    int e = errno;
    long u = syscall(SYS_getpid);
    printf("tracee: getpid %ld getuid %ld getppid real %s gettid %ld errno %d last getpid real %s\n", a, b, p == getppid() ? "yes" : "no", t, e, u == getpid() ? "yes" : "no");
    fflush(stdout);
    raise(SIGUSR1);
    raise(SIGUSR1);
    _exit(0);
  }
  int st;
  stop("SIGSTOP");
  info("signal-delivery stop", 128);
  ptrace(PTRACE_SETOPTIONS, c, 0, (void *)PTRACE_O_TRACESYSGOOD);
  info("signal-delivery stop", 128);

  ptrace(PTRACE_SYSEMU, c, 0, 0);
  stop("SYSEMU getpid");
  info("entry", 128);
  info("entry", 8);
  info("entry", 40);
  info("entry", 0);
  ptrace(PTRACE_POKEUSER, c, (void *)offsetof(struct user_regs_struct, rax), (void *)4242);

  ptrace(PTRACE_SYSEMU, c, 0, 0);
  stop("SYSEMU getuid");
  ptrace(PTRACE_SYSCALL, c, 0, 0);
  stop("SYSCALL after a SYSEMU entry");
  info("exit", 128);
  info("exit", 32);
  ptrace(PTRACE_POKEUSER, c, (void *)offsetof(struct user_regs_struct, rax), (void *)7);

  ptrace(PTRACE_SYSCALL, c, 0, 0);
  stop("SYSCALL getppid");
  info("entry", 128);
  ptrace(PTRACE_SETOPTIONS, c, 0, 0);
  ptrace(PTRACE_SYSEMU, c, 0, 0);
  stop("SYSEMU after a SYSCALL entry");
  info("entry without TRACESYSGOOD", 128);
  struct user_regs_struct r0, r1;
  ptrace(PTRACE_GETREGS, c, 0, &r0);
  ptrace(PTRACE_SYSEMU_SINGLESTEP, c, 0, 0);
  stop("SYSEMU_SINGLESTEP from gettid's entry");
  ptrace(PTRACE_GETREGS, c, 0, &r1);
  siginfo_t si;
  ptrace(PTRACE_GETSIGINFO, c, 0, &si);
  printf("  step: rip moved %ld bytes, si_code %d\n", (long)(r1.rip - r0.rip), si.si_code);
  info("single-step stop", 128);
  int steps = 0, sc = 0;
  for (; steps < 10000; steps++) {
    ptrace(PTRACE_SYSEMU_SINGLESTEP, c, 0, 0);
    waitpid(c, &st, 0);
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, c, 0, &r);
    if ((long)r.orig_rax == SYS_getpid) { sc = 1; break; }
  }
  printf("SYSEMU_SINGLESTEP reached getpid's entry (stop 0x%x) after %d steps: %s\n", WSTOPSIG(st), steps, sc ? "yes" : "no");
  ptrace(PTRACE_SETOPTIONS, c, 0, (void *)PTRACE_O_TRACESYSGOOD);
  ptrace(PTRACE_SYSCALL, c, 0, 0);
  stop("SYSCALL after SYSEMU_SINGLESTEP's entry");
  ptrace(PTRACE_CONT, c, 0, 0);
  stop("SIGUSR1");
  info("SIGUSR1 stop", 128);
  memset(&si, 0, sizeof si);
  ptrace(PTRACE_GETSIGINFO, c, 0, &si);
  printf("GETSIGINFO: signo %d code %d pid-is-tracee %s\n", si.si_signo, si.si_code, si.si_pid == c ? "yes" : "no");
  si.si_code = SI_QUEUE;
  si.si_value.sival_int = 77;
  printf("SETSIGINFO -> %ld\n", ptrace(PTRACE_SETSIGINFO, c, 0, &si));
  fflush(stdout);
  ptrace(PTRACE_CONT, c, 0, (void *)SIGUSR1);
  stop("second SIGUSR1");
  ptrace(PTRACE_CONT, c, 0, (void *)SIGUSR2);
  waitpid(c, &st, 0);
  printf("exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  long r = ptrace(PTRACE_SYSEMU, getpid(), 0, 0);
  printf("PTRACE_SYSEMU on a non-tracee: %ld errno %d\n", r, errno);
  return 0;
}
