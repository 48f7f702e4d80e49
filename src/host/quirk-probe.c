/*
 * `cpu capture`: decides, per quirk of emulator/quirks.ts that user space can see, whether this
 * CPU has it. Each measurement is one asm block (restore, the instructions, the read-back), so no
 * compiler- or libc-generated x87/SSE code runs between the steps, and each has a control that
 * shows the probe can see the effect at all; when the control fails the quirk is "unmeasured".
 *
 * Output, one line each:
 *   mxcsr_mask 0x<hex>                       what FXSAVE64 stored at byte 28
 *   quirk <id> <present|absent|unmeasured> <what the probe saw>
 * xsaves-modified-optimization needs CPL 0 and is not probed.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>

#include "../selfcheck/probe-io.h"

/* Legacy region (SDM Vol. 1 10.5.1, table 10-2): byte offsets. */
#define FCW 0
#define FSW 2
#define FTW 4
#define FOP 6
#define FIP 8
#define FDP 16
#define MXCSR 24
#define MXCSR_MASK 28
#define XMM0 160
/* XSAVE header (SDM Vol. 1 13.4.2). */
#define XSTATE_BV 512
/* FNSTENV 28-byte protected-mode environment (SDM Vol. 1 8.1.10, figure 8-9). */
#define ENV_FIP 12
#define ENV_FOP 18 /* bits 10:0 of the word at 18 */
#define ENV_FDP 20
#define FOP_BITS 0x7ffu

#define MXCSR_INIT 0x1f80u
#define FCW_INIT 0x037fu            /* FNINIT: all exceptions masked (SDM Vol. 1 8.1.5) */
#define FCW_IM_UNMASKED 0x037eu     /* invalid-operation exception unmasked */
#define FSW_IE 0x0001u
#define FSW_ES 0x0080u
#define FSW_B 0x8000u

/* Components (SDM Vol. 1 13.1). */
#define X87 0
#define SSE 1
#define AVX 2
#define PKRU 9
#define BIT(i) (1ull << (i))

#define AREA_MAX 65536
static uint8_t init_img[AREA_MAX] __attribute__((aligned(64)));
static uint8_t img[AREA_MAX] __attribute__((aligned(64)));
static uint8_t out[AREA_MAX] __attribute__((aligned(64)));
static uint8_t env[32] __attribute__((aligned(16)));
static const uint8_t zeros32[32] __attribute__((aligned(32)));
static const uint8_t pattern32[32] __attribute__((aligned(32))) = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 1, 2, 3, 4, 5, 6, 7, 8,
                                                                   9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
static const double one = 1.0, zero_double = 0.0;
static const uint16_t fcw_im_unmasked = FCW_IM_UNMASKED;

static uint64_t xcr0;
static unsigned area_size;
static int has_avx, has_xgetbv1, has_xsaveopt, has_xsavec;

static sigjmp_buf jb;
static volatile int caught;
static void on_fault(int sig) { caught = sig; siglongjmp(jb, 1); }

#define XL ((uint32_t)xcr0)
#define XH ((uint32_t)(xcr0 >> 32))
#define CLOBBERS "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "st", "st(1)"

static uint16_t u16(const uint8_t *p, int o) { uint16_t v; memcpy(&v, p + o, 2); return v; }
static uint32_t u32(const uint8_t *p, int o) { uint32_t v; memcpy(&v, p + o, 4); return v; }
static uint64_t u64(const uint8_t *p, int o) { uint64_t v; memcpy(&v, p + o, 8); return v; }
static void put16(uint8_t *p, int o, uint16_t v) { memcpy(p + o, &v, 2); }
static void put32(uint8_t *p, int o, uint32_t v) { memcpy(p + o, &v, 4); }
static void put64(uint8_t *p, int o, uint64_t v) { memcpy(p + o, &v, 8); }

static void verdict(const char *id, const char *v, const char *detail) { printf("quirk %s %s %s\n", id, v, detail); }

/* An image whose every component is in its initial configuration (XSTATE_BV = 0, MXCSR 1F80H). */
static void reset_image(uint8_t *p) {
  memset(p, 0, area_size);
  put32(p, MXCSR, MXCSR_INIT);
}

