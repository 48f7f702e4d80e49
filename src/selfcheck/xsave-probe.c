/*
 * xstate-lab native probe: runs XSAVE-family cases on the real CPU for `selfcheck cpu`.
 *
 * Reads case records from stdin, writes result records to stdout (formats in
 * src/selfcheck/protocol.ts, which must match this file). Every case is one asm block:
 *   1. XRSTOR64 a clean image (RFBM = XCR0, XSTATE_BV = 0, MXCSR = 1F80H): every component
 *      starts in its initial configuration, whatever libc did before;
 *   2. XRSTOR64 the case's setup image with the case's setup RFBM;
 *   3. the instruction under test (with its REX.W / LOCK form), on the target buffer;
 *   4. XGETBV(ECX=1) when the CPU has it;
 *   5. XSAVE64 with RFBM = XCR0 into a zeroed readback buffer.
 * so that no compiler- or libc-generated vector code can run between the steps. A fault in
 * step 3 is caught with a signal handler and reported as the signal number.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cpuid.h>

enum op {
  OP_XSAVE = 1, OP_XSAVE64, OP_XSAVEOPT, OP_XSAVEOPT64, OP_XSAVEC, OP_XSAVEC64,
  OP_XRSTOR, OP_XRSTOR64, OP_FXSAVE, OP_FXSAVE64, OP_FXRSTOR, OP_FXRSTOR64,
  OP_XSAVES64, OP_XRSTORS64, OP_XSETBV, OP_XGETBV, OP_LOCK_XSAVE64,
  /* XRSTOR64 from the target, then the pokes, then XSAVEOPT64 to the same target */
  OP_XRSTOR_POKE_XSAVEOPT64,
};

#define MAX_AREA 16384

struct case_hdr {            /* 64 bytes, little endian */
  uint32_t op;
  uint32_t target_offset;    /* added to a 64-byte aligned target: tests alignment faults */
  uint64_t setup_rfbm;
  uint64_t op_rfbm;          /* EDX:EAX of the instruction under test */
  uint32_t ecx;              /* ECX for XGETBV/XSETBV */
  uint32_t npokes;           /* OP_XRSTOR_POKE_XSAVEOPT64 only: how many of pokes[] are used */
  uint32_t pokes[2];         /* byte offset in the target | value << 24 */
  uint32_t reserved[6];
};

static uint32_t area_size;  /* bytes of setup image, target and readback in each record */
static uint64_t xcr0;
static int has_xgetbv1;

static uint8_t clean[MAX_AREA] __attribute__((aligned(64)));
static uint8_t setup[MAX_AREA] __attribute__((aligned(64)));
static uint8_t target_mem[MAX_AREA + 128] __attribute__((aligned(64)));
static uint8_t readback[MAX_AREA] __attribute__((aligned(64)));

static sigjmp_buf jb;
static volatile int caught;
static void on_fault(int sig) { caught = sig; siglongjmp(jb, 1); }

#include "probe-io.h"

#define LO(m) ((uint32_t)(m))
#define HI(m) ((uint32_t)((uint64_t)(m) >> 32))

