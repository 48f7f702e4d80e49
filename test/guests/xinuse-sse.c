/*
 * XINUSE[1] after legacy SSE writes that leave a register's value as it was: from the SSE init
 * state (XRSTOR with XSTATE_BV[1] clear), each instruction below runs alone and XGETBV(1) shows
 * whether SSE left its init state. Writes set it whatever the value; reads do not; zeroing idioms
 * keep it clear on CPUs that recognise them (the profile's zeroing-idiom-keeps-init quirk).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "guest.h"

static uint8_t area[4096] __attribute__((aligned(64)));
uint8_t zero16[16] __attribute__((aligned(16)));

static void init_sse(void) {
  memset(area, 0, sizeof area);
  *(uint32_t *)(area + 24) = 0x1f80; /* MXCSR: the default */
  __asm__ volatile("xrstor %0" ::"m"(area), "a"(2), "d"(0)); /* RFBM = SSE, XSTATE_BV[1] = 0: init */
}
#define T(name, insn) do { \
    init_sse(); \
    uint64_t before = xgetbv(1) & 2; \
    __asm__ volatile(insn ::: "rax", "xmm0", "xmm1", "memory"); \
    uint64_t after = xgetbv(1) & 2; \
    printf("%-26s XINUSE[1] %d -> %d\n", name, (int)(before >> 1), (int)(after >> 1)); \
  } while (0)

int main(void) {
  /* CPUID.01H:ECX.OSXSAVE[27] and CPUID.(0DH,1):EAX[2] (XGETBV with ECX = 1). */
  if (!has_bit(1, 0, 2, 27) || !has_bit(0xd, 1, 0, 2)) { puts("no XGETBV(1)"); return 0; }
  for (int i = 0; i < 2; i++) {
    T("nothing", "nop");
    T("movaps xmm1, xmm0", "movaps %%xmm1, %%xmm0");
    T("movaps zeros, xmm0", "movaps zero16(%%rip), %%xmm0");
    T("movdqu zeros, xmm1", "movdqu zero16(%%rip), %%xmm1");
    T("andps xmm1, xmm0", "andps %%xmm1, %%xmm0");
    T("por xmm1, xmm0", "por %%xmm1, %%xmm0");
    T("movd 0, xmm0", "xor %%eax, %%eax; movd %%eax, %%xmm0");
    T("pinsrw 0", "xor %%eax, %%eax; pinsrw $0, %%eax, %%xmm0");
    T("movss xmm1, xmm0", "movss %%xmm1, %%xmm0");
    /* Arithmetic the model computes (the trap gate's fast path on the second pass): zeros in, zeros out. */
    T("addps xmm1, xmm0", "addps %%xmm1, %%xmm0");
    T("mulss xmm1, xmm0", "mulss %%xmm1, %%xmm0");
    T("sqrtpd xmm1, xmm0", "sqrtpd %%xmm1, %%xmm0");
    T("pshufd xmm1, xmm0", "pshufd $0x1b, %%xmm1, %%xmm0");
    T("pxor xmm0, xmm0 (idiom)", "pxor %%xmm0, %%xmm0");
    T("xorps xmm1, xmm1 (idiom)", "xorps %%xmm1, %%xmm1");
    T("pxor xmm1, xmm0", "pxor %%xmm1, %%xmm0");
    T("ucomiss (reads)", "ucomiss %%xmm1, %%xmm0");
    T("movaps store (reads)", "movaps %%xmm0, zero16(%%rip)");
    T("movmskps (reads)", "movmskps %%xmm0, %%eax");
    T("stmxcsr", "stmxcsr zero16(%%rip); movl $0, zero16(%%rip)");
  }
  /* The same seen by XSAVE: XSTATE_BV[1] after a same-value write, repeated (the trap gate's native XSAVE path too). */
  for (int i = 0; i < 4; i++) {
    init_sse();
    if (i & 1) __asm__ volatile("movaps %%xmm1, %%xmm0" ::: "xmm0");
    static uint8_t out[4096] __attribute__((aligned(64)));
    memset(out, 0, sizeof out);
    __asm__ volatile("xsave %0" : "=m"(out) : "a"(2), "d"(0));
    printf("xsave after %-14s XSTATE_BV %llx\n", i & 1 ? "movaps" : "nothing", (unsigned long long)*(uint64_t *)(out + 512));
  }
  return 0;
}