/* XRSTOR64 everything initial, then `body`, then XGETBV(ECX=1): XINUSE & XCR0. */
#define XINUSE_AFTER(BODY, ...)                                                                 \
  ({                                                                                            \
    uint32_t lo_, hi_;                                                                          \
    __asm__ volatile("mov %[xl], %%eax\n\tmov %[xh], %%edx\n\txrstor64 %[ini]\n\t" BODY         \
                     "\n\tmov $1, %%ecx\n\txgetbv"                                              \
                     : "=&a"(lo_), "=&d"(hi_)                                                   \
                     : [ini] "m"(*(uint8_t(*)[AREA_MAX])init_img), [xl] "r"(XL), [xh] "r"(XH),  \
                       ##__VA_ARGS__                                                            \
                     : "ecx", CLOBBERS);                                                        \
    (void)hi_;                                                                                  \
    lo_;                                                                                        \
  })

static void restore_of_init_data(void) {
  const char *id = "restore-of-init-data-keeps-init";
  if (!has_xgetbv1) { verdict(id, "unmeasured", "XGETBV(ECX=1) not available"); return; }
  uint64_t comps = BIT(X87) | BIT(SSE) | (has_avx ? BIT(AVX) : 0);
  /* Every loaded component holds its initial configuration: FCW 037FH, all else 0, MXCSR 1F80H. */
  reset_image(img);
  put16(img, FCW, FCW_INIT);
  put64(img, XSTATE_BV, comps);
  uint32_t seen = XINUSE_AFTER("xrstor64 %[im]", [im] "m"(*(uint8_t(*)[AREA_MAX])img)) & (uint32_t)comps;
  /* Control: a nonzero XMM0 byte must show as SSE in use. */
  img[XMM0] = 1;
  uint32_t control = XINUSE_AFTER("xrstor64 %[im]", [im] "m"(*(uint8_t(*)[AREA_MAX])img));
  char d[200];
  snprintf(d, sizeof d, "XRSTOR64 of initial-configuration data for components 0x%llx, then XGETBV(1): XINUSE 0x%x (control with XMM0 nonzero: 0x%x)",
           (unsigned long long)comps, seen, control);
  if (!(control & BIT(SSE))) verdict(id, "unmeasured", d);
  else if (seen == 0) verdict(id, "present", d);
  else if (seen == comps) verdict(id, "absent", d);
  else verdict(id, "unmeasured", d);
}

static void zeroing_idiom(void) {
  const char *id = "zeroing-idiom-keeps-init";
  if (!has_xgetbv1) { verdict(id, "unmeasured", "XGETBV(ECX=1) not available"); return; }
  uint32_t pxor = XINUSE_AFTER("pxor %%xmm3, %%xmm3");
  uint32_t load = XINUSE_AFTER("movdqa %[z], %%xmm3", [z] "m"(*(const uint8_t(*)[16])zeros32));
  uint32_t vpxor = 0, vxorps = 0;
  if (has_avx) {
    vpxor = XINUSE_AFTER("vpxor %%ymm3, %%ymm3, %%ymm3");
    vxorps = XINUSE_AFTER("vxorps %%xmm3, %%xmm3, %%xmm3");
  }
  char d[200];
  snprintf(d, sizeof d, "XINUSE after XRSTOR of all-initial state, then: MOVDQA xmm of zeros from memory (control) 0x%x; PXOR xmm 0x%x", load, pxor);
  if (has_avx) snprintf(d + strlen(d), sizeof d - strlen(d), "; VPXOR ymm 0x%x; VXORPS xmm 0x%x", vpxor, vxorps);
  uint32_t any = pxor | vpxor | vxorps, all = has_avx ? (pxor & vpxor & vxorps) : pxor;
  if (!(load & BIT(SSE))) verdict(id, "unmeasured", d);
  else if (any == 0) verdict(id, "present", d);
  else if (all & BIT(SSE)) verdict(id, "absent", d);
  else verdict(id, "unmeasured", d);
}

