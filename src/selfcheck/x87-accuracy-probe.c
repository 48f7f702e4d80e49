/*
 * xstate-lab native x87 accuracy probe: runs one x87 computing instruction on given operands on
 * the real CPU, for test/x87-functions.test.ts (the model's values against the host's).
 *
 * Record in (32 bytes): u32 op, u16 fcw, u16 pad, u8 st0[10], u8 st1[10], u8 pad[4].
 *   op: 0 F2XM1, 1 FYL2X, 2 FYL2XP1, 3 FPTAN, 4 FPATAN, 5 FSIN, 6 FCOS, 7 FSINCOS, 8 FSCALE,
 *   9 FPREM, 10 FPREM1, 11 FXTRACT. ST(1) is loaded first, then ST(0), after FNINIT and FLDCW.
 * Record out (48 bytes): u16 fsw, u8 abridged ftw, u8 pad[5], u8 st[3][10] (ST0-ST2 after), u8 pad[10].
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct in { uint32_t op; uint16_t fcw, pad; uint8_t st0[10], st1[10]; uint8_t pad2[4]; };
static uint8_t fx[512] __attribute__((aligned(64)));
#define OP(name, ins)                                                                              \
  static void name(struct in *r) {                                                                 \
    __asm__ volatile("fninit\n fldcw %0\n fldt %2\n fldt %1\n " ins "\n fxsave64 %3"               \
                     : : "m"(r->fcw), "m"(r->st0), "m"(r->st1), "m"(fx)                            \
                     : "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"); \
  }
OP(o0, "f2xm1") OP(o1, "fyl2x") OP(o2, "fyl2xp1") OP(o3, "fptan") OP(o4, "fpatan") OP(o5, "fsin")
OP(o6, "fcos") OP(o7, "fsincos") OP(o8, "fscale") OP(o9, "fprem") OP(o10, "fprem1") OP(o11, "fxtract")
static void (*const ops[])(struct in *) = { o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, o11 };

int main(void) {
  struct in r;
  while (fread(&r, sizeof r, 1, stdin) == 1) {
    if (r.op >= sizeof ops / sizeof ops[0]) return 3;
    memset(fx, 0, sizeof fx);
    ops[r.op](&r);
    uint8_t out[48] = { 0 };
    memcpy(out, fx + 2, 2);
    out[2] = fx[4];
    for (int i = 0; i < 3; i++) memcpy(out + 8 + i * 10, fx + 32 + 16 * i, 10);
    if (fwrite(out, sizeof out, 1, stdout) != 1) return 4;
  }
  return 0;
}
