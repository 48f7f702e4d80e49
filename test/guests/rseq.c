/* Restartable sequences (kernel/rseq.c): AT_RSEQ_FEATURE_SIZE/AT_RSEQ_ALIGN, the registration
 * rules (EINVAL, EPERM, EBUSY), cpu_id_start/cpu_id/node_id/mm_cid written at registration and
 * after a migration, rseq_cs cleared at registration, unregistration, the registration kept by a
 * forked child, and a critical section aborted by a signal (the handler returns to abort_ip),
 * with SIGSEGV for a bad descriptor or signature. The task is pinned to CPU 0 first. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RSEQ_SIG 0x53053053
#define SYS_RSEQ 334
#define AT_RSEQ_FEATURE_SIZE 27
#define AT_RSEQ_ALIGN 28

struct rseq_area { uint32_t cpu_id_start, cpu_id; uint64_t rseq_cs; uint32_t flags, node_id, mm_cid; } __attribute__((aligned(32)));
static struct rseq_area area, other;
static struct { struct rseq_area a; char more[32]; } __attribute__((aligned(32))) big;

static const char *en(int e) { return e == 0 ? "0" : e == EINVAL ? "EINVAL" : e == EPERM ? "EPERM" : e == EBUSY ? "EBUSY" : e == EFAULT ? "EFAULT" : strerror(e); }
#define TRY(what, expr) do { errno = 0; long r_ = (long)(expr); printf("%-52s -> %ld %s\n", what, r_, r_ < 0 ? en(errno) : ""); } while (0)
static long rseq(void *a, uint32_t len, int flags, uint32_t sig) { return syscall(SYS_RSEQ, a, len, flags, sig); }

/* The critical section: kill(pid, SIGUSR1) inside it, then the commit (eax 1); abort_ip gives eax 2.
 * run_cs(&area.rseq_cs, descriptor, pid). */
int run_cs(uint64_t *rseq_cs, const void *desc, int pid);
__asm__(
    ".text\n"
    ".globl run_cs\n"
    "run_cs:\n"
    "  movq %rsi, (%rdi)\n"
    "cs_start:\n"
    "  movl %edx, %edi\n"
    "  movl $10, %esi\n"
    "  movl $62, %eax\n"
    "  syscall\n"
    "  movl $1, %eax\n"
    "cs_post:\n"
    "  ret\n"
    "  .long 0x53053053\n"
    "cs_abort:\n"
    "  movl $2, %eax\n"
    "  ret\n"
    "  .long 0x12345678\n"
    "cs_abort_badsig:\n"
    "  movl $3, %eax\n"
    "  ret\n"
    ".section .data\n"
    ".balign 32\n"
    ".globl cs_good, cs_version1, cs_badsig\n"
    "cs_good: .long 0, 0\n .quad cs_start, cs_post - cs_start, cs_abort\n"
    ".balign 32\n"
    "cs_version1: .long 1, 0\n .quad cs_start, cs_post - cs_start, cs_abort\n"
    ".balign 32\n"
    "cs_badsig: .long 0, 0\n .quad cs_start, cs_post - cs_start, cs_abort_badsig\n"
    ".text\n");
extern const char cs_good[], cs_version1[], cs_badsig[];

static volatile sig_atomic_t handled;
static void on_usr1(int sig) { (void)sig; handled++; }

static void show(const char *when, const struct rseq_area *a) {
  printf("%s: cpu_id_start %d cpu_id %d node_id %u mm_cid %u rseq_cs %s\n", when, (int)a->cpu_id_start, (int)a->cpu_id,
         a->node_id, a->mm_cid, a->rseq_cs ? "set" : "0");
}