static void modified_optimization(void) {
  const char *id = "modified-optimization";
  if (!has_xsaveopt) { verdict(id, "unmeasured", "XSAVEOPT not available"); return; }
  /* A saved image with XMM0 = pattern (SSE in use and modified). */
  reset_image(out);
  __asm__ volatile("mov %[xl], %%eax\n\tmov %[xh], %%edx\n\txrstor64 %[ini]\n\tmovdqu %[p], %%xmm0\n\txsave64 %[o]"
                   : [o] "+m"(*(uint8_t(*)[AREA_MAX])out)
                   : [ini] "m"(*(uint8_t(*)[AREA_MAX])init_img), [p] "m"(*(const uint8_t(*)[16])pattern32), [xl] "r"(XL), [xh] "r"(XH)
                   : "eax", "edx", CLOBBERS);
  /* XRSTOR64 from it, overwrite XMM0's first byte in memory, XSAVEOPT64 to the same address:
     the byte survives when XSAVEOPT skipped the unmodified SSE component. An interrupt between
     the two may defeat the optimization, so a few tries; one kept byte is proof. */
  int kept = 0, tries;
  const uint8_t poke = 0x5a;
  for (tries = 1; tries <= 8 && !kept; tries++) {
    __asm__ volatile("mov %[xl], %%eax\n\tmov %[xh], %%edx\n\txrstor64 %[o]\n\tmovb %[v], %c[x0]+%[o]\n\t"
                     "mov %[xl], %%eax\n\tmov %[xh], %%edx\n\txsaveopt64 %[o]"
                     : [o] "+m"(*(uint8_t(*)[AREA_MAX])out)
                     : [xl] "r"(XL), [xh] "r"(XH), [v] "q"(poke), [x0] "i"(XMM0)
                     : "eax", "edx", CLOBBERS);
    kept = out[XMM0] == poke;
    out[XMM0] = pattern32[0];
  }
  char d[200];
  snprintf(d, sizeof d, "XRSTOR64, a byte of XMM0 changed in memory, XSAVEOPT64 to the same address: the byte was %s",
           kept ? "kept" : "overwritten in each of 8 tries");
  verdict(id, kept ? "present" : "absent", d);
}

/* FXRSTOR64 `img`'s legacy region, FNSTSW and FNSTENV, then FNINIT (clears what was pending). */
static uint16_t fxrstor_fnstenv(void) {
  uint16_t sw;
  __asm__ volatile("fxrstor64 %[im]\n\tfnstsw %%ax\n\tfnstenv %[e]\n\tfninit"
                   : "=a"(sw), [e] "=m"(*(uint8_t(*)[28])env)
                   : [im] "m"(*(uint8_t(*)[512])img)
                   : CLOBBERS);
  return sw;
}

static void x87_image(uint16_t fcw, uint16_t fsw, uint16_t fop, uint64_t fip, uint64_t fdp) {
  memset(img, 0, 512);
  put16(img, FCW, fcw);
  put16(img, FSW, fsw);
  put16(img, FOP, fop);
  put64(img, FIP, fip);
  put64(img, FDP, fdp);
  put32(img, MXCSR, MXCSR_INIT);
}

static void restore_recomputes_es(void) {
  const char *id = "x87-restore-recomputes-es";
  /* ES and B set in memory, no exception flag: kept or cleared? */
  x87_image(FCW_INIT, FSW_ES | FSW_B, 0, 0, 0);
  uint16_t a = fxrstor_fnstenv();
  /* IE set and unmasked, ES and B clear in memory: kept clear or set? */
  x87_image(FCW_IM_UNMASKED, FSW_IE, 0, 0, 0);
  uint16_t b = fxrstor_fnstenv();
  char d[200];
  snprintf(d, sizeof d, "FXRSTOR64 then FNSTSW: FSW 8080H with all masked read 0x%04x; FSW 0001H with IE unmasked read 0x%04x", a, b);
  int recA = !(a & (FSW_ES | FSW_B)), recB = (b & (FSW_ES | FSW_B)) == (FSW_ES | FSW_B);
  int keepA = (a & (FSW_ES | FSW_B)) == (FSW_ES | FSW_B), keepB = !(b & (FSW_ES | FSW_B));
  verdict(id, recA && recB ? "present" : keepA && keepB ? "absent" : "unmeasured", d);
}

/* Pointers fit in 32 bits so FNSTENV (32-bit offsets) shows them whole. */
#define PTR_FOP 0x0123u
#define PTR_FIP 0x12345678ull
#define PTR_FDP 0x9abcdef0ull

