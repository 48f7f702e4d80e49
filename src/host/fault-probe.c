/*
 * `cpu capture`: which exception each XSAVE-family, PKU and FSGSBASE instruction raises at CPL 3
 * in 64-bit mode on this host, under this kernel's CR4 (the list is FAULT_INSNS in
 * emulator/profile-json.ts). A hypervisor can hide a CPUID bit but not make the silicon raise #UD,
 * so CPUID alone cannot answer this.
 *
 * Every instruction gets valid operands: a 64-byte aligned zeroed area large enough for every
 * user component (CPUID.(0DH,0).ECX) and for the compacted form (CPUID.(0DH,1).EBX),
 * EDX:EAX = XCR0, a valid image for the restores (standard with XSTATE_BV = 0 and MXCSR 1F80H;
 * compacted with XCOMP_BV = bit 63 | XCR0 for XRSTORS), the current PKRU for WRPKRU and the
 * current FS/GS bases for WRFSBASE/WRGSBASE. So a fault is the instruction's own verdict at
 * CPL 3, not an operand check. Instructions are emitted as bytes so no assembler refuses them.
 *
 * The kernel turns the exception into a signal (arch/x86/kernel/traps.c, Linux 6.x):
 *   #UD -> SIGILL, si_code ILL_ILLOPN (exc_invalid_op -> do_error_trap)
 *   #NM -> SIGILL, si_code ILL_ILLOPC (handle_xfd_event: XFD-armed component without permission)
 *   #GP -> SIGSEGV, si_code SI_KERNEL (exc_general_protection -> gp_user_force_sig_segv)
 * Anything else is printed as "signal N code C" and refused by the TypeScript side.
 *
 * Output: "xcr0 0x<hex>" then one "<INSN> <none|#UD|#NM|#GP|signal N code C>" line per instruction.
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

#include "../selfcheck/probe-io.h"

/* arch/x86/include/uapi/asm/prctl.h */
#define PROBE_ARCH_GET_FS 0x1003
#define PROBE_ARCH_GET_GS 0x1004

/* SDM Vol. 1 13.4.3: XCOMP_BV bit 63 marks the compacted format. */
#define XCOMP_BV_COMPACTED (1ull << 63)
/* SDM Vol. 1 13.4.2: the XSAVE header follows the 512-byte legacy region. */
#define XSAVE_HEADER_OFFSET 512
/* SDM Vol. 1 10.5.1: MXCSR at byte 24 of the legacy region; 1F80H is its initial value. */
#define LEGACY_MXCSR_OFFSET 24
#define MXCSR_INIT 0x1f80u
/* CPUID.01H:ECX bit 27: OSXSAVE (SDM Vol. 2A CPUID). */
#define CPUID1_ECX_OSXSAVE (1u << 27)

#define AREA_MAX 65536
static uint8_t area[AREA_MAX] __attribute__((aligned(64)));
static uint8_t std_image[AREA_MAX] __attribute__((aligned(64)));
static uint8_t compact_image[AREA_MAX] __attribute__((aligned(64)));
static uint8_t fx_area[512] __attribute__((aligned(16)));
static uint8_t fx_image[512] __attribute__((aligned(16)));

static sigjmp_buf jb;
static volatile int caught_sig, caught_code;
static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  caught_sig = sig;
  caught_code = si->si_code;
  siglongjmp(jb, 1);
}

static const char *verdict(char *buf, size_t n) {
  if (caught_sig == 0) return "none";
  if (caught_sig == SIGILL && caught_code == ILL_ILLOPN) return "#UD";
  if (caught_sig == SIGILL && caught_code == ILL_ILLOPC) return "#NM";
  if (caught_sig == SIGSEGV && caught_code == SI_KERNEL) return "#GP";
  snprintf(buf, n, "signal %d code %d", caught_sig, caught_code);
  return buf;
}

/* The operands every case may use; each case is one asm block with them in fixed registers. */
struct ops { uint32_t eax, edx, ecx; uint64_t rbx; uint8_t *rdi; };