/* Steps 1-2 and 4-5 are the same for every op; step 3 is pasted in by the macro. */
#define RUN_CASE(INSN, ...)                                                              \
  asm volatile(                                                                          \
      "mov %[xl], %%eax\n\tmov %[xh], %%edx\n\txrstor64 %[clean]\n\t"                    \
      "mov %[sl], %%eax\n\tmov %[sh], %%edx\n\txrstor64 %[setup]\n\t"                    \
      "mov %[ol], %%eax\n\tmov %[oh], %%edx\n\tmov %[ec], %%ecx\n\t"                     \
      INSN "\n\t"                                                                        \
      "xor %%eax, %%eax\n\txor %%edx, %%edx\n\t"                                         \
      "cmpl $0, %[g1]\n\tje 1f\n\tmov $1, %%ecx\n\txgetbv\n1:\n\t"                       \
      "mov %%eax, %[ul]\n\tmov %%edx, %[uh]\n\t"                                         \
      "mov %[xl], %%eax\n\tmov %[xh], %%edx\n\txsave64 %[rb]\n\t"                        \
      : [ul] "=m"(xin_lo), [uh] "=m"(xin_hi), [rb] "+m"(*(uint8_t(*)[MAX_AREA])readback),\
        [tg] "+m"(*(uint8_t(*)[MAX_AREA])tgt)                                           \
      : [clean] "m"(*(uint8_t(*)[MAX_AREA])clean), [setup] "m"(*(uint8_t(*)[MAX_AREA])setup), \
        [xl] "r"(LO(xcr0)), [xh] "r"(HI(xcr0)), [sl] "r"(LO(h.setup_rfbm)), [sh] "r"(HI(h.setup_rfbm)), \
        [ol] "m"(olo), [oh] "m"(ohi), [ec] "m"(h.ecx), [g1] "m"(has_xgetbv1), [tp] "r"(tgt) \
      : "eax", "ecx", "edx", "memory", "cc")

_Static_assert(sizeof(struct case_hdr) == 64, "case header is 64 bytes");