static void pointers_only_with_es(void) {
  const char *id = "x87-pointers-only-with-es";
  x87_image(FCW_INIT, 0, PTR_FOP, PTR_FIP, PTR_FDP);
  fxrstor_fnstenv();
  uint32_t fip0 = u32(env, ENV_FIP), fdp0 = u32(env, ENV_FDP), fop0 = u16(env, ENV_FOP) & FOP_BITS;
  x87_image(FCW_IM_UNMASKED, FSW_IE | FSW_ES, PTR_FOP, PTR_FIP, PTR_FDP);
  fxrstor_fnstenv();
  uint32_t fip1 = u32(env, ENV_FIP), fdp1 = u32(env, ENV_FDP), fop1 = u16(env, ENV_FOP) & FOP_BITS;
  char d[240];
  snprintf(d, sizeof d, "FXRSTOR64 of FOP %x FIP %llx FDP %llx, then FNSTENV: with FSW.ES=0 read FOP %x FIP %x FDP %x; with ES=1 read FOP %x FIP %x FDP %x",
           PTR_FOP, PTR_FIP, PTR_FDP, fop0, fip0, fdp0, fop1, fip1, fdp1);
  int loaded1 = fop1 == PTR_FOP && fip1 == PTR_FIP && fdp1 == PTR_FDP;
  int loaded0 = fop0 == PTR_FOP && fip0 == PTR_FIP && fdp0 == PTR_FDP, zero0 = fop0 == 0 && fip0 == 0 && fdp0 == 0;
  verdict(id, !loaded1 ? "unmeasured" : zero0 ? "present" : loaded0 ? "absent" : "unmeasured", d);
}

enum save_form { FORM_FXSAVE, FORM_XSAVE, FORM_XSAVEOPT, FORM_XSAVEC, FORM_COUNT };
static const char *const form_name[FORM_COUNT] = {"FXSAVE64", "XSAVE64", "XSAVEOPT64", "XSAVEC64"};

/* x87 code that sets FOP/FIP/FDP (FLD m64 with ES=0, or FDIV m64 of 0/0 with IE unmasked: ES=1),
   the save (RFBM = x87 only), FNSTENV of the same state, FNCLEX and FNINIT. */
#define X87_THEN_SAVE(PRELUDE, SAVE)                                                              \
  __asm__ volatile("fninit\n\t" PRELUDE "\n\tmov $1, %%eax\n\txor %%edx, %%edx\n\t" SAVE " %[o]\n\t" \
                   "fnstenv %[e]\n\tfnclex\n\tfninit"                                              \
                   : [o] "+m"(*(uint8_t(*)[AREA_MAX])out), [e] "=m"(*(uint8_t(*)[28])env)          \
                   : [one] "m"(one), [z] "m"(zero_double), [cw] "m"(fcw_im_unmasked)               \
                   : "eax", "edx", CLOBBERS)
#define ES0 "fldl %[one]"
#define ES1 "fldcw %[cw]\n\tfldz\n\tfdivl %[z]"

/* 1: the save stored what FNSTENV stored for FOP/FIP/FDP (FIP/FDP low 32 bits), 0: all three as
   0, -1: neither, or FNSTENV saw no pointers. */
static int saved_pointers(void) {
  uint32_t efip = u32(env, ENV_FIP), efdp = u32(env, ENV_FDP), efop = u16(env, ENV_FOP) & FOP_BITS;
  uint32_t sfip = (uint32_t)u64(out, FIP), sfdp = (uint32_t)u64(out, FDP), sfop = u16(out, FOP) & FOP_BITS;
  if (efip == 0) return -1;
  if (sfop == efop && sfip == efip && sfdp == efdp) return 1;
  if (sfop == 0 && sfip == 0 && sfdp == 0) return 0;
  return -1;
}

static const char *saved_word(int r) { return r == 1 ? "as FNSTENV" : r == 0 ? "as 0" : "otherwise"; }

