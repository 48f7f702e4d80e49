/*
 * The MMX-operand conversions CVTPI2PS, CVTPI2PD, CVTPS2PI, CVTTPS2PI, CVTPD2PI, CVTTPD2PI, from
 * registers and memory, under each rounding mode with and without DAZ, on special values: the
 * results, MXCSR, and the x87 state after each (TOP, the full tag word from FNSTENV, the exponent
 * word of each MMX register: the MMX transition). Then unmasked exceptions (SIGFPE si_code and the
 * frame's MXCSR) and a pending x87 exception before an MMX-register form (#MF) and before a
 * memory-source CVTPI2PS (none). Output natively-equal.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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

static const uint32_t F[] = { 0, 0x80000000u, 1, 0x807fffffu, 0x3f800000u, 0x3fc00000u, 0xbfc00000u, 0x40200000u, 0x4effffffu, 0x4f000000u, 0xcf000000u, 0x7f800000u, 0x7fc00000u, 0x7fa00000u, 0x3dcccccdu };
static const uint64_t D[] = { 0, 1, 0x3ff8000000000000ull, 0xbff8000000000000ull, 0x4004000000000000ull, 0x41dfffffffc00000ull, 0x41dfffffffe00000ull, 0xc1e0000000100000ull, 0x7ff0000000000000ull, 0x7ff8000000000000ull, 0x3fb999999999999aull, 0x800fffffffffffffull };
static const uint32_t I[] = { 0, 1, 0xffffffffu, 0x7fffffffu, 0x80000000u, 0x01000001u, 0x00ffffffu, 12345678 };
#define N(a) (sizeof a / sizeof a[0])

static uint32_t mx_get(void) { uint32_t m; __asm__ volatile("stmxcsr %0" : "=m"(m)); return m; }
static void mx_set(uint32_t m) { __asm__ volatile("ldmxcsr %0" : : "m"(m)); }
static uint8_t mem[16] __attribute__((aligned(16)));

/* The x87 view: TOP, full tag word, the exponent words of ST slots in physical order (FNSAVE does not reset: FNSTENV then the registers via FXSAVE). */
static uint8_t fx[512] __attribute__((aligned(16)));
static void x87_line(void) {
  __asm__ volatile("fxsave %0" : "=m"(fx));
  uint16_t fsw, ftw8; memcpy(&fsw, fx + 2, 2); ftw8 = fx[4];
  printf(" TOP=%d FTW=%02x exp=", (fsw >> 11) & 7, ftw8);
  for (int i = 0; i < 8; i++) { uint16_t e; memcpy(&e, fx + 32 + 16 * i + 8, 2); printf("%04x%s", e, i < 7 ? "," : ""); }
  printf("\n");
}
/* A non-MMX x87 state: three values pushed (TOP 5). */
static void x87_start(void) { __asm__ volatile("emms; fninit; fld1; fldpi; fldz"); }

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sig;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGFPE, &sa, 0);
  const uint32_t modes[] = { 0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x1fc0 };
  for (unsigned m = 0; m < N(modes); m++) {
    for (unsigned i = 0; i < N(F); i++) {
      uint32_t a = F[i], b = F[(i + 3 + m) % N(F)];
      uint64_t in = a | ((uint64_t)b << 32), r0, r1, r2;
      memcpy(mem, &in, 8);
      x87_start(); mx_set(modes[m]);
      __asm__ volatile("movq %2, %%xmm1\n\tcvtps2pi %%xmm1, %%mm2\n\tmovq %%mm2, %0\n\tcvttps2pi %3, %%mm5\n\tmovq %%mm5, %1" : "=r"(r0), "=r"(r1) : "r"(in), "m"(*(uint64_t *)mem) : "xmm1", "mm2", "mm5");
      uint32_t f1 = mx_get();
      printf("mx %04x cvt(t)ps2pi %08x %08x -> %016llx %016llx mxcsr %04x", modes[m], a, b, (unsigned long long)r0, (unsigned long long)r1, f1);
      x87_line();
      (void)r2;
    }
    for (unsigned i = 0; i < N(D); i++) {
      uint64_t a = D[i], b = D[(i + 5 + m) % N(D)], r0, r1;
      memcpy(mem, &a, 8); memcpy(mem + 8, &b, 8);
      x87_start(); mx_set(modes[m]);
      __asm__ volatile("movdqa %2, %%xmm3\n\tcvtpd2pi %%xmm3, %%mm0\n\tmovq %%mm0, %0\n\tcvttpd2pi %2, %%mm7\n\tmovq %%mm7, %1" : "=r"(r0), "=r"(r1) : "m"(*(uint8_t(*)[16])mem) : "xmm3", "mm0", "mm7");
      printf("mx %04x cvt(t)pd2pi %016llx %016llx -> %016llx %016llx mxcsr %04x", modes[m], (unsigned long long)a, (unsigned long long)b, (unsigned long long)r0, (unsigned long long)r1, mx_get());
      x87_line();
    }
    for (unsigned i = 0; i < N(I); i++) {
      uint64_t in = I[i] | ((uint64_t)I[(i + 1 + m) % N(I)] << 32), ps, pd0, pd1, ps_m;
      memcpy(mem, &in, 8);
      x87_start(); mx_set(modes[m]);
      __asm__ volatile("cvtpi2ps %1, %%xmm4\n\tmovq %%xmm4, %0" : "=r"(ps_m) : "m"(*(uint64_t *)mem) : "xmm4");
      uint32_t f0 = mx_get();
      printf("mx %04x cvtpi2ps m64 %016llx -> %016llx mxcsr %04x", modes[m], (unsigned long long)in, (unsigned long long)ps_m, f0);
      x87_line();
      x87_start(); mx_set(modes[m]);
      __asm__ volatile("movq %3, %%mm6\n\tcvtpi2ps %%mm6, %%xmm4\n\tmovq %%xmm4, %0\n\tcvtpi2pd %%mm6, %%xmm5\n\tmovq %%xmm5, %1\n\tpsrldq $8, %%xmm5\n\tmovq %%xmm5, %2"
                       : "=r"(ps), "=r"(pd0), "=r"(pd1) : "r"(in) : "xmm4", "xmm5", "mm6");
      printf("mx %04x cvtpi2ps/pd mm %016llx -> %016llx %016llx %016llx mxcsr %04x", modes[m], (unsigned long long)in, (unsigned long long)ps, (unsigned long long)pd0, (unsigned long long)pd1, mx_get());
      x87_line();
    }
  }
  /* Unmasked exceptions: IE for NaN, PE for 1.5. */
  const struct { uint32_t mx; uint64_t v; } U[] = { { 0x1f80 & ~0x80, 0x7fc00000ull }, { 0x1f80 & ~0x1000, 0x3fc00000ull }, { 0x1f80 & ~0x1000, 0x40000000ull } };
  for (unsigned k = 0; k < N(U); k++) {
    got_sig = got_code = 0; got_mxcsr = 0;
    x87_start();
    uint64_t r = 0;
    if (!sigsetjmp(jb, 1)) {
      mx_set(U[k].mx);
      __asm__ volatile("movq %1, %%xmm1\n\tcvtps2pi %%xmm1, %%mm1\n\tmovq %%mm1, %0" : "=r"(r) : "r"(U[k].v) : "xmm1", "mm1");
    }
    mx_set(0x1f80);
    printf("unmasked %04x cvtps2pi %016llx -> sig %d code %d frame mxcsr %04x r %016llx\n", U[k].mx, (unsigned long long)U[k].v, got_sig, got_code, got_mxcsr, (unsigned long long)r);
  }
  /* A pending unmasked x87 #Z: an MMX-register form raises #MF, a memory-source CVTPI2PS does not. */
  for (int form = 0; form < 2; form++) {
    got_sig = got_code = 0;
    uint16_t cw = 0x37b; /* ZM clear */
    __asm__ volatile("emms; fninit; fldcw %0; fld1; fldz; fdivrp" : : "m"(cw));
    mx_set(0x1f80);
    if (!sigsetjmp(jb, 1)) {
      if (form == 0) __asm__ volatile("cvtpi2ps %0, %%xmm2" : : "m"(*(uint64_t *)mem) : "xmm2");
      else __asm__ volatile("cvtpi2ps %%mm3, %%xmm2" : : : "xmm2");
    }
    uint16_t sw; __asm__ volatile("fnstsw %0" : "=m"(sw));
    printf("pending #Z, cvtpi2ps %s: sig %d code %d fsw %04x\n", form ? "mm" : "m64", got_sig, got_code, sw);
    __asm__ volatile("fnclex; fninit");
  }
  __asm__ volatile("emms");
  return 0;
}
