/*
 * A guest for test/gdb-stub.test.ts: it puts values made by a rule into the registers the
 * target description covers, then calls f() (where the test's GDB breaks), raises SIGUSR1 (which
 * GDB must report) and exits with EXIT_HANDLED when its handler ran.
 * The rules (the test derives its expectations from the same ones):
 *   ZMM5 dword i = ZMM5_BASE + i (AVX-512F), else YMM5 dword i = ZMM5_BASE + i (AVX)
 *   K3 = K3_VALUE (AVX-512F); PKRU = PKRU_VALUE (when CPUID says OSPKE)
 *   ST0 = pi, ST1 = 1 (FLD1, FLDPI); R12 = R12_VALUE; MXCSR = MXCSR_VALUE
 */
#include <cpuid.h>
#include <signal.h>
#include <stdint.h>

#define ZMM5_BASE 0x1000
#define K3_VALUE 0x5a5a
#define PKRU_VALUE 0x55555550u
#define R12_VALUE 0x123456789abcdefull
#define MXCSR_VALUE 0x1f80 | 0x6000 /* round toward zero */
#define EXIT_HANDLED 7

static volatile int handled;
static void on_usr1(int sig) { (void)sig; handled = 1; }

__attribute__((noinline)) void f(void) { __asm__ volatile("nop\n\tnop" ::: "memory"); }

static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

int main(void) {
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  int osxsave = (c >> 27) & 1;
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  int avx = osxsave && ((c >> 28) & 1) && (xcr0 & 6) == 6;
  __cpuid_count(7, 0, a, b, c, d);
  int avx512 = avx && ((b >> 16) & 1) && (xcr0 & 0xe0) == 0xe0;
  int ospke = (c >> 4) & 1;
  static uint32_t v[16] __attribute__((aligned(64)));
  for (int i = 0; i < 16; i++) v[i] = ZMM5_BASE + i;
  if (avx512) {
    __asm__ volatile("vmovdqu32 %0, %%zmm5" : : "m"(v) : "xmm5");
    __asm__ volatile("kmovw %0, %%k3" : : "r"(K3_VALUE));
  } else if (avx) {
    __asm__ volatile("vmovdqu %0, %%ymm5" : : "m"(v) : "xmm5");
  }
  if (ospke) __asm__ volatile("wrpkru" : : "a"(PKRU_VALUE), "c"(0), "d"(0));
  uint32_t mxcsr = MXCSR_VALUE;
  __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
  __asm__ volatile("fld1\n\tfldpi" ::: "memory");
  __asm__ volatile("mov %0, %%r12\n\tcall f" : : "r"(R12_VALUE) : "r12", "memory", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
  __asm__ volatile("fstp %%st(0)\n\tfstp %%st(0)" ::: "memory");
  signal(SIGUSR1, on_usr1);
  raise(SIGUSR1);
  return handled ? EXIT_HANDLED : 1;
}