static void pointers_saved_only_with_es(void) {
  const char *id = "x87-pointers-saved-only-with-es";
  char d[1200];
  int zeroWithoutEs = 1, storedWithoutEs = 1, storedWithEs = 1;
  uint32_t fop[2] = {0, 0};
  d[0] = 0;
  for (int f = 0; f < FORM_COUNT; f++) {
    if ((f == FORM_XSAVE || f == FORM_XSAVEOPT || f == FORM_XSAVEC) && !(xcr0 & BIT(X87))) continue;
    if (f == FORM_XSAVEOPT && !has_xsaveopt) continue;
    if (f == FORM_XSAVEC && !has_xsavec) continue;
    int r[2];
    for (int es = 0; es < 2; es++) {
      reset_image(out);
      switch (f * 2 + es) {
      case 0: X87_THEN_SAVE(ES0, "fxsave64"); break;
      case 1: X87_THEN_SAVE(ES1, "fxsave64"); break;
      case 2: X87_THEN_SAVE(ES0, "xsave64"); break;
      case 3: X87_THEN_SAVE(ES1, "xsave64"); break;
      case 4: X87_THEN_SAVE(ES0, "xsaveopt64"); break;
      case 5: X87_THEN_SAVE(ES1, "xsaveopt64"); break;
      case 6: X87_THEN_SAVE(ES0, "xsavec64"); break;
      case 7: X87_THEN_SAVE(ES1, "xsavec64"); break;
      }
      r[es] = saved_pointers();
      fop[es] = u16(env, ENV_FOP) & FOP_BITS;
    }
    zeroWithoutEs &= r[0] == 0;
    storedWithoutEs &= r[0] == 1;
    storedWithEs &= r[1] == 1;
    snprintf(d + strlen(d), sizeof d - strlen(d), "%s%s ES=0 %s, ES=1 %s", d[0] ? "; " : "", form_name[f], saved_word(r[0]), saved_word(r[1]));
  }
  snprintf(d + strlen(d), sizeof d - strlen(d),
           " (FOP/FIP/FDP after FLD m64 with FSW.ES=0, FNSTENV FOP %x; after an unmasked 0/0 FDIV m64, ES=1, FNSTENV FOP %x)", fop[0], fop[1]);
  verdict(id, !storedWithEs ? "unmeasured" : zeroWithoutEs ? "present" : storedWithoutEs ? "absent" : "unmeasured", d);
}

static void pointers_canonical(void) {
  /* Bit 56 set, bits 63:57 not all set: kept as loaded, or bits 63:57 := bit 56 (byte 7 = FFH). */
  const uint64_t fip = 0x5500123456789ab0ull, fdp = 0x5500123456789ac0ull;
  const uint64_t canon = 0xff00000000000000ull | (fip & 0x00ffffffffffffffull), canonD = 0xff00000000000000ull | (fdp & 0x00ffffffffffffffull);
  x87_image(FCW_IM_UNMASKED, FSW_IE | FSW_ES, PTR_FOP, fip, fdp); /* ES=1: restored and saved under every rule */
  reset_image(out);
  __asm__ volatile("fxrstor64 %[im]\n\tfxsave64 %[o]\n\tfnclex\n\tfninit"
                   : [o] "+m"(*(uint8_t(*)[512])out)
                   : [im] "m"(*(uint8_t(*)[512])img)
                   : CLOBBERS);
  uint64_t gotI = u64(out, FIP), gotD = u64(out, FDP);
  char d[240];
  snprintf(d, sizeof d, "FXRSTOR64 of FIP %llx FDP %llx (FSW.ES=1), FXSAVE64 stored FIP %llx FDP %llx", (unsigned long long)fip,
           (unsigned long long)fdp, (unsigned long long)gotI, (unsigned long long)gotD);
  int iC = gotI == canon, iK = gotI == fip, dC = gotD == canonD, dK = gotD == fdp;
  if (!(iC || iK) || !(dC || dK)) {
    verdict("x87-pointers-canonical-57", "unmeasured", d);
    verdict("x87-fip-canonical-57", "unmeasured", d);
    return;
  }
  verdict("x87-pointers-canonical-57", iC && dC ? "present" : "absent", d);
  verdict("x87-fip-canonical-57", iC && dK ? "present" : "absent", d);
}

