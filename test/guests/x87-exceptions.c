/* x87 exception flags, masked responses and unmasked exceptions: FSW after each operation, the
   results' bits, and for unmasked exceptions the SIGFPE (si_code, which instruction, the saved
   FSW/FCW/TOP and tags) that the next waiting x87 instruction raises (SDM Vol. 1 4.9, 8.5, 8.6;
   Linux math_error). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static sigjmp_buf jb;
static volatile int got_code;
static volatile uint64_t got_rip;
static volatile uint16_t got_fsw, got_fcw;
static volatile uint8_t got_ftw;
/* The waiting instruction's address, set before it runs (a global: locals are not kept across siglongjmp). */
static volatile uint64_t want_rip;
static void on_fpe(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  (void)sig;
  got_code = si->si_code;
  got_rip = (uint64_t)si->si_addr;
  if (uc->uc_mcontext.fpregs) {
    got_fcw = uc->uc_mcontext.fpregs->cwd;
    got_fsw = uc->uc_mcontext.fpregs->swd;
    got_ftw = (uint8_t)uc->uc_mcontext.fpregs->ftw;
  }
  siglongjmp(jb, 1);
}

static uint16_t fsw(void) { uint16_t s; __asm__ volatile("fnstsw %0" : "=m"(s)); return s; }
static void show80(const char *what, long double v) {
  unsigned char b[10];
  memcpy(b, &v, 10);
  printf("  %s = %02x%02x:", what, b[9], b[8]);
  for (int i = 7; i >= 0; i--) printf("%02x", b[i]);
  printf("\n");
}

/* One masked operation: FNINIT, FLDCW cw, then the body; FSW and ST(0) afterwards. */
#define MASKED(name, cw, body)                                                          \
  do {                                                                                  \
    uint16_t c_ = (cw);                                                                 \
    long double r_ = 0;                                                                 \
    __asm__ volatile("fninit; fldcw %0" : : "m"(c_));                                   \
    body;                                                                               \
    uint16_t s_ = fsw();                                                                \
    __asm__ volatile("fstpt %0; fninit" : "=m"(r_));                                    \
    printf("%-26s fsw %04x\n", name, s_);                                               \
    show80("st0", r_);                                                                  \
  } while (0)