int main(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d)) { fprintf(stderr, "no CPUID leaf 0xD\n"); return 2; }
  /* area: the largest of the standard size for all user components and the XSAVES size */
  area_size = c;
  unsigned a1, b1, c1, d1;
  __cpuid_count(0xd, 1, a1, b1, c1, d1);
  if (b1 > area_size) area_size = b1;
  area_size = (area_size + 63u) & ~63u;
  if (area_size > MAX_AREA) { fprintf(stderr, "XSAVE area of %u bytes is larger than this probe's %u\n", area_size, MAX_AREA); return 2; }
  has_xgetbv1 = (a1 >> 2) & 1;
  uint32_t xl, xh;
  asm volatile("xgetbv" : "=a"(xl), "=d"(xh) : "c"(0));
  xcr0 = ((uint64_t)xh << 32) | xl;

  memset(clean, 0, sizeof clean);
  *(uint32_t *)(clean + 24) = 0x1f80; /* MXCSR initial value, SDM Vol. 1 13.6 */

  /* Greeting: area size, XCR0, XGETBV1 support, so the TS side can check its profile. */
  struct { uint32_t magic, area; uint64_t xcr0; uint32_t xgetbv1, pad; } hello = { 0x58505242u, area_size, xcr0, (uint32_t)has_xgetbv1, 0 };
  write_full(&hello, sizeof hello);

  if (request_amx_permission()) use_amx_once();
  catch_faults(on_fault);

  struct case_hdr h;
  while (read_full(&h, sizeof h)) {
    if (!read_full(setup, area_size) || !read_full(target_mem, area_size + 128)) return 4;
    uint8_t *tgt = target_mem + (h.target_offset % 128);
    uint32_t olo = LO(h.op_rfbm), ohi = HI(h.op_rfbm), xin_lo = 0, xin_hi = 0;
    memset(readback, 0, area_size);
    caught = 0;
    if (sigsetjmp(jb, 1) == 0) {
      switch (h.op) {
      case OP_XSAVE: RUN_CASE("xsave (%[tp])"); break;
      case OP_XSAVE64: RUN_CASE("xsave64 (%[tp])"); break;
      case OP_XSAVEOPT: RUN_CASE("xsaveopt (%[tp])"); break;
      case OP_XSAVEOPT64: RUN_CASE("xsaveopt64 (%[tp])"); break;
      case OP_XSAVEC: RUN_CASE("xsavec (%[tp])"); break;
      case OP_XSAVEC64: RUN_CASE("xsavec64 (%[tp])"); break;
      case OP_XRSTOR: RUN_CASE("xrstor (%[tp])"); break;
      case OP_XRSTOR64: RUN_CASE("xrstor64 (%[tp])"); break;
      case OP_FXSAVE: RUN_CASE("fxsave (%[tp])"); break;
      case OP_FXSAVE64: RUN_CASE("fxsave64 (%[tp])"); break;
      case OP_FXRSTOR: RUN_CASE("fxrstor (%[tp])"); break;
      case OP_FXRSTOR64: RUN_CASE("fxrstor64 (%[tp])"); break;
      case OP_XSAVES64: RUN_CASE("xsaves64 (%[tp])"); break;
      case OP_XRSTORS64: RUN_CASE("xrstors64 (%[tp])"); break;
      case OP_XSETBV: RUN_CASE("xsetbv"); break;
      case OP_XGETBV: RUN_CASE("xgetbv\n\tmov %%eax, (%[tp])\n\tmov %%edx, 4(%[tp])"); break;
      case OP_LOCK_XSAVE64: RUN_CASE(".byte 0xf0\n\txsave64 (%[tp])"); break;
      case OP_XRSTOR_POKE_XSAVEOPT64: {
        /* pokes are applied between the XRSTOR64 and the XSAVEOPT64 by plain byte stores */
        uint32_t p0 = h.npokes > 0 ? h.pokes[0] : 0xffffffu, p1 = h.npokes > 1 ? h.pokes[1] : 0xffffffu;
        uint32_t o0 = p0 & 0xffffff, o1 = p1 & 0xffffff;
        uint8_t v0 = (uint8_t)(p0 >> 24), v1 = (uint8_t)(p1 >> 24);
        uint8_t *q0 = o0 < area_size ? tgt + o0 : readback, *q1 = o1 < area_size ? tgt + o1 : readback;
        if (o0 >= area_size) v0 = 0;
        if (o1 >= area_size) v1 = 0;
        asm volatile(
            "mov %[xl], %%eax\n\tmov %[xh], %%edx\n\txrstor64 %[clean]\n\t"
            "mov %[sl], %%eax\n\tmov %[sh], %%edx\n\txrstor64 %[setup]\n\t"
            "mov %[ol], %%eax\n\tmov %[oh], %%edx\n\txrstor64 (%[tp])\n\t"
            "movb %[v0], (%[q0])\n\tmovb %[v1], (%[q1])\n\t"
            "mov %[ol], %%eax\n\tmov %[oh], %%edx\n\txsaveopt64 (%[tp])\n\t"
            "xor %%eax, %%eax\n\txor %%edx, %%edx\n\t"
            "cmpl $0, %[g1]\n\tje 1f\n\tmov $1, %%ecx\n\txgetbv\n1:\n\t"
            "mov %%eax, %[ul]\n\tmov %%edx, %[uh]\n\t"
            "mov %[xl], %%eax\n\tmov %[xh], %%edx\n\txsave64 %[rb]\n\t"
            : [ul] "=m"(xin_lo), [uh] "=m"(xin_hi), [rb] "+m"(*(uint8_t(*)[MAX_AREA])readback),
              [tg] "+m"(*(uint8_t(*)[MAX_AREA])tgt)
            : [clean] "m"(*(uint8_t(*)[MAX_AREA])clean), [setup] "m"(*(uint8_t(*)[MAX_AREA])setup),
              [xl] "r"(LO(xcr0)), [xh] "r"(HI(xcr0)), [sl] "r"(LO(h.setup_rfbm)), [sh] "r"(HI(h.setup_rfbm)),
              [ol] "m"(olo), [oh] "m"(ohi), [g1] "m"(has_xgetbv1), [tp] "r"(tgt),
              [q0] "r"(q0), [q1] "r"(q1), [v0] "q"(v0), [v1] "q"(v1)
            : "eax", "ecx", "edx", "memory", "cc");
        break;
      }
      default: fprintf(stderr, "unknown op %u\n", h.op); return 5;
      }
    }
    struct { uint32_t sig, pad; uint64_t xinuse; } res = { (uint32_t)caught, 0, ((uint64_t)xin_hi << 32) | xin_lo };
    write_full(&res, sizeof res);
    write_full(tgt, area_size);
    write_full(readback, area_size);
  }
  return 0;
}