static void pkru_four_bytes(void) {
  const char *id = "pkru-state-four-bytes";
  unsigned a, b, c, d0;
  if (!(xcr0 & BIT(PKRU))) { verdict(id, "unmeasured", "PKRU is not enabled in XCR0"); return; }
  __cpuid_count(0xd, PKRU, a, b, c, d0);
  unsigned off = b;
  if (off + 8 > area_size) { verdict(id, "unmeasured", "PKRU offset outside the area"); return; }
  /* The current PKRU (so memory access rights do not change), bytes 7:4 = A5H. */
  reset_image(img);
  __asm__ volatile("mov $0x200, %%eax\n\txor %%edx, %%edx\n\txsave64 %[im]" : [im] "+m"(*(uint8_t(*)[AREA_MAX])img) : : "eax", "edx", "memory");
  uint32_t pkru = u32(img, off);
  if (pkru == 0) { verdict(id, "unmeasured", "PKRU is 0 (initial): XSAVE would not write it"); return; }
  put64(img, XSTATE_BV, BIT(PKRU));
  put32(img, off + 4, 0xa5a5a5a5u);
  reset_image(out);
  put32(out, off + 4, 0xccccccccu);
  __asm__ volatile("mov $0x200, %%eax\n\txor %%edx, %%edx\n\txrstor64 %[im]\n\tmov $0x200, %%eax\n\txsave64 %[o]"
                   : [o] "+m"(*(uint8_t(*)[AREA_MAX])out)
                   : [im] "m"(*(uint8_t(*)[AREA_MAX])img)
                   : "eax", "edx", "memory");
  uint32_t hi = u32(out, off + 4);
  char d[200];
  snprintf(d, sizeof d, "XRSTOR64 of PKRU %x with bytes 7:4 A5A5A5A5H, XSAVE64 over CCCCCCCCH: bytes 7:4 0x%08x", pkru, hi);
  verdict(id, hi == 0xccccccccu ? "present" : hi == 0xa5a5a5a5u ? "absent" : "unmeasured", d);
}

static void follows_vector_length(void) {
  const char *id = "xinuse-follows-vector-length";
  if (!has_xgetbv1 || !has_avx) { verdict(id, "unmeasured", "needs AVX and XGETBV(ECX=1)"); return; }
  uint32_t control = XINUSE_AFTER("vmovdqu %[p], %%xmm2", [p] "m"(*(const uint8_t(*)[16])pattern32));
  uint32_t seen = XINUSE_AFTER("vmovdqu %[p], %%xmm2\n\tvextractf128 $0, %%ymm2, %%xmm1", [p] "m"(*(const uint8_t(*)[16])pattern32));
  char d[200];
  snprintf(d, sizeof d, "XINUSE after VMOVDQU xmm2 (VEX.128) 0x%x; after it and VEXTRACTF128 xmm1, ymm2 (VEX.256 to xmm) 0x%x", control, seen);
  verdict(id, control & BIT(AVX) ? "unmeasured" : seen & BIT(AVX) ? "present" : "absent", d);
}

static void tracks_zero_registers(void) {
  const char *id = "xinuse-tracks-zero-registers";
  if (!has_xgetbv1 || !has_avx) { verdict(id, "unmeasured", "needs AVX and XGETBV(ECX=1)"); return; }
  uint32_t load = XINUSE_AFTER("vmovdqu %[z], %%ymm3", [z] "m"(*(const uint8_t(*)[32])zeros32));
  uint32_t seen = XINUSE_AFTER("vmovdqu %[z], %%ymm3\n\tvpxor %%xmm3, %%xmm3, %%xmm3", [z] "m"(*(const uint8_t(*)[32])zeros32));
  char d[200];
  snprintf(d, sizeof d, "XINUSE after VMOVDQU ymm3 from zero memory 0x%x; after it and VPXOR xmm3, xmm3, xmm3 0x%x", load, seen);
  verdict(id, !(load & BIT(AVX)) ? "unmeasured" : seen & BIT(AVX) ? "absent" : "present", d);
}

/* FNINIT after an x87 state whose only non-initial part is FCW (control: in use), and after data
 * registers were written with 1.0 (kept by FNINIT) or with +0.0. */
static void fninit_of_init_data(void) {
  const char *id = "fninit-of-init-data-keeps-init";
  if (!has_xgetbv1) { verdict(id, "unmeasured", "XGETBV(ECX=1) not available"); return; }
  uint32_t control = XINUSE_AFTER("fldcw %[cw]", [cw] "m"(fcw_im_unmasked)) & BIT(X87);
  uint32_t seen = XINUSE_AFTER("fldcw %[cw]\n\tfninit", [cw] "m"(fcw_im_unmasked)) & BIT(X87);
  uint32_t data = XINUSE_AFTER("fld1\n\tfstp %%st(0)\n\tfninit") & BIT(X87);
  uint32_t zero = XINUSE_AFTER("fldz\n\tfstp %%st(0)\n\tfninit") & BIT(X87);
  char d[240];
  snprintf(d, sizeof d, "XINUSE[0] after XRSTOR of all-initial state, then: FLDCW 037EH (control) %u; it and FNINIT %u; FLD1, FSTP ST(0), FNINIT %u; FLDZ, FSTP ST(0), FNINIT %u",
           control, seen, data, zero);
  if (!control) verdict(id, "unmeasured", d);
  else if (seen == 0 && zero == 0 && data) verdict(id, "present", d);
  else if (seen && zero && data) verdict(id, "absent", d);
  else verdict(id, "unmeasured", d);
}

