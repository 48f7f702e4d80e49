/*
 * AVX512-FP16 complex multiplies, VRCP/VRSQRT, VRNDSCALE, VREDUCE, VSCALEF (PH and SH) through gcc's
 * -mavx512fp16 intrinsics on pseudo-random binary16 operands, each under a chosen MXCSR.RC with the
 * flags cleared before and printed after. No host here has AVX512-FP16: test/vector-fp16.test.ts runs
 * this under `exec --cpu intel-sapphire-rapids` and checks every line against its exact reference.
 * Line: name imm rc  a[8] b[8] c[8] -> r[8] flags (hex).
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t seed = 12345;
static uint32_t next(void) { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; return seed; }
/* A finite binary16: zeros, denormals, values near 1, or any finite one. */
static uint16_t finite16(void) {
  uint32_t r = next(), s = (r & 1) << 15, k = (r >> 1) % 5;
  if (k == 0) return (uint16_t)(s | ((r >> 4) & 0x3ff));
  if (k == 1) return (uint16_t)(s | ((13 + (r >> 4) % 5) << 10) | ((r >> 8) & 0x3ff));
  return (uint16_t)(s | (((r >> 4) % 31) << 10) | ((r >> 9) & 0x3ff));
}
typedef union { __m128h v; uint16_t h[8]; } V;

static void fill(V *x) { for (int i = 0; i < 8; i++) x->h[i] = finite16(); }
static void show(const char *name, int imm, int rc, const V *a, const V *b, const V *c, const V *r, unsigned flags) {
  printf("%s %x %d", name, imm, rc);
  const V *ops[3] = { a, b, c };
  for (int k = 0; k < 3; k++) for (int i = 0; i < 8; i++) printf(" %04x", ops[k]->h[i]);
  printf(" ->");
  for (int i = 0; i < 8; i++) printf(" %04x", r->h[i]);
  printf(" %02x\n", flags);
}
#define RUN(name, imm, expr) do { \
    _mm_setcsr(0x1f80u | ((unsigned)rc << 13)); \
    V r; r.v = (expr); \
    unsigned fl = _mm_getcsr() & 0x3f; \
    show(name, imm, rc, &a, &b, &c, &r, fl); \
  } while (0)

int main(void) {
  for (int n = 0; n < 40; n++) {
    V a, b, c;
    fill(&a); fill(&b); fill(&c);
    int rc = n & 3;
    /* Scales of moderate size for VSCALEF: b's elements 0-3 in [-20, 20]. */
    RUN("fmulc", 0, _mm_fmul_pch(a.v, b.v));
    RUN("fcmulc", 0, _mm_fcmul_pch(a.v, b.v));
    RUN("fmaddc", 0, _mm_fmadd_pch(a.v, b.v, c.v));
    RUN("fcmaddc", 0, _mm_fcmadd_pch(a.v, b.v, c.v));
    RUN("fmulcsh", 0, _mm_fmul_sch(a.v, b.v));
    RUN("fcmaddcsh", 0, _mm_fcmadd_sch(a.v, b.v, c.v));
    RUN("rcp", 0, _mm_rcp_ph(a.v));
    RUN("rsqrt", 0, _mm_rsqrt_ph(a.v));
    RUN("rcpsh", 0, _mm_rcp_sh(b.v, a.v));
    RUN("scalef", 0, _mm_scalef_ph(a.v, b.v));
    RUN("scalefsh", 0, _mm_scalef_sh(a.v, b.v));
    RUN("rndscale", 0x24, _mm_roundscale_ph(a.v, 0x24));
    RUN("rndscale", 0x31, _mm_roundscale_ph(a.v, 0x31));
    RUN("rndscale", 0xf2, _mm_roundscale_ph(a.v, 0xf2));
    RUN("rndscale", 0x0b, _mm_roundscale_ph(a.v, 0x0b));
    RUN("rndscalesh", 0x13, _mm_roundscale_sh(b.v, a.v, 0x13));
    RUN("reduce", 0x14, _mm_reduce_ph(a.v, 0x14));
    RUN("reduce", 0x02, _mm_reduce_ph(a.v, 0x02));
    RUN("reduce", 0x51, _mm_reduce_ph(a.v, 0x51));
    RUN("reduce", 0x2b, _mm_reduce_ph(a.v, 0x2b));
    RUN("reducesh", 0x33, _mm_reduce_sh(b.v, a.v, 0x33));
  }
  return 0;
}