static const long double one = 1.0L, three = 3.0L, big = 1e4000L, tiny = 1e-4000L, minus1 = -1.0L;
static const double dbig = 1e300, pi_d = 3.14159265358979;
static const float snan_f = __builtin_nansf("");

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fpe;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGFPE, &sa, 0);

  printf("masked exceptions (FCW 037f unless said):\n");
  MASKED("1/0 (ZE)", 0x37f, __asm__ volatile("fldz; fldt %0; fdivp" : : "m"(one)));
  MASKED("0/0 (IE)", 0x37f, __asm__ volatile("fldz; fldz; fdivp"));
  MASKED("sqrt(-1) (IE)", 0x37f, __asm__ volatile("fldt %0; fsqrt" : : "m"(minus1)));
  MASKED("1/3 (PE, C1)", 0x37f, __asm__ volatile("fldt %0; fldt %1; fdivrp" : : "m"(one), "m"(three)));
  MASKED("1/3 PC=24 RC=up", 0x87f, __asm__ volatile("fldt %0; fldt %1; fdivrp" : : "m"(one), "m"(three)));
  MASKED("1/3 PC=53 RC=chop", 0xe7f, __asm__ volatile("fldt %0; fldt %1; fdivrp" : : "m"(one), "m"(three)));
  MASKED("big*big (OE)", 0x37f, __asm__ volatile("fldt %0; fldt %0; fmulp" : : "m"(big)));
  MASKED("big*big RC=chop", 0xf7f, __asm__ volatile("fldt %0; fldt %0; fmulp" : : "m"(big)));
  MASKED("tiny*tiny (UE)", 0x37f, __asm__ volatile("fldt %0; fldt %0; fmulp" : : "m"(tiny)));
  MASKED("fld empty st(3)", 0x37f, __asm__ volatile("fld %st(3)"));
  MASKED("9 pushes (SF, C1)", 0x37f, __asm__ volatile("fld1; fld1; fld1; fld1; fld1; fld1; fld1; fld1; fld1"));
  MASKED("fadd empty", 0x37f, __asm__ volatile("faddp"));
  MASKED("flds SNaN (IE)", 0x37f, __asm__ volatile("flds %0" : : "m"(snan_f)));
  MASKED("fcomi NaN", 0x37f, __asm__ volatile("fldz; fldz; fdivp; fldz; fcomip %%st(1), %%st" ::: "cc"));
  MASKED("fucomi NaN", 0x37f, __asm__ volatile("fldz; fldz; fdivp; fldz; fucomip %%st(1), %%st" ::: "cc"));
  MASKED("fisttp pi (PE)", 0x37f, { int32_t i; __asm__ volatile("fldl %1; fisttpl %0; fldz" : "=m"(i) : "m"(pi_d)); printf("  fisttp -> %d\n", i); });
  MASKED("fistp 1e300 (IE)", 0x37f, { int32_t i; __asm__ volatile("fldl %1; fistpl %0; fldz" : "=m"(i) : "m"(dbig)); printf("  fistp -> %08x\n", (unsigned)i); });
  MASKED("fstps big (OE)", 0x37f, { uint32_t f; __asm__ volatile("fldl %1; fstps %0; fldz" : "=m"(f) : "m"(dbig)); printf("  fstps -> %08x\n", f); });
  MASKED("fldpi RC=down", 0x77f, __asm__ volatile("fldpi"));
  MASKED("fldl2e RC=up", 0xb7f, __asm__ volatile("fldl2e"));
  MASKED("frndint 2.5", 0x37f, { static const long double x = 2.5L; __asm__ volatile("fldt %0; frndint" : : "m"(x)); });
  MASKED("fxam empty", 0x37f, __asm__ volatile("fxam"));

  printf("unmasked exceptions:\n");
  static const struct { const char *name; uint16_t cw; int which; } cases[] = {
    { "ZE unmasked, fwait", 0x37b, 0 }, { "IE unmasked (0/0), fnop", 0x37e, 1 },
    { "OE unmasked, fld1", 0x377, 2 }, { "UE unmasked, fxam", 0x36f, 3 },
    { "PE unmasked, fwait", 0x35f, 4 }, { "stack underflow unmasked", 0x37e, 5 },
    { "FLDCW unmasks pending ZE", 0x37f, 6 }, { "ZE unmasked, fnstsw/fnclex", 0x37b, 7 },
    { "ZE unmasked, MMX movq", 0x37b, 8 }, { "ZE unmasked, emms", 0x37b, 9 },
  };
  for (unsigned k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    got_code = -1;
    got_rip = 0;
    uint16_t cw = cases[k].cw, unmask = 0x37b, after = 0;
    want_rip = 0;
    if (sigsetjmp(jb, 1) == 0) {
      __asm__ volatile("fninit; fldcw %0" : : "m"(cw));
      switch (cases[k].which) {
        case 0: __asm__ volatile("fldz; fld1; fdivp; lea 0f(%%rip), %%rax; mov %%rax, %0; 0: fwait" : "=m"(*(uint64_t *)&want_rip) : : "rax"); break;
        case 1: __asm__ volatile("fldz; fldz; fdivp; lea 0f(%%rip), %%rax; mov %%rax, %0; 0: fnop" : "=m"(*(uint64_t *)&want_rip) : : "rax"); break;
        case 2: __asm__ volatile("fldt %1; fldt %1; fmulp; lea 0f(%%rip), %%rax; mov %%rax, %0; 0: fld1" : "=m"(*(uint64_t *)&want_rip) : "m"(big) : "rax"); break;
        case 3: __asm__ volatile("fldt %1; fldt %1; fmulp; lea 0f(%%rip), %%rax; mov %%rax, %0; 0: fxam" : "=m"(*(uint64_t *)&want_rip) : "m"(tiny) : "rax"); break;
        case 4: __asm__ volatile("fldt %1; fldt %2; fdivrp; lea 0f(%%rip), %%rax; mov %%rax, %0; 0: fwait" : "=m"(*(uint64_t *)&want_rip) : "m"(one), "m"(three) : "rax"); break;
        case 5: __asm__ volatile("fadd %%st(2), %%st; lea 0f(%%rip), %%rax; mov %%rax, %0; 0: fwait" : "=m"(*(uint64_t *)&want_rip) : : "rax"); break;
        case 6: __asm__ volatile("fldz; fld1; fdivp; fnstsw %1; fldcw %2; lea 0f(%%rip), %%rax; mov %%rax, %0; 0: fwait" : "=m"(*(uint64_t *)&want_rip), "=m"(after) : "m"(unmask) : "rax"); break;
        case 7: __asm__ volatile("fldz; fld1; fdivp; fnstsw %0; fnclex; fwait" : "=m"(after)); break;
        case 8: __asm__ volatile("fldz; fld1; fdivp; lea 0f(%%rip), %%rax; mov %%rax, %0; 0: movq %%mm0, %%mm1" : "=m"(*(uint64_t *)&want_rip) : : "rax", "mm1"); break;
        case 9: __asm__ volatile("fldz; fld1; fdivp; lea 0f(%%rip), %%rax; mov %%rax, %0; 0: emms" : "=m"(*(uint64_t *)&want_rip) : : "rax"); break;
      }
      printf("%-28s no signal, fsw %04x%s\n", cases[k].name, fsw(), after ? "" : "");
      if (cases[k].which == 7) printf("  fnstsw before fnclex %04x\n", after);
    } else {
      printf("%-28s SIGFPE si_code %d at the %s; saved fcw %04x fsw %04x ftw %02x\n", cases[k].name, got_code,
             got_rip == want_rip ? "waiting instruction" : "wrong place", got_fcw, got_fsw, got_ftw);
      if (cases[k].which == 6) printf("  fsw before fldcw %04x\n", after);
    }
    __asm__ volatile("fninit");
  }

  /* The MMX transition (SDM Vol. 1 Table 9-2): TOP, tags and the exponents of written registers. */
  static unsigned char fx[512] __attribute__((aligned(16)));
  printf("MMX:\n");
  for (int step = 0; step < 4; step++) {
    switch (step) {
      case 0: __asm__ volatile("fninit; fld1; fld1; fldpi"); break;
      case 1: __asm__ volatile("pxor %%mm3, %%mm3; movq %%mm3, %%mm6" ::: "mm3", "mm6"); break;
      case 2: __asm__ volatile("fninit; fld1; fld1; fld1; emms"); break;
      case 3: { uint32_t v; __asm__ volatile("fninit; fld1; movd %%mm0, %0" : "=r"(v)); break; }
    }
    __asm__ volatile("fxsave %0" : "=m"(fx));
    printf("  step %d: fsw %04x ftw %02x exponents", step, fx[2] | (fx[3] << 8), fx[4]);
    for (int i = 0; i < 8; i++) printf(" %02x%02x", fx[32 + 16 * i + 9], fx[32 + 16 * i + 8]);
    printf("\n");
  }
  __asm__ volatile("emms");
  return 0;
}
