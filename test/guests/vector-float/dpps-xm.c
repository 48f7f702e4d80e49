/*
 * DPPS and VDPPS (xmm, ymm) with DM clear and random other masks, rounding, DAZ/FTZ, over inputs
 * whose products are often tiny, denormal, infinite or NaN: the result, or the MXCSR flags the
 * #XM handler sees. The flags of the stages that completed (a product's UE|PE) are recorded with
 * the faulting stage's DE (measured on AMD Zen 5). Deterministic inputs (xorshift).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <stdlib.h>
#include "../guest.h"
static sigjmp_buf jb;
static volatile uint32_t fault_mxcsr;
static void h(int sig, siginfo_t *si, void *ucv) { ucontext_t *uc = ucv; fault_mxcsr = uc->uc_mcontext.fpregs->mxcsr; uc->uc_mcontext.fpregs->mxcsr |= 0x1f80; siglongjmp(jb, 1); }
static uint64_t st = 88172645463325252ull;
static uint32_t rnd(void) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; return (uint32_t)st; }
static float rf(void) {
  uint32_t r = rnd(), sign = r & 0x80000000u, k = rnd() % 8, e;
  switch (k) { case 0: e = 0; break; case 1: e = 1 + rnd() % 10; break; case 2: e = 50 + rnd() % 30; break; case 3: e = (rnd() & 1) ? 255 : 127; break; default: e = 40 + rnd() % 100; }
  uint32_t bits = sign | (e << 23) | (rnd() & 0x7fffff);
  float f; memcpy(&f, &bits, 4); return f;
}
static float a[8] __attribute__((aligned(32))), b[8] __attribute__((aligned(32))), out[8] __attribute__((aligned(32)));
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1500;
  int avx = os_avx();
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO; sigaction(SIGFPE, &sa, 0);
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < 8; j++) { a[j] = rf(); b[j] = rf(); }
    uint32_t masks = rnd() & 0x3f; masks &= ~0x02u; /* DM unmasked always */
    uint32_t mx = (masks << 7) | ((rnd() & 3) << 13) | (rnd() & 1 ? 0x8000 : 0) | (rnd() & 1 ? 0x40 : 0);
    uint32_t imm = rnd() & 0xff;
    volatile uint32_t mxv = mx, after = 0;
    fault_mxcsr = 0;
    int faulted = 0;
    if (sigsetjmp(jb, 1) == 0) {
      switch (avx ? imm & 3 : 3) { /* a few immediates: vary by a table of 4 */
      case 0: __asm__ volatile("ldmxcsr %1; vmovaps %2, %%ymm1; vmovaps %3, %%ymm2; vdpps $0xff, %%ymm2, %%ymm1, %%ymm0; vmovaps %%ymm0, %0; stmxcsr %4" : "=m"(out) : "m"(mxv), "m"(a), "m"(b), "m"(after) : "xmm0", "xmm1", "xmm2"); break;
      case 1: __asm__ volatile("ldmxcsr %1; vmovaps %2, %%ymm1; vmovaps %3, %%ymm2; vdpps $0xf1, %%ymm2, %%ymm1, %%ymm0; vmovaps %%ymm0, %0; stmxcsr %4" : "=m"(out) : "m"(mxv), "m"(a), "m"(b), "m"(after) : "xmm0", "xmm1", "xmm2"); break;
      case 2: __asm__ volatile("ldmxcsr %1; vmovaps %2, %%ymm1; vmovaps %3, %%ymm2; vdpps $0x3f, %%ymm2, %%ymm1, %%ymm0; vmovaps %%ymm0, %0; stmxcsr %4" : "=m"(out) : "m"(mxv), "m"(a), "m"(b), "m"(after) : "xmm0", "xmm1", "xmm2"); break;
      case 3: __asm__ volatile("ldmxcsr %1; vmovaps %2, %%ymm1; vmovaps %3, %%ymm2; dpps $0xff, %%xmm2, %%xmm1; vmovaps %%ymm1, %0; stmxcsr %4" : "=m"(out) : "m"(mxv), "m"(a), "m"(b), "m"(after) : "xmm0", "xmm1", "xmm2"); break;
      }
    } else faulted = 1;
    uint32_t ldm = 0x1f80; __asm__ volatile("ldmxcsr %0" :: "m"(ldm));
    printf("%d imm%u mx %04x %s %04x", i, imm & 3, mx, faulted ? "XM" : "ok", faulted ? fault_mxcsr & 0x3f : after & 0x3f);
    if (!faulted) for (int j = 0; j < 8; j++) { uint32_t v; memcpy(&v, &out[j], 4); printf(" %08x", v); }
    printf("\n");
  }
  return 0;
}
