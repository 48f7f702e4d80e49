/* SSE/SSE2 arithmetic, MXCSR, and intrinsics unicorn runs natively. */
#include <emmintrin.h>
#include <stdio.h>
#include <stdint.h>
int main(void) {
  __m128d a = _mm_set_pd(2.5, -1.25), b = _mm_set_pd(4.0, 8.0);
  __m128d p = _mm_mul_pd(a, b), q = _mm_sqrt_pd(b);
  double o[2], r[2];
  _mm_storeu_pd(o, p);
  _mm_storeu_pd(r, q);
  printf("mul %.3f %.3f sqrt %.6f %.6f\n", o[0], o[1], r[0], r[1]);
  __m128i x = _mm_set_epi32(1, 2, 3, 4), y = _mm_set_epi32(10, 20, 30, 40);
  __m128i z = _mm_add_epi32(_mm_mullo_epi16(x, y), _mm_slli_epi32(y, 3));
  int32_t zi[4];
  _mm_storeu_si128((__m128i *)zi, z);
  printf("ints %d %d %d %d\n", zi[0], zi[1], zi[2], zi[3]);
  unsigned m = _mm_getcsr();
  printf("mxcsr control bits %08x\n", m & ~0x3fu); /* the flags (5:0) are not modelled by unicorn 2.0.1 */
  _mm_setcsr((m & ~0x6000) | 0x6000); /* round toward zero */
  volatile float f = 2.0f / 3.0f;
  printf("cvt %d\n", _mm_cvtss_si32(_mm_set_ss(f * 10)));
  _mm_setcsr(m);
  float acc = 0;
  for (int i = 1; i < 1000; i++) acc += 1.0f / i;
  printf("harmonic %.6f\n", acc);
  return 0;
}
