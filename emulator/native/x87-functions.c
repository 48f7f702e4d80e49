/*
 * The host's own x87 transcendental instructions (F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN,
 * FCOS, FSINCOS) on a guest's x87 state, for emulator/x87/host-functions.ts: used only when the
 * profile is this running host's CPU, whose results the SDM leaves to the implementation ("within
 * 1 ulp", Vol. 1 8.3.10), as RCPPS's table is (sse-float.c).
 *
 * xl_x87_host_run(op, image): `image` is a 512-byte FXSAVE64 image of the guest's x87 state (FCW,
 * FSW, abridged tags, the eight registers; MXCSR 1F80H). The helper saves the caller's x87/SSE state,
 * FXRSTOR64s the image, executes the one instruction, FXSAVE64s the result into `image` and
 * restores the caller's state. The instruction runs under the guest's control word as it is:
 * masked exceptions give the CPU's masked responses; an unmasked one leaves what the CPU leaves
 * (no result for #IA/#D/#Z, the biased result for #O/#U) with ES set, and #MF would come only at
 * the next waiting instruction, which is never run here (FXSAVE64 and FXRSTOR64 do not wait,
 * SDM Vol. 2A FXSAVE). So FSW (flags, C0-C3, TOP, ES, B), the tags and the registers are the
 * CPU's own, bit for bit.
 *
 * xl_x87_host_identity(out[16]): CPUID.0 EBX EDX ECX, CPUID.1 EAX, CPUID.80000002H-80000004H (the
 * brand string), for deciding whether a profile is this CPU (host-functions.ts).
 */
#include <stdint.h>
#include <string.h>
#include <cpuid.h>

enum op { OP_F2XM1, OP_FYL2X, OP_FYL2XP1, OP_FPTAN, OP_FPATAN, OP_FSIN, OP_FCOS, OP_FSINCOS };

static uint8_t saved[512] __attribute__((aligned(16)));
static uint8_t work[512] __attribute__((aligned(16)));

#define RUN(ins) __asm__ volatile("fxsave64 %0\n fxrstor64 %1\n " ins "\n fxsave64 %1\n fxrstor64 %0" : "+m"(saved), "+m"(work) : : "memory")

/* Returns 0, or -1 for an unknown op. */
int xl_x87_host_run(uint32_t op, uint8_t *image) {
  memcpy(work, image, sizeof work);
  switch (op) {
    case OP_F2XM1: RUN("f2xm1"); break;
    case OP_FYL2X: RUN("fyl2x"); break;
    case OP_FYL2XP1: RUN("fyl2xp1"); break;
    case OP_FPTAN: RUN("fptan"); break;
    case OP_FPATAN: RUN("fpatan"); break;
    case OP_FSIN: RUN("fsin"); break;
    case OP_FCOS: RUN("fcos"); break;
    case OP_FSINCOS: RUN("fsincos"); break;
    default: return -1;
  }
  memcpy(image, work, sizeof work);
  return 0;
}

void xl_x87_host_identity(uint32_t *out) {
  unsigned a, b, c, d;
  memset(out, 0, 16 * sizeof *out);
  __cpuid(0, a, b, c, d);
  out[0] = b; out[1] = d; out[2] = c;
  __cpuid(1, a, b, c, d);
  out[3] = a;
  __cpuid(0x80000000u, a, b, c, d);
  if (a < 0x80000004u) return;
  for (unsigned k = 0; k < 3; k++) {
    __cpuid(0x80000002u + k, a, b, c, d);
    out[4 + 4 * k] = a; out[5 + 4 * k] = b; out[6 + 4 * k] = c; out[7 + 4 * k] = d;
  }
}