static void mxcsr_mask(void) {
  memset(out, 0, 512);
  __asm__ volatile("fxsave64 %[o]" : [o] "+m"(*(uint8_t(*)[512])out));
  printf("mxcsr_mask 0x%08x\n", u32(out, MXCSR_MASK));
}

/* A probe the CPU faults in decides nothing: its quirks are reported unmeasured, and the x87
   state it may have left (a pending exception) is reset. */
/* debug-registers-inert: an execute breakpoint on a function the probe then calls, through
 * perf_event_open (PERF_TYPE_BREAKPOINT, HW_BREAKPOINT_X: the kernel loads DR0-DR3/DR7 itself,
 * arch_install_hw_breakpoint); its count says whether the CPU raised #DB. Unmeasured when the
 * kernel refuses the event (perf_event_paranoid, no breakpoint slots). */
static volatile int bp_calls;
__attribute__((noinline)) static void bp_target(void) { bp_calls++; __asm__ volatile("" ::: "memory"); }
#define BP_CALLS 8
static void debug_registers_inert(void) {
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.type = PERF_TYPE_BREAKPOINT;
  a.size = sizeof a;
  a.bp_type = HW_BREAKPOINT_X;
  a.bp_addr = (unsigned long)bp_target;
  a.bp_len = sizeof(long); /* an execute breakpoint's length (hw_breakpoint_arch_parse) */
  a.exclude_kernel = 1;
  a.exclude_hv = 1;
  long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
  char d[160];
  if (fd < 0) {
    verdict("debug-registers-inert", "unmeasured", "perf_event_open of an execute breakpoint was refused");
    return;
  }
  for (int i = 0; i < BP_CALLS; i++) bp_target();
  long long n = -1;
  int ok = read((int)fd, &n, sizeof n) == (ssize_t)sizeof n;
  close((int)fd);
  snprintf(d, sizeof d, "perf_event_open execute breakpoint on a function called %d times counted %lld hits", BP_CALLS, n);
  verdict("debug-registers-inert", !ok ? "unmeasured" : n == 0 ? "present" : n == BP_CALLS ? "absent" : "unmeasured", d);
}

/*
 * sha-unaligned-m128: the seven SHA instructions with an m128 operand at 4 mod 16. Control: the
 * same operand misaligned faults for PCLMULQDQ (Exceptions Type 4, SDM Vol. 2A Table 2-21) and
 * the SHA forms run with it aligned; present when every SHA form runs misaligned, absent when each faults.
 */
static uint8_t sha_buf[64] __attribute__((aligned(16)));
static int faults_at(int k, const uint8_t *p) {
  caught = 0;
  if (sigsetjmp(jb, 1) == 0) {
    switch (k) {
      case 0: __asm__ volatile("sha1rnds4 $0, (%0), %%xmm1" :: "r"(p) : "xmm1"); break;
      case 1: __asm__ volatile("sha1nexte (%0), %%xmm1" :: "r"(p) : "xmm1"); break;
      case 2: __asm__ volatile("sha1msg1 (%0), %%xmm1" :: "r"(p) : "xmm1"); break;
      case 3: __asm__ volatile("sha1msg2 (%0), %%xmm1" :: "r"(p) : "xmm1"); break;
      case 4: __asm__ volatile("sha256rnds2 (%0), %%xmm1" :: "r"(p) : "xmm0", "xmm1"); break;
      case 5: __asm__ volatile("sha256msg1 (%0), %%xmm1" :: "r"(p) : "xmm1"); break;
      case 6: __asm__ volatile("sha256msg2 (%0), %%xmm1" :: "r"(p) : "xmm1"); break;
      default: __asm__ volatile("pclmulqdq $0, (%0), %%xmm1" :: "r"(p) : "xmm1"); break;
    }
    return 0;
  }
  return caught == SIGSEGV ? 1 : -1;
}
static void sha_unaligned(void) {
  unsigned a, b, c, d;
  __cpuid_count(7, 0, a, b, c, d);
  int sha = (b >> 29) & 1; /* CPUID.(EAX=07H,ECX=0):EBX bit 29 SHA */
  __cpuid(1, a, b, c, d);
  int clmul = (c >> 1) & 1; /* CPUID.01H:ECX bit 1 PCLMULQDQ */
  enum { SHA_FORMS = 7, CLMUL_FORM = 7, MISALIGN = 4 };
  if (!sha || !clmul) { verdict("sha-unaligned-m128", "unmeasured", "the CPU lacks SHA or PCLMULQDQ (the control)"); return; }
  int aligned_faults = 0, ran = 0, faulted = 0;
  for (int k = 0; k < SHA_FORMS; k++) aligned_faults += faults_at(k, sha_buf) != 0;
  int control = faults_at(CLMUL_FORM, sha_buf + MISALIGN);
  for (int k = 0; k < SHA_FORMS; k++) { int f = faults_at(k, sha_buf + MISALIGN); ran += f == 0; faulted += f == 1; }
  char det[160];
  snprintf(det, sizeof det, "at 4 mod 16: %d of 7 SHA forms ran, %d raised SIGSEGV; PCLMULQDQ there %s; aligned, %d SHA forms faulted",
           ran, faulted, control == 1 ? "SIGSEGV" : control == 0 ? "ran" : "other signal", aligned_faults);
  verdict("sha-unaligned-m128", control != 1 || aligned_faults ? "unmeasured" : ran == SHA_FORMS ? "present" : faulted == SHA_FORMS ? "absent" : "unmeasured", det);
}