static void child_cs(const char *what, const void *desc) {
  pid_t c = fork();
  if (c == 0) {
    int r = run_cs(&area.rseq_cs, desc, getpid());
    printf("  %s: returned %d\n", what, r);
    _exit(0);
  }
  int status;
  waitpid(c, &status, 0);
  if (WIFSIGNALED(status)) printf("  %s: child killed by signal %d\n", what, WTERMSIG(status));
  else printf("  %s: child exited %d\n", what, WEXITSTATUS(status));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("AT_RSEQ_FEATURE_SIZE %lu AT_RSEQ_ALIGN %lu\n", getauxval(AT_RSEQ_FEATURE_SIZE), getauxval(AT_RSEQ_ALIGN));
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  int last = 0;
  for (int i = 0; i < CPU_SETSIZE; i++) if (CPU_ISSET(i, &set)) last = i;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);

  /* Refused registrations. */
  TRY("unregister with nothing registered", rseq(&area, 32, 1, RSEQ_SIG));
  TRY("length 16", rseq(&area, 16, 0, RSEQ_SIG));
  TRY("length 32, misaligned", rseq((char *)&big + 8, 32, 0, RSEQ_SIG));
  TRY("flags 2", rseq(&area, 32, 2, RSEQ_SIG));
  TRY("unregister flag with another flag", rseq(&area, 32, 3, RSEQ_SIG));

  /* Registration writes the ids and clears a stale rseq_cs. */
  area.cpu_id = 0xffffffff;
  area.cpu_id_start = 77;
  area.node_id = area.mm_cid = 55;
  area.rseq_cs = (uint64_t)(uintptr_t)cs_good;
  TRY("register (length 32)", rseq(&area, 32, 0, RSEQ_SIG));
  show("after registration", &area);
  TRY("again, same arguments", rseq(&area, 32, 0, RSEQ_SIG));
  TRY("again, another signature", rseq(&area, 32, 0, RSEQ_SIG + 1));
  TRY("again, another area", rseq(&other, 32, 0, RSEQ_SIG));
  TRY("again, length 64", rseq(&area, 64, 0, RSEQ_SIG));
  TRY("unregister, another signature", rseq(&area, 32, 1, RSEQ_SIG + 1));
  TRY("unregister, length 64", rseq(&area, 64, 1, RSEQ_SIG));
  TRY("unregister, another area", rseq(&other, 32, 1, RSEQ_SIG));

  /* A migration: the ids follow on the way back to user space. */
  CPU_ZERO(&set);
  CPU_SET(last, &set);
  sched_setaffinity(0, sizeof set, &set);
  printf("after moving to the last allowed CPU: cpu_id is it: %s, cpu_id_start too: %s\n",
         (int)area.cpu_id == last ? "yes" : "no", (int)area.cpu_id_start == last ? "yes" : "no");
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);
  show("back on CPU 0", &area);

  /* A signal inside the critical section: the handler returns to abort_ip; rseq_cs is cleared. */
  signal(SIGUSR1, on_usr1);
  int r = run_cs(&area.rseq_cs, cs_good, getpid());
  printf("critical section with a signal in it: returned %d (1 commit, 2 abort), handler ran %d time(s)\n", r, (int)handled);
  show("after the abort", &area);
  /* Outside any critical section the same signal changes nothing. */
  area.rseq_cs = 0;
  kill(getpid(), SIGUSR1);
  printf("signal outside a critical section: handler ran %d time(s)\n", (int)handled);

  /* A forked child keeps the registration: a bad descriptor or signature is SIGSEGV there. */
  printf("forked children:\n");
  child_cs("good descriptor", cs_good);
  child_cs("descriptor version 1", cs_version1);
  child_cs("signature mismatch", cs_badsig);

  /* Unregistration. */
  TRY("unregister", rseq(&area, 32, 1, RSEQ_SIG));
  show("after unregistration", &area);
  /* An extended area: length 64, 32-byte aligned. */
  big.a.cpu_id = 0xffffffff;
  TRY("register 64 bytes", rseq(&big, 64, 0, RSEQ_SIG));
  show("64-byte area", &big.a);
  TRY("unregister it", rseq(&big, 64, 1, RSEQ_SIG));
  TRY("register length 28 (< ORIG_RSEQ_SIZE)", rseq(&big, 28, 0, RSEQ_SIG));
  return 0;
}
