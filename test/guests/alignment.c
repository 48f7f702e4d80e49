/*
 * Alignment checking (#AC): Linux sets CR0.AM, so a program that sets RFLAGS.AC gets SIGBUS
 * (BUS_ADRALN, no address, trap 17) for a misaligned data or stack access, and nothing for an
 * aligned one. Only what the SDM's Table 6-7 fixes for every CPU is tried here (operands up to 8
 * bytes, x87 areas, the stack, string elements); AC is set by POPF and by a signal handler's
 * sigreturn, and cleared in each handler before it touches memory.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#define RFLAGS_AC 0x40000
static sigjmp_buf jb;
static volatile int got_sig, got_code;
static volatile long got_trap, got_err;
static void *volatile got_addr;

static void on_bus(int sig, siginfo_t *si, void *ucv) {
  /* The handler runs with the interrupted AC: clear it first (the frame is aligned, so this push is). */
  __asm__ volatile("pushfq; andl $~0x40000, (%%rsp); popfq" ::: "memory", "cc");
  ucontext_t *uc = ucv;
  got_sig = sig; got_code = si->si_code; got_addr = si->si_addr;
  got_trap = uc->uc_mcontext.gregs[REG_TRAPNO]; got_err = uc->uc_mcontext.gregs[REG_ERR];
  siglongjmp(jb, 1);
}

/* SIGUSR1's handler sets AC in the interrupted context: sigreturn loads it. */
static void on_usr1(int sig, siginfo_t *si, void *ucv) {
  (void)sig; (void)si;
  ((ucontext_t *)ucv)->uc_mcontext.gregs[REG_EFL] |= RFLAGS_AC;
}

static char buf[256] __attribute__((aligned(64)));

#define AC_ON "pushfq; orl $0x40000, (%%rsp); popfq\n"
#define AC_OFF "pushfq; andl $~0x40000, (%%rsp); popfq\n"
#define T(name, text, ...) do { \
    got_sig = 0; \
    if (sigsetjmp(jb, 1) == 0) { __asm__ volatile(AC_ON text "\n" AC_OFF ::__VA_ARGS__); printf("%-24s none\n", name); } \
    else printf("%-24s sig %d code %d addr %s trap %ld err %ld\n", name, got_sig, got_code, got_addr ? "set" : "0", got_trap, got_err); \
  } while (0)

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_bus;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGBUS, &sa, 0);
  sa.sa_sigaction = on_usr1;
  sigaction(SIGUSR1, &sa, 0);
  char *b = buf;
  for (int i = 0; i < 2; i++) {
    T("word +1", "movw 1(%0), %%ax", "r"(b) : "rax");
    T("word +2", "movw 2(%0), %%ax", "r"(b) : "rax");
    T("dword +2", "movl 2(%0), %%eax", "r"(b) : "rax");
    T("dword +4", "movl 4(%0), %%eax", "r"(b) : "rax");
    T("qword +4", "movq 4(%0), %%rax", "r"(b) : "rax");
    T("qword +8", "movq 8(%0), %%rax", "r"(b) : "rax");
    T("store qword +4", "movq %%rax, 4(%0)", "r"(b) : "rax");
    T("byte +1", "movb 1(%0), %%al", "r"(b) : "rax");
    T("add dword +1", "addl $1, 1(%0)", "r"(b));
    T("lock xadd +2", "lock xaddl %%eax, 2(%0)", "r"(b) : "rax");
    T("cmpxchg8b +4", "cmpxchg8b 4(%0)", "r"(b) : "rax", "rdx");
    T("cmpxchg8b +8", "cmpxchg8b 8(%0)", "r"(b) : "rax", "rdx");
    T("bt dword +2", "btl $3, 2(%0)", "r"(b));
    T("movd xmm +2", "movd 2(%0), %%xmm0", "r"(b) : "xmm0");
    T("movq xmm +4", "movq 4(%0), %%xmm0", "r"(b) : "xmm0");
    T("movsd xmm +8", "movsd 8(%0), %%xmm0", "r"(b) : "xmm0");
    T("fld dword +2", "flds 2(%0); fstp %%st(0)", "r"(b));
    T("fld qword +4", "fldl 4(%0); fstp %%st(0)", "r"(b));
    T("fld tbyte +4", "fldt 4(%0); fstp %%st(0)", "r"(b));
    T("fld tbyte +8", "fldt 8(%0); fstp %%st(0)", "r"(b));
    T("fnstcw +1", "fnstcw 1(%0)", "r"(b));
    T("fnstenv +2", "fnstenv 2(%0); fldenv 2(%0)", "r"(b));
    T("fnstenv +4", "fnstenv 4(%0); fldenv 4(%0)", "r"(b));
    T("stmxcsr +2", "stmxcsr 2(%0)", "r"(b));
    T("movsw +1", "lea 1(%0), %%rsi; lea 64(%0), %%rdi; movsw", "r"(b) : "rsi", "rdi");
    T("rep movsb +1", "lea 1(%0), %%rsi; lea 67(%0), %%rdi; mov $9, %%ecx; rep movsb", "r"(b) : "rsi", "rdi", "rcx");
    T("rep movsq +1 rcx 0", "lea 1(%0), %%rsi; lea 65(%0), %%rdi; xor %%ecx, %%ecx; rep movsq", "r"(b) : "rsi", "rdi", "rcx");
    T("rep stosd +2", "lea 66(%0), %%rdi; mov $2, %%ecx; rep stosl", "r"(b) : "rdi", "rax", "rcx");
    T("push rsp-4", "mov %%rsp, %%rbx; sub $4, %%rsp; push %%rax; mov %%rbx, %%rsp", "r"(b) : "rbx");
    T("call rsp-4", "mov %%rsp, %%rbx; sub $4, %%rsp; call 1f; 1: mov %%rbx, %%rsp", "r"(b) : "rbx");
    T("push rsp-8", "mov %%rsp, %%rbx; sub $8, %%rsp; push %%rax; mov %%rbx, %%rsp", "r"(b) : "rbx");
    T("lea +1", "lea 1(%0), %%rax", "r"(b) : "rax");
    T("movbe +2", "movbe 2(%0), %%eax", "r"(b) : "rax");
  }
  /* AC set by sigreturn: the first misaligned access after it faults. */
  got_sig = 0;
  if (sigsetjmp(jb, 1) == 0) {
    raise(SIGUSR1);
    __asm__ volatile("movl 2(%0), %%eax" ::"r"(b) : "rax");
    __asm__ volatile(AC_OFF ::: "cc");
    puts("sigreturn AC: none");
  } else printf("sigreturn AC: sig %d code %d trap %ld\n", got_sig, got_code, got_trap);
  puts("done");
  return 0;
}
