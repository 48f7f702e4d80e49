/* A handler that edits its signal frame before returning (what user-space threading and
 * checkpointing libraries do): new register values, XSTATE_BV bits cleared or foreign, bad
 * magic numbers, sw.xfeatures narrowed, reserved MXCSR or header bits, XCOMP_BV, a NULL fpstate.
 * Each case runs in a forked child that prints the state sigreturn gave it; the parent prints
 * how the child ended (fpu__restore_sig failures are SIGSEGV). */
#include "guest.h"
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

enum { NONE, REGS, CLEAR_AVX, ONLY_FPSSE, CLEAR_PKRU_BIT, MAGIC1, MAGIC2, XFEATURES3, XSTATE_SIZE_512, EXT_SIZE_SMALL,
       MXCSR_RESERVED, HEADER_RESERVED, XCOMP_BV, FOREIGN_BIT, NULL_FPSTATE, NCASES };
static const char *names[] = { "unmodified", "new register values", "XSTATE_BV without AVX", "XSTATE_BV = FP|SSE",
  "XSTATE_BV without PKRU", "magic1 = 0", "magic2 corrupted", "sw.xfeatures = 3", "sw.xstate_size = 512",
  "sw.extended_size < xstate_size", "MXCSR reserved bit", "header reserved byte", "XCOMP_BV = bit 63 | 3",
  "XSTATE_BV bit 3 (not in XCR0)", "fpstate = NULL" };
static int mode, pku;
static unsigned off(unsigned c) { unsigned r[4]; cpuid2(0xd, c, r); return r[1]; }
static unsigned o_avx, o_k, o_zh, o_z16, o_pkru;

static void on_usr1(int s, siginfo_t *si, void *ctx) {
  (void)s; (void)si;
  ucontext_t *uc = ctx;
  unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
  uint32_t xs; memcpy(&xs, fp + 480, 4);
  uint64_t bv; memcpy(&bv, fp + 512, 8);
  uint32_t v;
  switch (mode) {
  case REGS:
    fp[160 + 3 * 16] ^= 0xff; fp[o_avx + 3 * 16] ^= 0xff; fp[o_zh + 3 * 32] ^= 0xff; fp[o_z16 + 64] ^= 0xff; fp[o_k + 3 * 8] ^= 0xff;
    v = 0x1f00; memcpy(fp + 24, &v, 4);
    if (pku) { v = 0x30; memcpy(fp + o_pkru, &v, 4); }
    break;
  case CLEAR_AVX: bv &= ~4ull; memcpy(fp + 512, &bv, 8); break;
  case ONLY_FPSSE: bv = 3; memcpy(fp + 512, &bv, 8); break;
  case CLEAR_PKRU_BIT: bv &= ~0x200ull; memcpy(fp + 512, &bv, 8); break;
  case MAGIC1: memset(fp + 464, 0, 4); break;
  case MAGIC2: fp[xs] ^= 1; break;
  case XFEATURES3: bv = 3; memcpy(fp + 472, &bv, 8); break;
  case XSTATE_SIZE_512: v = 512; memcpy(fp + 480, &v, 4); break;
  case EXT_SIZE_SMALL: v = xs - 64; memcpy(fp + 468, &v, 4); break;
  case MXCSR_RESERVED: memcpy(&v, fp + 24, 4); v |= 1u << 16; memcpy(fp + 24, &v, 4); break;
  case HEADER_RESERVED: fp[512 + 20] = 1; break;
  case XCOMP_BV: bv = (1ull << 63) | 3; memcpy(fp + 520, &bv, 8); break;
  case FOREIGN_BIT: bv |= 8; memcpy(fp + 512, &bv, 8); break;
  case NULL_FPSTATE: uc->uc_mcontext.fpregs = 0; break;
  }
}

static int run_case(void) {
  int tid = (int)syscall(SYS_gettid);
  static uint8_t zmm_in[64], z17_in[64], zmm_out[64], z17_out[64];
  for (int i = 0; i < 64; i++) { zmm_in[i] = 0x40 + i; z17_in[i] = 0x90 + i; }
  uint64_t k3_in = 0x1122334455667788ull, k3_out = 0;
  uint32_t pkru_in = 0x0c, pkru_out = 0, mx_in = 0x3f80, mx_out = 0, def = 0x1f80;
  __asm__ volatile("ldmxcsr %[mx]\n\t"
                   "vmovdqu64 %[z], %%zmm3\n\tvmovdqu64 %[z17], %%zmm17\n\tkmovq %[k], %%k3\n\t"
                   "test %[pku], %[pku]\n\tjz 1f\n\tmov %[pk], %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\twrpkru\n1:\n\t"
                   "mov $200, %%eax\n\tmov %[tid], %%edi\n\tmov $10, %%esi\n\tsyscall\n\t"
                   "vmovdqu64 %%zmm3, %[zo]\n\tvmovdqu64 %%zmm17, %[z17o]\n\tkmovq %%k3, %[ko]\n\tstmxcsr %[mxo]\n\t"
                   "test %[pku], %[pku]\n\tjz 2f\n\txor %%ecx, %%ecx\n\trdpkru\n\tmov %%eax, %[pko]\n\t"
                   "xor %%ecx, %%ecx\n\txor %%edx, %%edx\n\tmov $0x55555554, %%eax\n\twrpkru\n2:\n\t"
                   "ldmxcsr %[def]\n\tvzeroupper"
                   : [zo] "=m"(zmm_out), [z17o] "=m"(z17_out), [ko] "=m"(k3_out), [mxo] "=m"(mx_out), [pko] "=m"(pkru_out)
                   : [z] "m"(zmm_in), [z17] "m"(z17_in), [k] "m"(k3_in), [pk] "r"(pkru_in), [pku] "r"(pku), [tid] "r"(tid), [mx] "m"(mx_in), [def] "m"(def)
                   : "rax", "rcx", "rdx", "rdi", "rsi", "r11", "xmm3", "memory");
  printf("  xmm3[0] %02x ymm3[16] %02x zmm3[32] %02x zmm17[0] %02x k3 %016llx MXCSR %04x", zmm_out[0], zmm_out[16], zmm_out[32], z17_out[0], (unsigned long long)k3_out, mx_out);
  if (pku) printf(" PKRU %08x", pkru_out);
  printf("\n");
  return 0;
}

int main(void) {
  if (!os_avx512()) { printf("AVX-512: not available, nothing run\n"); return 0; }
  pku = has_bit(7, 0, 2, 4);
  o_avx = off(2); o_k = off(5); o_zh = off(6); o_z16 = off(7); o_pkru = pku ? off(9) : 0;
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr1; sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, 0);
  for (mode = 0; mode < NCASES; mode++) {
    printf("%s:\n", names[mode]);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) { run_case(); fflush(stdout); _exit(0); }
    int st = 0;
    waitpid(c, &st, 0);
    if (WIFSIGNALED(st)) printf("  child killed by signal %d\n", WTERMSIG(st));
  }
  return 0;
}
