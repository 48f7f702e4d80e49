/* Data breakpoints set through PTRACE_POKEUSER (DR0/DR1 the addresses, DR7 L0 with R/W 01 = write
 * and LEN 10 = 8 bytes, L1 with R/W 11 = read or write and LEN 01 = 2 bytes): the #DB is a trap
 * after the accessing instruction (SDM Vol. 3 18.2.5), so the tracee stops at the next
 * instruction with SIGTRAP TRAP_HWBKPT, si_addr regs->ip (send_sigtrap), DR6 the slot's DR_TRAPn
 * (ptrace_triggered), no RF. Which accesses hit: any byte of the access inside the range, of the
 * kind the slot watches. On a CPU whose debug registers never fire (quirk debug-registers-inert)
 * there is no stop at all. */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define DR(n) (offsetof(struct user, u_debugreg) + 8 * (n))
/* DR7 (SDM Vol. 3 18.2.4): L0 bit 0, L1 bit 2; R/W0 bits 16-17, LEN0 18-19; R/W1 20-21, LEN1 22-23.
 * LEN encodings: 00 1 byte, 01 2 bytes, 10 8 bytes, 11 4 bytes. */
#define DR7_VALUE ((1ul << 0) | (1ul << 2) | (1ul << 16) | (2ul << 18) | (3ul << 20) | (1ul << 22))
#define MAX_STOPS 12

static volatile uint64_t watched_w __attribute__((aligned(64)));
static volatile uint8_t around[64] __attribute__((aligned(64)));
static volatile int phase;
static volatile uint64_t sink;

int main(void) {
  pid_t c = fork();
  if (c == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    phase = 1; watched_w = 5;                        /* write, 8 bytes: slot 0 */
    phase = 2; sink = watched_w;                     /* read: slot 0 watches writes only */
    phase = 3; *(volatile uint8_t *)((char *)&watched_w + 7) = 1; /* a byte write inside: slot 0 */
    phase = 4; around[32] = 1;                       /* slot 1 is around[16..17]: outside */
    phase = 5; sink = around[17];                    /* read inside slot 1 */
    phase = 6; *(volatile uint32_t *)&around[14] = 7; /* a write overlapping around[16] */
    phase = 7; around[18] = 2;                       /* just past it */
    phase = 8;
    raise(SIGSTOP);
    phase = 9; watched_w = 6;                        /* DR7 cleared: nothing */
    _exit(phase);
  }
  int st;
  waitpid(c, &st, 0);
  long r0 = ptrace(PTRACE_POKEUSER, c, (void *)DR(0), (void *)&watched_w);
  long r1 = ptrace(PTRACE_POKEUSER, c, (void *)DR(1), (void *)&around[16]);
  long r7 = ptrace(PTRACE_POKEUSER, c, (void *)DR(7), (void *)DR7_VALUE);
  printf("POKEUSER DR0 -> %ld, DR1 -> %ld, DR7 = %#lx -> %ld\n", r0, r1, DR7_VALUE, r7);
  int hits = 0;
  for (int stops = 0; stops < MAX_STOPS; stops++) {
    ptrace(PTRACE_CONT, c, 0, 0);
    waitpid(c, &st, 0);
    if (!WIFSTOPPED(st)) break;
    int sig = WSTOPSIG(st);
    long ph = ptrace(PTRACE_PEEKDATA, c, (void *)&phase, 0);
    if (sig == SIGSTOP) {
      printf("stop %d: SIGSTOP in phase %ld after %d hits; DR7 = 0 -> %ld\n", stops, ph, hits, ptrace(PTRACE_POKEUSER, c, (void *)DR(7), 0));
      continue;
    }
    siginfo_t si;
    ptrace(PTRACE_GETSIGINFO, c, 0, &si);
    struct user_regs_struct r;
    ptrace(PTRACE_GETREGS, c, 0, &r);
    unsigned long dr6 = ptrace(PTRACE_PEEKUSER, c, (void *)DR(6), 0);
    printf("stop %d: phase %ld sig %d si_code %d si_addr==rip %s DR6 %#lx RF %lu\n", stops, ph, sig, si.si_code,
           si.si_addr == (void *)r.rip ? "yes" : "no", dr6, (r.eflags >> 16) & 1);
    hits++;
  }
  if (WIFSTOPPED(st)) { kill(c, SIGKILL); waitpid(c, &st, 0); printf("still stopping after %d stops: killed\n", MAX_STOPS); }
  if (WIFEXITED(st)) printf("child exited %d after %d watchpoint hits\n", WEXITSTATUS(st), hits);
  return 0;
}
