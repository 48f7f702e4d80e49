/*
 * Legacy SSE floating point and MXCSR, instruction by instruction: every operation runs under each
 * rounding mode, with and without DAZ/FTZ, on special values (zeros, denormals, infinities, NaNs,
 * numbers that round), from registers and from memory; the result bits, MXCSR and (COMIS) EFLAGS
 * are printed. Then unmasked exceptions: the SIGFPE si_code, the fault address and the MXCSR of the
 * signal frame; a memory operand on a PROT_NONE page (SIGSEGV). Output natively-equal.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static sigjmp_buf jb;
static volatile int got_sig, got_code;
static volatile uint32_t got_mxcsr;
static void on_sig(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = ctx;
  got_sig = sig;
  got_code = si->si_code;
  got_mxcsr = uc->uc_mcontext.fpregs ? uc->uc_mcontext.fpregs->mxcsr : 0;
  siglongjmp(jb, 1);
}

static const uint64_t D[] = { 0, 0x8000000000000000ull, 1, 0x000fffffffffffffull, 0x0010000000000000ull, 0x3ff0000000000000ull, 0x3fb999999999999aull,
  0x4008000000000000ull, 0x7fefffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull, 0x7ff4000000000000ull, 0xc1e0000000200000ull, 0x43e0000000000000ull };
static const uint32_t F[] = { 0, 0x80000000u, 1, 0x007fffffu, 0x00800000u, 0x3f800000u, 0x3dcccccdu, 0x40400000u, 0x7f7fffffu, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7fa00000u, 0xcf000001u, 0x5f000000u };
#define ND (sizeof D / sizeof D[0])
#define NF (sizeof F / sizeof F[0])

static uint32_t mx_get(void) { uint32_t m; __asm__ volatile("stmxcsr %0" : "=m"(m)); return m; }
static void mx_set(uint32_t m) { __asm__ volatile("ldmxcsr %0" : : "m"(m)); }

static uint8_t mem16[32] __attribute__((aligned(16)));

#define BIN_SD(name, insn)                                                                   \
  static uint64_t name(uint64_t a, uint64_t b) {                                             \
    double x, y; memcpy(&x, &a, 8); memcpy(&y, &b, 8);                                       \
    __asm__ volatile(insn " %1, %0" : "+x"(x) : "x"(y)); memcpy(&a, &x, 8); return a;       \
  }
BIN_SD(addsd_, "addsd") BIN_SD(subsd_, "subsd") BIN_SD(mulsd_, "mulsd") BIN_SD(divsd_, "divsd") BIN_SD(minsd_, "minsd") BIN_SD(maxsd_, "maxsd") BIN_SD(sqrtsd_, "sqrtsd")
#define BIN_SS(name, insn)                                                                   \
  static uint32_t name(uint32_t a, uint32_t b) {                                             \
    float x, y; memcpy(&x, &a, 4); memcpy(&y, &b, 4);                                        \
    __asm__ volatile(insn " %1, %0" : "+x"(x) : "x"(y)); memcpy(&a, &x, 4); return a;       \
  }
BIN_SS(addss_, "addss") BIN_SS(mulss_, "mulss") BIN_SS(divss_, "divss")

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGFPE, &sa, 0);
  sigaction(SIGSEGV, &sa, 0);
  const uint32_t modes[] = { 0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x1fc0, 0x9f80, 0xdfc0 };
  unsigned long sum = 0;
  for (unsigned m = 0; m < sizeof modes / sizeof modes[0]; m++) {
    printf("MXCSR %04x\n", modes[m]);
    for (unsigned i = 0; i < ND; i++) for (unsigned j = 0; j < ND; j += 2) {
      uint64_t r[7];
      uint32_t f[7];
      mx_set(modes[m]); r[0] = addsd_(D[i], D[j]); f[0] = mx_get();
      mx_set(modes[m]); r[1] = subsd_(D[i], D[j]); f[1] = mx_get();
      mx_set(modes[m]); r[2] = mulsd_(D[i], D[j]); f[2] = mx_get();
      mx_set(modes[m]); r[3] = divsd_(D[i], D[j]); f[3] = mx_get();
      mx_set(modes[m]); r[4] = minsd_(D[i], D[j]); f[4] = mx_get();
      mx_set(modes[m]); r[5] = maxsd_(D[i], D[j]); f[5] = mx_get();
      mx_set(modes[m]); r[6] = sqrtsd_(0, D[j]); f[6] = mx_get();
      if (i < 3 || (i + j) % 5 == 0) {
        printf(" d %2u %2u:", i, j);
        for (int k = 0; k < 7; k++) printf(" %llx/%02x", (unsigned long long)r[k], f[k] & 0x3f);
        printf("\n");
      } else for (int k = 0; k < 7; k++) sum = sum * 31 + r[k] + f[k];
    }
    for (unsigned i = 0; i < NF; i++) for (unsigned j = 1; j < NF; j += 3) {
      uint32_t r0, r1, r2, f0, f1, f2;
      mx_set(modes[m]); r0 = addss_(F[i], F[j]); f0 = mx_get();
      mx_set(modes[m]); r1 = mulss_(F[i], F[j]); f1 = mx_get();
      mx_set(modes[m]); r2 = divss_(F[i], F[j]); f2 = mx_get();
      printf(" s %2u %2u: %x/%02x %x/%02x %x/%02x\n", i, j, r0, f0 & 0x3f, r1, f1 & 0x3f, r2, f2 & 0x3f);
    }
    for (unsigned i = 0; i < ND; i++) {
      double x; memcpy(&x, &D[i], 8);
      int32_t i32; int64_t i64, t64; float fl; uint64_t efl; uint32_t fa, fb, fc, fd;
      mx_set(modes[m]); __asm__ volatile("cvtsd2si %1, %0" : "=r"(i32) : "x"(x)); fa = mx_get();
      mx_set(modes[m]); __asm__ volatile("cvttsd2si %1, %0" : "=r"(t64) : "x"(x)); fb = mx_get();
      mx_set(modes[m]); __asm__ volatile("cvtsd2ss %1, %0" : "=x"(fl) : "x"(x)); fc = mx_get();
      mx_set(modes[m]); __asm__ volatile("ucomisd %1, %2\n\tpushfq\n\tpopq %0" : "=r"(efl) : "x"(x), "x"(1.0) : "cc"); fd = mx_get();
      i64 = (int64_t)D[i] >> 3;
      double back;
      mx_set(modes[m]); __asm__ volatile("cvtsi2sdq %1, %0" : "=x"(back) : "r"(i64));
      uint32_t fbk = mx_get(), fl32; uint64_t b64;
      memcpy(&fl32, &fl, 4); memcpy(&b64, &back, 8);
      printf(" c %2u: %x/%02x %llx/%02x %x/%02x efl %03llx/%02x %llx/%02x\n", i, (unsigned)i32, fa & 0x3f, (unsigned long long)t64, fb & 0x3f, fl32, fc & 0x3f, (unsigned long long)(efl & 0x8d5), fd & 0x3f, (unsigned long long)b64, fbk & 0x3f);
    }
    /* Packed, with an aligned memory operand; ROUNDPD (SSE4.1 is in every x86-64-v2 CPU). */
    memcpy(mem16, &D[6], 8); memcpy(mem16 + 8, &D[3], 8);
    double v[2] = { 1.0 / 3.0, -2.5 };
    uint64_t out[2];
    mx_set(modes[m]);
    __asm__ volatile("movupd %1, %%xmm1\n\tmulpd %2, %%xmm1\n\taddpd %2, %%xmm1\n\tsqrtpd %%xmm1, %%xmm2\n\troundpd $4, %%xmm2, %%xmm2\n\tcvtpd2ps %%xmm2, %%xmm3\n\tcvtps2pd %%xmm3, %%xmm3\n\taddpd %%xmm3, %%xmm1\n\tmovupd %%xmm1, %0"
                     : "=m"(out) : "m"(v), "m"(mem16) : "xmm1", "xmm2", "xmm3");
    printf(" p: %llx %llx mxcsr %04x\n", (unsigned long long)out[0], (unsigned long long)out[1], mx_get());
  }
  printf("checksum %lx\n", sum);

  /* Unmasked exceptions. */
  const struct { const char *what; uint32_t mxcsr; uint64_t a, b; int op; } xm[] = {
    { "divsd 1/0, ZM clear", 0x1d80, 0x3ff0000000000000ull, 0, 3 },
    { "addsd SNaN, IM clear", 0x1f00, 0x7ff4000000000000ull, 0, 0 },
    { "mulsd overflow, OM clear", 0x1b80, 0x7fefffffffffffffull, 0x4000000000000000ull, 2 },
    { "mulsd underflow, UM clear", 0x1780, 0x0010000000000000ull, 0x3fe0000000000000ull, 2 },
    { "addsd inexact, PM clear", 0x0f80, 0x3ff0000000000000ull, 0x3c90000000000000ull, 0 },
    { "addsd denormal, DM clear", 0x1e80, 1, 0x3ff0000000000000ull, 0 },
    { "divsd 0/0 with sticky PE, IM PM clear", 0x0f20, 0, 0, 3 },
    { "ucomisd QNaN, IM clear (no fault)", 0x1f00, 0x7ff8000000000000ull, 0, 4 },
    { "comisd QNaN, IM clear", 0x1f00, 0x7ff8000000000000ull, 0, 5 },
  };
  for (unsigned k = 0; k < sizeof xm / sizeof xm[0]; k++) {
    got_sig = got_code = 0; got_mxcsr = 0;
    double x, y; memcpy(&x, &xm[k].a, 8); memcpy(&y, &xm[k].b, 8);
    volatile double keep = x;
    if (sigsetjmp(jb, 1) == 0) {
      mx_set(xm[k].mxcsr);
      switch (xm[k].op) {
        case 0: __asm__ volatile("addsd %1, %0" : "+x"(x) : "x"(y)); break;
        case 2: __asm__ volatile("mulsd %1, %0" : "+x"(x) : "x"(y)); break;
        case 3: __asm__ volatile("divsd %1, %0" : "+x"(x) : "x"(y)); break;
        case 4: __asm__ volatile("ucomisd %1, %0" : : "x"(x), "x"(y) : "cc"); break;
        default: __asm__ volatile("comisd %1, %0" : : "x"(x), "x"(y) : "cc"); break;
      }
      uint32_t after = mx_get();
      mx_set(0x1f80);
      printf("%-40s no signal, mxcsr %04x\n", xm[k].what, after);
    } else {
      mx_set(0x1f80);
      printf("%-40s signal %d si_code %d mxcsr %04x\n", xm[k].what, got_sig, got_code, got_mxcsr);
    }
    (void)keep;
  }
  /* A memory operand the guest may not read. */
  double *none = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  got_sig = 0;
  if (sigsetjmp(jb, 1) == 0) {
    double x = 1.0;
    for (int k = 0; k < 3; k++) __asm__ volatile("addsd %1, %0" : "+x"(x) : "m"(*none));
    printf("PROT_NONE operand: no signal\n");
  } else printf("PROT_NONE operand: signal %d\n", got_sig);
  /* A misaligned packed operand: #GP (SIGSEGV). */
  got_sig = 0;
  if (sigsetjmp(jb, 1) == 0) {
    __asm__ volatile("xorpd %%xmm4, %%xmm4\n\taddpd %0, %%xmm4" : : "m"(*(double(*)[2])(mem16 + 8)) : "xmm4");
    printf("misaligned addpd: no signal\n");
  } else printf("misaligned addpd: signal %d\n", got_sig);
  return 0;
}
