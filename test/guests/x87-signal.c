/* A signal arrives while x87 state is live: the handler prints the x87 part of the frame's fpstate
 * (uc_mcontext.fpregs: the kernel's XSAVE of the interrupted state), with a masked exception flag
 * (FSW.ES = 0) and with an unmasked one pending (ES = 1); after sigreturn FNSTENV shows what the
 * restore of the frame left in the pointers. FIP and FDP are printed relative to a label and the data. */
#define _GNU_SOURCE
#include "guest.h"
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

double x87_data[2] = {2.5, 4.0};
unsigned short x87_cw_default = 0x037f, x87_cw_unmask_ze = 0x037b;
unsigned long label_at;
static unsigned char env[28];

static const char *rel(unsigned long v, unsigned bits) {
  static char s[2][64];
  static int k;
  char *o = s[k++ & 1];
  unsigned long mask = bits == 64 ? ~0ul : (1ul << bits) - 1, data = (unsigned long)x87_data;
  if (v == 0) return "0";
  if (v == (label_at & mask)) return "label";
  if (v >= (data & mask) && v < ((data + sizeof x87_data) & mask)) { sprintf(o, "data+%lu", v - (data & mask)); return o; }
  sprintf(o, "unknown (%s label)", v > (label_at & mask) ? "after" : "before");
  return o;
}
static unsigned u16(const unsigned char *p) { return p[0] | p[1] << 8; }
static unsigned u32(const unsigned char *p) { return u16(p) | (unsigned)u16(p + 2) << 16; }
static unsigned long u64(const unsigned char *p) { return u32(p) | (unsigned long)u32(p + 4) << 32; }

static void handler(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  const unsigned char *f = (const unsigned char *)((ucontext_t *)ctx)->uc_mcontext.fpregs;
  if (!f) { printf("  signal %d: no fpstate in the frame\n", sig); return; }
  printf("  frame fpstate: FCW %04x FSW %04x FTW %02x FOP %03x FIP %s FDP %s\n", u16(f), u16(f + 2), f[4], u16(f + 6), rel(u64(f + 8), 64), rel(u64(f + 16), 64));
}

/* x87 code, then kill(getpid(), SIGUSR1) from the same asm block (no C code in between), then FNSTENV. */
#define CASE(CW) \
  __asm__ volatile(".intel_syntax noprefix\n\t" \
                   "lea rcx, [rip + lbl%=]\n\t" \
                   "mov [rip + label_at], rcx\n\t" \
                   "fninit\n\t" \
                   "fld qword ptr [rip + x87_data]\n\t" \
                   "fldz\n\t" \
                   "fdivp st(1), st\n\t"                 /* ZE, masked */ \
                   "lbl%=:\n\t" \
                   "fld qword ptr [rip + x87_data + 8]\n\t" \
                   CW \
                   "mov eax, 62\n\t"                      /* kill(pid, SIGUSR1) */ \
                   "syscall\n\t" \
                   "fnstenv [r12]\n\t" \
                   "fnclex\n\tfldcw [rip + x87_cw_default]\n\tfninit\n\t" \
                   ".att_syntax prefix" \
                   : : "D"(pid), "S"(SIGUSR1), "r"(r12) : "rax", "rcx", "r11", "memory", "cc")

/* The same x87 code, then fork() from the asm block; parent and child each FNSTENV. */
#define FORK(CW) \
  __asm__ volatile(".intel_syntax noprefix\n\t" \
                   "lea rcx, [rip + lbl%=]\n\t" \
                   "mov [rip + label_at], rcx\n\t" \
                   "fninit\n\t" \
                   "fld qword ptr [rip + x87_data]\n\t" \
                   "fldz\n\t" \
                   "fdivp st(1), st\n\t" \
                   "lbl%=:\n\t" \
                   "fld qword ptr [rip + x87_data + 8]\n\t" \
                   CW \
                   "mov eax, 57\n\t"                      /* fork() */ \
                   "syscall\n\t" \
                   "fnstenv [r12]\n\t" \
                   "fnclex\n\tfldcw [rip + x87_cw_default]\n\tfninit\n\t" \
                   ".att_syntax prefix" \
                   : "=a"(forked) : "r"(r12) : "rcx", "r11", "memory", "cc")

static void show_env(const char *when) {
  printf("  %s FNSTENV: FCW %04x FSW %04x FOP %03x FIP %s FDP %s\n", when, u16(env), u16(env + 4), (u32(env + 16) >> 16) & 0x7ff,
         rel(u32(env + 12), 32), rel(u32(env + 20), 32));
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, 0);
  long pid = getpid();
  register unsigned char *r12 __asm__("r12") = env;
  printf("masked ZE (FSW.ES = 0), last x87 instruction: an FLD after the FDIVP\n");
  CASE("");
  show_env("after sigreturn");
  printf("ZE unmasked by FLDCW (FSW.ES = 1)\n");
  CASE("fldcw [rip + x87_cw_unmask_ze]\n\t");
  show_env("after sigreturn");
  for (int unmask = 0; unmask < 2; unmask++) {
    long forked;
    fflush(stdout);
    if (unmask) FORK("fldcw [rip + x87_cw_unmask_ze]\n\t");
    else FORK("");
    /* Only the child is printed: it starts from fpu_clone's save of the parent's registers, while
     * the parent keeps its live registers only until a context switch saves and restores them. */
    if (forked == 0) {
      printf("fork with %s: the child's\n", unmask ? "ZE unmasked (ES = 1)" : "ZE masked (ES = 0)");
      show_env("first");
      fflush(stdout);
      _exit(0);
    }
    waitpid((int)forked, 0, 0);
  }
  return 0;
}