/* Run the bytes of one instruction with RDI = memory operand, EDX:EAX, ECX and RAX/RBX as set. */
#define RUN(NAME, BYTES, OPS)                                                                       \
  do {                                                                                              \
    struct ops o_ = (OPS);                                                                          \
    char buf_[64];                                                                                  \
    caught_sig = 0;                                                                                 \
    if (sigsetjmp(jb, 1) == 0) {                                                                    \
      uint32_t a_ = o_.eax, d_ = o_.edx, c_ = o_.ecx;                                               \
      uint64_t b_ = o_.rbx;                                                                         \
      __asm__ volatile(".byte " BYTES                                                               \
                       : "+a"(a_), "+d"(d_), "+c"(c_), "+b"(b_)                                     \
                       : "D"(o_.rdi)                                                                \
                       : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",    \
                         "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",      \
                         "xmm15");                                                                  \
      last_eax = a_;                                                                                \
      last_rbx = b_;                                                                                \
    }                                                                                               \
    printf("%s %s\n", NAME, verdict(buf_, sizeof buf_));                                            \
  } while (0)

static uint32_t last_eax;
static uint64_t last_rbx;

int main(void) {
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  uint64_t xcr0 = 0;
  if (c & CPUID1_ECX_OSXSAVE) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = ((uint64_t)hi << 32) | lo;
  }
  unsigned size = 4096;
  if (__get_cpuid_count(0xd, 0, &a, &b, &c, &d) && c > size) size = c;
  if (__get_cpuid_count(0xd, 1, &a, &b, &c, &d) && b > size) size = b;
  if (size > AREA_MAX) { fprintf(stderr, "XSAVE area of %u bytes is larger than this probe's %u\n", size, AREA_MAX); return 2; }
  printf("xcr0 0x%llx\n", (unsigned long long)xcr0);

  *(uint32_t *)(std_image + LEGACY_MXCSR_OFFSET) = MXCSR_INIT;
  *(uint32_t *)(compact_image + LEGACY_MXCSR_OFFSET) = MXCSR_INIT;
  *(uint64_t *)(compact_image + XSAVE_HEADER_OFFSET + 8) = XCOMP_BV_COMPACTED | xcr0;
  *(uint32_t *)(fx_image + LEGACY_MXCSR_OFFSET) = MXCSR_INIT;

  catch_faults_info(on_fault);
  uint32_t xl = (uint32_t)xcr0, xh = (uint32_t)(xcr0 >> 32);
  /* ModRM 0x27 = [rdi] with reg /4, 0x37 /6, 0x2f /5, 0x1f /3, 0x07 /0, 0x0f /1 (SDM Vol. 2 table 2-2). */
  RUN("XSAVE", "0x48,0x0f,0xae,0x27", ((struct ops){xl, xh, 0, 0, area}));         /* XSAVE64 [rdi] */
  RUN("XSAVEOPT", "0x48,0x0f,0xae,0x37", ((struct ops){xl, xh, 0, 0, area}));      /* XSAVEOPT64 [rdi] */
  RUN("XSAVEC", "0x48,0x0f,0xc7,0x27", ((struct ops){xl, xh, 0, 0, area}));        /* XSAVEC64 [rdi] */
  RUN("XSAVES", "0x48,0x0f,0xc7,0x2f", ((struct ops){xl, xh, 0, 0, area}));        /* XSAVES64 [rdi] */
  RUN("XRSTOR", "0x48,0x0f,0xae,0x2f", ((struct ops){xl, xh, 0, 0, std_image}));   /* XRSTOR64 [rdi] */
  RUN("XRSTORS", "0x48,0x0f,0xc7,0x1f", ((struct ops){xl, xh, 0, 0, compact_image})); /* XRSTORS64 [rdi] */
  RUN("XGETBV0", "0x0f,0x01,0xd0", ((struct ops){0, 0, 0, 0, area}));
  RUN("XGETBV1", "0x0f,0x01,0xd0", ((struct ops){0, 0, 1, 0, area}));
  RUN("XSETBV", "0x0f,0x01,0xd1", ((struct ops){xl, xh, 0, 0, area}));             /* writes XCR0 with its own value */
  RUN("FXSAVE", "0x48,0x0f,0xae,0x07", ((struct ops){0, 0, 0, 0, fx_area}));       /* FXSAVE64 [rdi] */
  RUN("FXRSTOR", "0x48,0x0f,0xae,0x0f", ((struct ops){0, 0, 0, 0, fx_image}));     /* FXRSTOR64 [rdi] */
  last_eax = 0;
  RUN("RDPKRU", "0x0f,0x01,0xee", ((struct ops){0, 0, 0, 0, area}));
  uint32_t pkru = caught_sig ? 0 : last_eax;
  RUN("WRPKRU", "0x0f,0x01,0xef", ((struct ops){pkru, 0, 0, 0, area}));            /* writes PKRU with its own value */
  /* F3 REX.W 0F AE /0../3 with ModRM mod=11 rm=rbx (SDM Vol. 2 RDFSBASE/WRFSBASE). */
  RUN("RDFSBASE", "0xf3,0x48,0x0f,0xae,0xc3", ((struct ops){0, 0, 0, 0, area}));
  RUN("RDGSBASE", "0xf3,0x48,0x0f,0xae,0xcb", ((struct ops){0, 0, 0, 0, area}));
  uint64_t fs = 0, gs = 0;
  syscall(SYS_arch_prctl, PROBE_ARCH_GET_FS, &fs);
  syscall(SYS_arch_prctl, PROBE_ARCH_GET_GS, &gs);
  /* The current bases: thread-local storage keeps working when the write succeeds. */
  RUN("WRFSBASE", "0xf3,0x48,0x0f,0xae,0xd3", ((struct ops){0, 0, 0, fs, area}));
  RUN("WRGSBASE", "0xf3,0x48,0x0f,0xae,0xdb", ((struct ops){0, 0, 0, gs, area}));
  /* Instructions a hypervisor can hide from CPUID without taking them out of the silicon:
   * RDTSCP 0F 01 F9; RDPID rax F3 0F C7 /7 (ModRM F8); RDRAND eax 0F C7 /6 (F0); RDSEED eax 0F C7 /7 (F8). */
  RUN("RDTSCP", "0x0f,0x01,0xf9", ((struct ops){0, 0, 0, 0, area}));
  RUN("RDPID", "0xf3,0x0f,0xc7,0xf8", ((struct ops){0, 0, 0, 0, area}));
  RUN("RDRAND", "0x0f,0xc7,0xf0", ((struct ops){0, 0, 0, 0, area}));
  RUN("RDSEED", "0x0f,0xc7,0xf8", ((struct ops){0, 0, 0, 0, area}));
  (void)last_rbx;
  return 0;
}