static void run(void (*probe)(void), const char *id, const char *id2) {
  caught = 0;
  if (sigsetjmp(jb, 1) == 0) { probe(); return; }
  __asm__ volatile("fnclex\n\tfninit");
  char d[80];
  snprintf(d, sizeof d, "the probe was stopped by signal %d", caught);
  verdict(id, "unmeasured", d);
  if (id2) verdict(id2, "unmeasured", d);
}
#define RUN(F, ID) run(F, ID, 0)

int main(void) {
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  /* CPUID.01H:ECX bit 27 OSXSAVE, bit 28 AVX (SDM Vol. 2A CPUID). */
  int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  catch_faults(on_fault);
  mxcsr_mask();
  if (!osxsave) {
    printf("quirk-note XSAVE is not enabled (CPUID.01H:ECX.OSXSAVE = 0): only x87 quirks measured\n");
  } else {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = ((uint64_t)hi << 32) | lo;
    __cpuid_count(0xd, 0, a, b, c, d);
    area_size = (c + 63u) & ~63u;
    if (area_size > AREA_MAX) { fprintf(stderr, "XSAVE area of %u bytes is larger than this probe's %u\n", area_size, AREA_MAX); return 2; }
    has_avx = avx && (xcr0 & (BIT(SSE) | BIT(AVX))) == (BIT(SSE) | BIT(AVX));
    /* Try XGETBV(1) (a hypervisor may hide CPUID.(0DH,1):EAX[2] while the CPU runs it). */
    caught = 0;
    if (sigsetjmp(jb, 1) == 0) { __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1)); has_xgetbv1 = 1; }
    __cpuid_count(0xd, 1, a, b, c, d);
    has_xsaveopt = a & 1; /* CPUID.(0DH,1):EAX bit 0 XSAVEOPT, bit 1 XSAVEC */
    has_xsavec = (a >> 1) & 1;
    reset_image(init_img);
  }
  if (osxsave) {
    RUN(restore_of_init_data, "restore-of-init-data-keeps-init");
    RUN(zeroing_idiom, "zeroing-idiom-keeps-init");
    RUN(modified_optimization, "modified-optimization");
    RUN(fninit_of_init_data, "fninit-of-init-data-keeps-init");
  }
  area_size = area_size < 512 ? 512 + 64 : area_size;
  RUN(restore_recomputes_es, "x87-restore-recomputes-es");
  RUN(pointers_only_with_es, "x87-pointers-only-with-es");
  RUN(pointers_saved_only_with_es, "x87-pointers-saved-only-with-es");
  run(pointers_canonical, "x87-pointers-canonical-57", "x87-fip-canonical-57");
  if (osxsave) {
    RUN(pkru_four_bytes, "pkru-state-four-bytes");
    RUN(follows_vector_length, "xinuse-follows-vector-length");
    RUN(tracks_zero_registers, "xinuse-tracks-zero-registers");
  }
  RUN(debug_registers_inert, "debug-registers-inert");
  sha_unaligned();
  return 0;
}
